// The gradient of one example through our decoder against transformers' autograd (float64 references
// made by tests/data/make_gradient_reference.py), the parameter selector, and the projection's
// determinism, linearity and Johnson–Lindenstrauss behaviour.
#include "curate/model/gradients.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "curate/model/option_tables.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::reference_dir;

const TensorTarget kCpuF64{torch::kCPU, torch::kFloat64};
constexpr double kRelative = 1e-10;  // float64 through both implementations

class GradientParity : public ::testing::TestWithParam<std::string> {};

TEST_P(GradientParity, MatchesTransformersAutogradInFloat64) {
  const std::string name = GetParam();
  auto ref = nlohmann::json::parse(read_file(reference_dir() / "golden" / "gradients" / (name + ".json")));
  CausalLM model = load_causal_lm(golden_model(name), kCpuF64, Autograd::kAllowed);
  auto params = select_parameters(model, "all");
  ASSERT_EQ(params.size(), ref.at("tensors").size());

  std::vector<int64_t> ids = ref.at("prompt").get<std::vector<int64_t>>();
  const auto prompt = static_cast<int64_t>(ids.size());
  for (int64_t id : ref.at("response")) ids.push_back(id);
  const int64_t cap = ref.at("cap").get<int64_t>();
  ScoreRequest request = sft_request(ids, prompt, cap);
  EXPECT_EQ(request.begin, prompt - 1);
  EXPECT_EQ(request.end, prompt - 1 + cap);

  ExampleGradient g = example_gradient(model, params, request);
  EXPECT_EQ(g.tokens, cap);
  const double loss = ref.at("loss").get<double>();
  EXPECT_NEAR(g.loss, loss, kRelative * loss);
  std::map<std::string, const nlohmann::json*> by_name;  // transformers lists layers in another order
  for (const auto& t : ref.at("tensors")) by_name[t.at("name").get<std::string>()] = &t;
  for (std::size_t k = 0; k < params.size(); ++k) {
    ASSERT_TRUE(by_name.contains(params[k].name)) << params[k].name;
    const auto& t = *by_name.at(params[k].name);
    const torch::Tensor flat = g.grads[k].reshape(-1);
    ASSERT_EQ(flat.scalar_type(), torch::kFloat64);
    EXPECT_FALSE(params[k].value.requires_grad()) << params[k].name << " still requires grad";
    const double norm = t.at("norm").get<double>();
    EXPECT_GT(norm, 0) << params[k].name;
    EXPECT_NEAR(flat.norm().item<double>(), norm, kRelative * norm) << params[k].name;
    const double scale = norm / std::sqrt(static_cast<double>(flat.numel()));  // rms entry
    for (std::size_t s = 0; s < t.at("index").size(); ++s) {
      const double want = t.at("value")[s].get<double>();
      const double got = flat[t.at("index")[s].get<int64_t>()].item<double>();
      EXPECT_NEAR(got, want, kRelative * std::max(std::abs(want), scale)) << params[k].name << " entry " << s;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GradientParity, ::testing::Values("qwen2_tiny", "llama31_tiny"));

TEST(Gradients, SubsetGradientEqualsTheSameEntriesOfAll) {
  CausalLM model = load_causal_lm(golden_model("qwen2_tiny"), kCpuF64, Autograd::kAllowed);
  std::vector<int64_t> ids = {5, 17, 300, 42, 7, 99, 123, 8, 64};
  ScoreRequest request = sft_request(ids, 3, 4);
  auto all = select_parameters(model, "all");
  auto subset = select_parameters(model, "default");
  ExampleGradient full = example_gradient(model, all, request);
  ExampleGradient part = example_gradient(model, subset, request);
  EXPECT_EQ(full.loss, part.loss);
  for (std::size_t k = 0; k < subset.size(); ++k) {
    std::size_t j = 0;
    while (all[j].name != subset[k].name) ++j;
    EXPECT_TRUE(torch::allclose(part.grads[k], full.grads[j], 1e-13, 0)) << subset[k].name;
  }
}

TEST(Gradients, ScoringModelIsRefusedAndScoringPathStaysInference) {
  CausalLM model = load_causal_lm(golden_model("qwen2_tiny"), {});
  auto params = select_parameters(model, "default");
  std::vector<int64_t> ids = {5, 17, 300, 42};
  try {
    example_gradient(model, params, sft_request(ids, 2, 8));
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("Autograd::kAllowed"), std::string::npos) << e.what();
  }
}

TEST(Gradients, SftRequestCapsTheResponseAndRejectsEmptyParts) {
  std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6};
  ScoreRequest r = sft_request(ids, 2, 100);  // response of 4 tokens: targets ids[2..5]
  EXPECT_EQ(r.begin, 1);
  EXPECT_EQ(r.end, 5);
  r = sft_request(ids, 2, 3);
  EXPECT_EQ(r.end, 4);
  EXPECT_THROW(sft_request(ids, 0, 3), DataError);
  EXPECT_THROW(sft_request(ids, 6, 3), DataError);
  EXPECT_THROW(sft_request(ids, 2, 0), DataError);
}

TEST(ParamSelector, DefaultIsTheLastLayersProjectionsAndTheFinalNorm) {
  CausalLM model = load_causal_lm(golden_model("qwen2_tiny"), {}, Autograd::kAllowed);
  std::vector<std::string> names;
  for (const auto& p : select_parameters(model, "default")) names.push_back(p.name);
  const std::string l = "model.layers.2.";
  const std::vector<std::string> want = {l + "self_attn.q_proj.weight",
                                         l + "self_attn.q_proj.bias",
                                         l + "self_attn.k_proj.weight",
                                         l + "self_attn.k_proj.bias",
                                         l + "self_attn.v_proj.weight",
                                         l + "self_attn.v_proj.bias",
                                         l + "self_attn.o_proj.weight",
                                         l + "mlp.gate_proj.weight",
                                         l + "mlp.up_proj.weight",
                                         l + "mlp.down_proj.weight",
                                         "model.norm.weight"};
  EXPECT_EQ(names, want);

  const auto all = select_parameters(model, "all");
  EXPECT_EQ(all.size(), model->named_parameters().size());
  EXPECT_EQ(all.front().name, "model.embed_tokens.weight");

  // A list is taken in the model's order, whatever its own.
  auto listed = select_parameters(model, " model.norm.weight, model.layers.0.mlp.up_proj.weight");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(listed[1].name, "model.norm.weight");
  EXPECT_TRUE(listed[1].value.is_same(all[all.size() - 1].value));
}

TEST(ParamSelector, UnknownNamesAreRefusedByName) {
  CausalLM model = load_causal_lm(golden_model("llama31_tiny"), {}, Autograd::kAllowed);
  try {
    select_parameters(model, "model.norm.weight,model.layers.9.mlp.up_proj.weight,lm_head.bias");
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'model.layers.9.mlp.up_proj.weight'"), std::string::npos) << what;
    EXPECT_NE(what.find("'lm_head.bias'"), std::string::npos) << what;
    EXPECT_EQ(what.find("'model.norm.weight'"), std::string::npos) << what;
  }
  EXPECT_THROW(select_parameters(model, "all,model.norm.weight"), ConfigError);
  EXPECT_THROW(select_parameters(model, "model.norm.weight,,"), ConfigError);
  EXPECT_THROW(select_parameters(model, ""), ConfigError);
}

TEST(GradientOptionsTable, BindsEveryFieldAndValidates) {
  GradientOptions o;
  options::Group g = gradient_table(o);
  EXPECT_EQ(g.entries().size(), 4u);
  EXPECT_NO_THROW(validate(o));
  o.dim = 0;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.tokens = 0;
  EXPECT_THROW(validate(o), ConfigError);
  o = {};
  o.params = "default,all";
  EXPECT_THROW(validate(o), ConfigError);
}

// Three tensors of random float32 values (fixed generator seed), about 10k entries in all.
std::vector<torch::Tensor> random_gradient(uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({37, 101}), torch::randn({13}), torch::randn({6000})};
}

torch::Tensor flat_cat(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.reshape(-1).to(torch::kFloat64));
  return torch::cat(flat);
}

class GradientProjection : public ::testing::TestWithParam<ProjectionKind> {};

// Rademacher on the CPU runs a plain loop; it must give the tensor formulation's bits (partial
// blocks, odd row counts, a bfloat16 gradient, several threads).
TEST(GradientProjectionLoop, SameBitsAsTheTensorFormulation) {
  std::vector<torch::Tensor> grads = random_gradient(5);
  grads.push_back(torch::randn({999}).to(torch::kBFloat16));
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  for (const int64_t dim : {1, 7, 512, 8192}) {
    const ProjectionSpec spec{.dim = dim, .kind = ProjectionKind::kRademacher, .seed = 11};
    EXPECT_TRUE(torch::equal(project_gradient(grads, spec), project_gradient(grads, spec, /*tensor_ops=*/true)))
        << "dim " << dim;
  }
  at::set_num_threads(threads);
}

TEST_P(GradientProjection, SameBitsTwiceAndOnAnyThreadCount) {
  const ProjectionSpec spec{.dim = 512, .kind = GetParam(), .seed = 7};
  auto grads = random_gradient(1);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  torch::Tensor one = project_gradient(grads, spec);
  at::set_num_threads(2);
  torch::Tensor two = project_gradient(grads, spec);
  torch::Tensor again = project_gradient(grads, spec);
  at::set_num_threads(threads);
  ASSERT_EQ(one.sizes(), torch::IntArrayRef({512}));
  ASSERT_EQ(one.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_TRUE(torch::equal(two, again));
  // Another seed, another projection; a block's matrix is not the previous block's.
  ProjectionSpec other = spec;
  other.seed = 8;
  EXPECT_FALSE(torch::equal(one, project_gradient(grads, other)));
}

TEST_P(GradientProjection, IsLinear) {
  const ProjectionSpec spec{.dim = 256, .kind = GetParam(), .seed = 3};
  auto a = random_gradient(2), b = random_gradient(3), sum = a;
  for (std::size_t k = 0; k < a.size(); ++k) sum[k] = a[k] + b[k];
  torch::Tensor pa = project_gradient(a, spec).to(torch::kFloat64);
  torch::Tensor pb = project_gradient(b, spec).to(torch::kFloat64);
  torch::Tensor psum = project_gradient(sum, spec).to(torch::kFloat64);
  // float32 accumulation over ~10k terms: errors of order 1e-6 of the scale.
  const double scale = psum.abs().max().item<double>();
  EXPECT_LT((psum - pa - pb).abs().max().item<double>(), 1e-4 * scale);
  EXPECT_GT(scale, 0);
}

TEST_P(GradientProjection, PreservesCosinesWithinTheJohnsonLindenstraussBound) {
  const int64_t dim = 1024;
  const ProjectionSpec spec{.dim = dim, .kind = GetParam(), .seed = 11};
  auto base = random_gradient(4), noise = random_gradient(5);
  // Pairs with true cosines from about 0 to about 0.99.
  for (double mix : {0.0, 0.5, 1.0, 3.0, 10.0}) {
    std::vector<torch::Tensor> other;
    for (std::size_t k = 0; k < base.size(); ++k) other.push_back(noise[k] + mix * base[k]);
    const torch::Tensor x = flat_cat(base), y = flat_cat(other);
    const double truth = (x.dot(y) / (x.norm() * y.norm())).item<double>();
    const torch::Tensor px = project_gradient(base, spec).to(torch::kFloat64);
    const torch::Tensor py = project_gradient(other, spec).to(torch::kFloat64);
    const double projected = (px.dot(py) / (px.norm() * py.norm())).item<double>();
    // JL: |cos' - cos| <= about eps with eps = 4 / sqrt(dim) (probability of failure far below 1e-3
    // for one pair; the seed is fixed, so the check is deterministic).
    EXPECT_NEAR(projected, truth, 4.0 / std::sqrt(static_cast<double>(dim))) << "mix " << mix;
    // Norms are preserved in expectation (entries scaled by 1/sqrt(dim)).
    EXPECT_NEAR(px.norm().item<double>() / x.norm().item<double>(), 1.0, 4.0 / std::sqrt(static_cast<double>(dim)));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, GradientProjection,
                         ::testing::Values(ProjectionKind::kRademacher, ProjectionKind::kGaussian));

TEST(GradientProjection, BlockRowsBoundTheMatrixSlice) {
  EXPECT_EQ(projection_block_rows(8192), 512);
  EXPECT_EQ(projection_block_rows(int64_t{1} << 23), 1);
  // A tensor spanning several blocks equals the sum of its blocks projected as separate tensors only
  // when their streams coincide; different tensor indices give different matrices.
  const ProjectionSpec spec{.dim = 1 << 14, .kind = ProjectionKind::kRademacher, .seed = 1};
  torch::Tensor g = torch::ones({600});  // 256 rows per block: three blocks
  torch::Tensor split_a = project_gradient(std::vector<torch::Tensor>{g}, spec);
  torch::Tensor split_b = project_gradient(std::vector<torch::Tensor>{torch::zeros({1}), g}, spec);
  EXPECT_FALSE(torch::equal(split_a, split_b));
}

}  // namespace
}  // namespace curate::model
