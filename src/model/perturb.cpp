#include "curate/model/perturb.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "curate/model/noise.h"
#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

// Stream of the noise for (family, step, tensor): see noise.h for the values of a stream.
uint64_t noise_stream(uint64_t seed, const char* family, int step, const std::string& name) {
  return hash_seed(hash_seed(seed, family), cat(step, '/', name));
}

// The parameters of `model` by name, each tensor once (a tied head is the embedding).
std::vector<std::pair<std::string, torch::Tensor>> parameters(CausalLM& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace

bool gaussian_perturbs(const std::string& name) { return name.find("embed") == std::string::npos; }

bool directional_perturbs(const std::string& name, const PerturbOptions& options) {
  return !(options.direction_excludes_embeddings && name.find("embed") != std::string::npos);
}

void apply_gaussian(CausalLM& model, const PerturbOptions& options, int checkpoint) {
  validate(options);
  if (checkpoint < 1 || checkpoint > options.gaussian_checkpoints) {
    throw ConfigError(cat("Gaussian checkpoint ", checkpoint, " is outside 1..", options.gaussian_checkpoints));
  }
  torch::InferenceMode guard;
  for (auto& [name, tensor] : parameters(model)) {
    if (!gaussian_perturbs(name)) continue;
    torch::Tensor flat = tensor.view(-1);
    for_noise_chunks(flat.numel(), tensor.device(), [&](int64_t first, int64_t count) {
      // θ + Σ_s std_s z_s in float32, rounded once to the weight dtype. Products and sums are separate
      // IEEE operations (no fused multiply-add), so every device rounds them alike.
      torch::Tensor total = torch::zeros({count}, flat.options().dtype(torch::kFloat32));
      for (int step = 1; step <= checkpoint; ++step) {
        total.add_(standard_normal(noise_stream(options.seed, "gaussian", step, name), first, count, tensor.device())
                       .mul_(gaussian_step_std(options, step)));
      }
      torch::Tensor piece = flat.slice(0, first, first + count);
      piece.copy_(piece.to(torch::kFloat32) + total);
    });
  }
}

double apply_directional(CausalLM& model, WeightSource& finetuned, const PerturbOptions& options, int checkpoint) {
  validate(options);
  if (checkpoint < 1 || checkpoint > options.directional_checkpoints) {
    throw ConfigError(cat("directional checkpoint ", checkpoint, " is outside 1..", options.directional_checkpoints));
  }
  const auto lambdas = directional_lambdas(directional_radii(options));
  torch::InferenceMode guard;
  auto params = parameters(model);
  // Everything below runs on the model's device; the host waits only for the two norms.
  // Pass 1: ‖θ_f − θ₀‖ over the perturbed tensors, one fine-tuned tensor in memory at a time.
  torch::Tensor squared;
  for (auto& [name, tensor] : params) {
    if (!directional_perturbs(name, options)) continue;
    torch::Tensor target = finetuned.get(name, tensor.sizes().vec()).view(-1);
    torch::Tensor flat = tensor.view(-1);
    for_noise_chunks(flat.numel(), tensor.device(), [&](int64_t first, int64_t count) {
      torch::Tensor sum = (target.slice(0, first, first + count).to(torch::kFloat64) -
                           flat.slice(0, first, first + count).to(torch::kFloat64))
                              .pow(2)
                              .sum();
      squared = squared.defined() ? squared + sum : sum;
    });
  }
  const double norm = squared.defined() ? std::sqrt(squared.item<double>()) : 0.0;
  if (!(norm > 0)) throw ModelError("the fine-tuned model equals the base model: no fine-tuning direction");
  // Pass 2: θ_j = θ₀ + Σ_s λ_s (1 + ξ_s) ⊙ e, e = (θ_f − θ₀)/‖θ_f − θ₀‖, in float32, rounded once.
  torch::Tensor distance_squared;
  for (auto& [name, tensor] : params) {
    if (!directional_perturbs(name, options)) continue;
    torch::Tensor target = finetuned.get(name, tensor.sizes().vec()).view(-1);
    torch::Tensor flat = tensor.view(-1);
    for_noise_chunks(flat.numel(), tensor.device(), [&](int64_t first, int64_t count) {
      torch::Tensor piece = flat.slice(0, first, first + count);
      torch::Tensor base = piece.to(torch::kFloat32);
      torch::Tensor direction = (target.slice(0, first, first + count).to(torch::kFloat32) - base).div_(norm);
      torch::Tensor delta = torch::zeros_like(direction);
      for (int step = 1; step <= checkpoint; ++step) {
        torch::Tensor scale =
            standard_normal(noise_stream(options.seed, "directional", step, name), first, count, tensor.device());
        delta.add_(scale.add_(1.0).mul_(direction).mul_(lambdas[step - 1]));
      }
      torch::Tensor moved = (base + delta).to(tensor.scalar_type());
      torch::Tensor sum = (moved.to(torch::kFloat64) - piece.to(torch::kFloat64)).pow(2).sum();
      distance_squared = distance_squared.defined() ? distance_squared + sum : sum;
      piece.copy_(moved);
    });
  }
  return std::sqrt(distance_squared.item<double>());
}

}  // namespace curate::model
