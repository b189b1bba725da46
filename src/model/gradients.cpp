#include "curate/model/gradients.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "curate/model/noise.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

constexpr int64_t kBlockEntries = int64_t{1} << 22;

// SplitMix64 step: distinct (seed, tensor, block) give unrelated streams.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t block_stream(uint64_t seed, uint64_t tensor, uint64_t block) { return mix(mix(mix(seed) ^ tensor) ^ block); }

bool is_default_parameter(const std::string& name, int64_t layers) {
  const std::string last = cat("model.layers.", layers - 1, ".");
  if (name == "model.norm.weight") return true;
  if (!name.starts_with(last)) return false;
  const std::string rest = name.substr(last.size());
  return rest.starts_with("self_attn.") || rest.starts_with("mlp.");
}

// Sets requires_grad on `params` for its lifetime.
class RequiresGrad {
 public:
  explicit RequiresGrad(std::span<const SelectedParameter> params) : params_(params) {
    for (const auto& p : params_) p.value.requires_grad_(true);
  }
  ~RequiresGrad() {
    for (const auto& p : params_) p.value.requires_grad_(false);
  }
  RequiresGrad(const RequiresGrad&) = delete;
  RequiresGrad& operator=(const RequiresGrad&) = delete;

 private:
  std::span<const SelectedParameter> params_;
};

// Σ_r m[r, :] by a fixed pairwise tree of element-wise adds (same bits for any thread count or device).
torch::Tensor sum_rows(torch::Tensor m) {
  int64_t n = m.size(0);
  while (n > 1) {
    const int64_t half = n / 2;
    m.narrow(0, 0, half).add_(m.narrow(0, n - half, half));
    n -= half;
  }
  return m[0];
}

}  // namespace

std::vector<SelectedParameter> select_parameters(const CausalLM& model, const std::string& selector) {
  const std::vector<std::string> items = parse_param_selector(selector);
  const auto named = model->named_parameters(/*recurse=*/true);
  std::vector<SelectedParameter> out;
  if (items[0] == "all" || items[0] == "default") {
    for (const auto& p : named) {
      if (items[0] == "all" || is_default_parameter(p.key(), model->config().num_hidden_layers)) {
        out.push_back({p.key(), p.value()});
      }
    }
    return out;
  }
  std::set<std::string> wanted(items.begin(), items.end());
  for (const auto& p : named) {
    if (wanted.erase(p.key()) > 0) out.push_back({p.key(), p.value()});
  }
  if (!wanted.empty()) {
    std::string names;
    for (const auto& name : wanted) names += (names.empty() ? "'" : ", '") + name + "'";
    throw ModelError(cat("gradients.params names ", names,
                         ", which the model has not (its parameters are named as in "
                         "the checkpoint, e.g. 'model.layers.0.mlp.up_proj.weight'; or use default or all)"));
  }
  return out;
}

ScoreRequest sft_request(std::span<const int64_t> ids, int64_t prompt_length, int64_t cap) {
  const auto n = static_cast<int64_t>(ids.size());
  if (prompt_length < 1 || prompt_length >= n || cap < 1) {
    throw DataError(cat("an SFT example needs a prompt and a response (prompt of ", prompt_length, " tokens in ", n,
                        ") and a token cap >= 1 (", cap, ")"));
  }
  return {ids, prompt_length - 1, prompt_length - 1 + std::min(cap, n - prompt_length)};
}

ExampleGradient example_gradient(const CausalLM& model, std::span<const SelectedParameter> params,
                                 const ScoreRequest& r) {
  const auto n = static_cast<int64_t>(r.ids.size());
  if (r.begin < 0 || r.begin >= r.end || r.end >= n) {
    throw DataError(
        cat("scored range [", r.begin, ", ", r.end, ") is empty or does not fit a sequence of ", n, " tokens"));
  }
  const int64_t vocab = model->config().vocab_size;
  for (int64_t j = 0; j <= r.end; ++j) {
    if (r.ids[j] < 0 || r.ids[j] >= vocab) {
      throw DataError(cat("token id ", r.ids[j], " at position ", j, " is outside the model's vocabulary of ", vocab,
                          "; was it tokenized for another model?"));
    }
  }
  if (params.empty()) throw ModelError("no parameters selected for the gradient");
  std::vector<torch::Tensor> leaves;
  for (const auto& p : params) {
    if (p.value.is_inference()) {
      throw ModelError("parameter '" + p.name +
                       "' belongs to a model built for inference only; load it with Autograd::kAllowed");
    }
    leaves.push_back(p.value);
  }
  const torch::Device device = model->target().device;
  RequiresGrad grad_leaves(params);
  torch::AutoGradMode grad_mode(true);
  torch::Tensor ids = torch::tensor(std::vector<int64_t>(r.ids.begin(), r.ids.begin() + r.end + 1), torch::kInt64);
  torch::Tensor inputs = ids.slice(0, 0, r.end).unsqueeze(0).to(device);
  torch::Tensor targets = ids.slice(0, r.begin + 1, r.end + 1).to(device);
  torch::Tensor logits = model->logits(model->hidden_states(inputs)[0].slice(0, r.begin, r.end));
  torch::Tensor logp = torch::log_softmax(logits, -1, torch::promote_types(torch::kFloat32, logits.scalar_type()));
  torch::Tensor loss = -logp.gather(1, targets.unsqueeze(1)).mean();
  ExampleGradient out;
  out.grads = torch::autograd::grad({loss}, leaves);
  out.loss = loss.item<double>();
  out.tokens = r.end - r.begin;
  return out;
}

int64_t projection_block_rows(int64_t dim) { return std::max<int64_t>(1, kBlockEntries / dim); }

namespace {

// project_gradient's rademacher blocks on the CPU in one pass per column (no int64 temporaries): for
// column j, the block's products ±g[r] in the tree order of sum_rows, then out[j] += the column's sum.
// The same float32 operations on the same values as the tensor formulation: the same bits.
void add_rademacher_block_cpu(float* out, const float* g, int64_t count, int64_t dim, uint64_t stream) {
  at::parallel_for(0, dim, 64, [&](int64_t begin, int64_t end) {
    std::vector<float> column(static_cast<std::size_t>(count));
    for (int64_t j = begin; j < end; ++j) {
      for (int64_t r = 0; r < count; ++r) {
        const uint64_t h = counter_hash(stream, static_cast<uint64_t>(r * dim + j));
        column[static_cast<std::size_t>(r)] = (h >> 63) ? -g[r] : g[r];  // sign bit set -> -1
      }
      for (int64_t n = count; n > 1;) {
        const int64_t half = n / 2;
        for (int64_t i = 0; i < half; ++i)
          column[static_cast<std::size_t>(i)] += column[static_cast<std::size_t>(n - half + i)];
        n -= half;
      }
      out[j] += column[0];
    }
  });
}

}  // namespace

torch::Tensor project_gradient(std::span<const torch::Tensor> grads, const ProjectionSpec& spec) {
  return project_gradient(grads, spec, /*tensor_ops=*/false);
}

torch::Tensor project_gradient(std::span<const torch::Tensor> grads, const ProjectionSpec& spec, bool tensor_ops) {
  if (spec.dim < 1) throw ConfigError(cat("projection dimension must be >= 1 (got ", spec.dim, ")"));
  if (grads.empty()) throw ModelError("no gradient tensors to project");
  torch::NoGradGuard no_grad;
  const torch::Device device = grads[0].device();
  const bool loop = !tensor_ops && device.is_cpu() && spec.kind == ProjectionKind::kRademacher;
  const int64_t rows = projection_block_rows(spec.dim);
  torch::Tensor out = torch::zeros({spec.dim}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  for (std::size_t k = 0; k < grads.size(); ++k) {
    const torch::Tensor flat = grads[k].reshape(-1);
    const int64_t size = flat.numel();
    for (int64_t b = 0; b * rows < size; ++b) {
      const int64_t count = std::min(rows, size - b * rows);
      const uint64_t stream = block_stream(spec.seed, k, static_cast<uint64_t>(b));
      if (loop) {
        const torch::Tensor g = flat.slice(0, b * rows, b * rows + count).to(torch::kFloat32).contiguous();
        add_rademacher_block_cpu(out.data_ptr<float>(), g.data_ptr<float>(), count, spec.dim, stream);
        continue;
      }
      torch::Tensor m;
      if (spec.kind == ProjectionKind::kRademacher) {
        torch::Tensor hashes = counter_hashes(stream, 0, count * spec.dim, device);
        m = hashes.lt(0).to(torch::kFloat32).mul_(-2).add_(1);  // sign bit set -> -1, clear -> +1
      } else {
        m = standard_normal(stream, 0, count * spec.dim, device);
      }
      m = m.view({count, spec.dim});
      m.mul_(flat.slice(0, b * rows, b * rows + count).to(torch::kFloat32).unsqueeze(1));
      out.add_(sum_rows(m));
    }
  }
  return out.mul_(static_cast<float>(1.0 / std::sqrt(static_cast<double>(spec.dim))));
}

}  // namespace curate::model
