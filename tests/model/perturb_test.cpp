#include "curate/model/perturb.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::ScratchDir;

std::map<std::string, torch::Tensor> snapshot(CausalLM& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

TEST(Perturb, GaussianScheduleMatchesTheMethod) {
  PerturbOptions o;  // a = 2e-3, b = 8e-3, n = 8
  EXPECT_DOUBLE_EQ(gaussian_step_std(o, 1), 2e-3);
  EXPECT_NEAR(gaussian_step_std(o, 2), std::sqrt((64e-6 - 4e-6) / 7), 1e-15);
  EXPECT_NEAR(gaussian_total_std(o, 8), 8e-3, 1e-15);
  EXPECT_NEAR(gaussian_total_std(o, 3), std::sqrt(4e-6 + 2 * 60e-6 / 7), 1e-15);
  o.gaussian_min_std = 0.1;
  EXPECT_THROW_WITH(validate(o), ConfigError, "gaussian_min_std");
}

TEST(Perturb, DirectionalStepsReachTheRadiiInExpectation) {
  PerturbOptions o;  // R = 10, n = 8, r_min = R/n
  auto radii = directional_radii(o);
  ASSERT_EQ(radii.size(), 8u);
  EXPECT_DOUBLE_EQ(radii.front(), 1.25);
  EXPECT_DOUBLE_EQ(radii.back(), 10.0);
  auto lambdas = directional_lambdas(radii);
  // E‖Σ λ_s (1 + ξ_s) e‖² = (Σ λ_s)² + Σ λ_s² must equal r_j² at every step.
  double sum = 0, squares = 0;
  for (std::size_t j = 0; j < lambdas.size(); ++j) {
    sum += lambdas[j];
    squares += lambdas[j] * lambdas[j];
    EXPECT_NEAR(sum * sum + squares, radii[j] * radii[j], 1e-9) << j;
  }
}

TEST(Perturb, GaussianIsDeterministicNestedAndSparesEmbeddings) {
  PerturbOptions o;
  o.seed = 42;
  CausalLM base = load_causal_lm(golden_model("llama31_tiny"), {});
  CausalLM first = load_causal_lm(golden_model("llama31_tiny"), {});
  CausalLM again = load_causal_lm(golden_model("llama31_tiny"), {});
  CausalLM second = load_causal_lm(golden_model("llama31_tiny"), {});
  const auto theta0 = snapshot(base);
  apply_gaussian(first, o, 1);
  apply_gaussian(again, o, 1);
  apply_gaussian(second, o, 2);
  const auto t1 = snapshot(first), t1_again = snapshot(again), t2 = snapshot(second);
  std::vector<torch::Tensor> step1, step2;
  for (const auto& [name, tensor] : theta0) {
    EXPECT_TRUE(torch::equal(t1.at(name), t1_again.at(name))) << name;  // same seed, same bits
    if (!gaussian_perturbs(name)) {
      EXPECT_TRUE(torch::equal(t1.at(name), tensor)) << name;
      continue;
    }
    step1.push_back((t1.at(name) - tensor).flatten());
    step2.push_back((t2.at(name) - t1.at(name)).flatten());
  }
  EXPECT_FALSE(step1.empty());
  EXPECT_NEAR(torch::cat(step1).std().item<double>(), gaussian_step_std(o, 1), 0.02 * gaussian_step_std(o, 1));
  EXPECT_NEAR(torch::cat(step2).std().item<double>(), gaussian_step_std(o, 2), 0.02 * gaussian_step_std(o, 2));
  // The checkpoint files on disk are untouched (private mapping): a fresh load equals the base.
  CausalLM reloaded = load_causal_lm(golden_model("llama31_tiny"), {});
  for (const auto& [name, tensor] : snapshot(reloaded)) EXPECT_TRUE(torch::equal(tensor, theta0.at(name))) << name;

  PerturbOptions other = o;
  other.seed = 43;
  CausalLM different = load_causal_lm(golden_model("llama31_tiny"), {});
  apply_gaussian(different, other, 1);
  EXPECT_FALSE(torch::equal(snapshot(different).at("model.norm.weight"), t1.at("model.norm.weight")));
  EXPECT_THROW_WITH(apply_gaussian(different, o, 9), ConfigError, "outside 1..8");
}

TEST(Perturb, DirectionalReachesItsRadiusAlongTheFineTuningDirection) {
  ScratchDir dir;
  ModelConfig config = builtin_shape("tiny-llama");
  write_random_model(config, dir / "base", 1, 0.02, torch::kFloat32, 0);
  write_random_model(config, dir / "tuned", 2, 0.02, torch::kFloat32, 0);
  PerturbOptions o;
  o.seed = 7;
  o.max_radius = 1.0;
  const auto radii = directional_radii(o);
  for (int j : {1, 4, 8}) {
    CausalLM model = load_causal_lm(dir / "base", {});
    const auto theta0 = snapshot(model);
    CheckpointWeights tuned(dir / "tuned", {});
    const double distance = apply_directional(model, tuned, o, j);
    EXPECT_NEAR(distance, radii[j - 1], 0.02 * radii[j - 1]) << "checkpoint " << j;
    // The move is along e: positively correlated with θ_f − θ₀ on every tensor.
    CheckpointWeights reread(dir / "tuned", {});
    for (const auto& p : model->named_parameters()) {
      auto moved = (p.value() - theta0.at(p.key())).flatten();
      auto direction = (reread.get(p.key(), p.value().sizes().vec()) - theta0.at(p.key())).flatten();
      if (direction.abs().max().item<double>() == 0) {
        EXPECT_EQ(moved.abs().max().item<double>(), 0) << p.key();  // no direction, no move (norm weights)
      } else {
        EXPECT_GT(torch::dot(moved, direction).item<double>(), 0) << p.key();
      }
    }
  }
  PerturbOptions no_embed = o;
  no_embed.direction_excludes_embeddings = true;
  CausalLM model = load_causal_lm(dir / "base", {});
  const auto embed = model->named_parameters()["model.embed_tokens.weight"].clone();
  CheckpointWeights tuned(dir / "tuned", {});
  apply_directional(model, tuned, no_embed, 2);
  EXPECT_TRUE(torch::equal(model->named_parameters()["model.embed_tokens.weight"], embed));
}

TEST(Perturb, DirectionalRejectsMismatchedOrIdenticalModels) {
  ScratchDir dir;
  write_random_model(builtin_shape("tiny-llama"), dir / "base", 1, 0.02, torch::kFloat32, 0);
  write_random_model(builtin_shape("tiny-qwen2"), dir / "other", 2, 0.02, torch::kFloat32, 0);
  CausalLM model = load_causal_lm(dir / "base", {});
  CheckpointWeights other(dir / "other", {});
  EXPECT_THROW_WITH(apply_directional(model, other, {}, 1), ModelError, "lm_head.weight");
  CheckpointWeights same(dir / "base", {});
  EXPECT_THROW_WITH(apply_directional(model, same, {}, 1), ModelError, "equals the base model");
}

}  // namespace
}  // namespace curate::model
