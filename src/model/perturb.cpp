#include "curate/model/perturb.h"

#include <torch/torch.h>

#include <cmath>

#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

// Standard normal noise for (family, step, tensor), drawn on the CPU in float32.
torch::Tensor noise(uint64_t seed, const char* family, int step, const std::string& name, at::IntArrayRef shape) {
  const uint64_t stream = hash_seed(hash_seed(seed, family), cat(step, '/', name));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(stream);
  return torch::randn(shape, generator, torch::TensorOptions().dtype(torch::kFloat32));
}

// The parameters of `model` by name, each tensor once (a tied head is the embedding).
std::vector<std::pair<std::string, torch::Tensor>> parameters(CausalLM& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace

bool gaussian_perturbs(const std::string& name) { return name.find("embed") == std::string::npos; }

void apply_gaussian(CausalLM& model, const PerturbOptions& options, int checkpoint) {
  validate(options);
  if (checkpoint < 1 || checkpoint > options.gaussian_checkpoints) {
    throw ConfigError(cat("Gaussian checkpoint ", checkpoint, " is outside 1..", options.gaussian_checkpoints));
  }
  torch::InferenceMode guard;
  for (auto& [name, tensor] : parameters(model)) {
    if (!gaussian_perturbs(name)) continue;
    torch::Tensor total = torch::zeros(tensor.sizes(), torch::kFloat32);
    for (int step = 1; step <= checkpoint; ++step) {
      total.add_(noise(options.seed, "gaussian", step, name, tensor.sizes()), gaussian_step_std(options, step));
    }
    tensor.add_(total.to(tensor.device(), tensor.scalar_type()));
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
  auto included = [&](const std::string& name) {
    return !(options.direction_excludes_embeddings && name.find("embed") != std::string::npos);
  };
  // Pass 1: ‖θ_f − θ₀‖ over the perturbed tensors, one fine-tuned tensor in memory at a time.
  double squared = 0;
  for (auto& [name, tensor] : params) {
    if (!included(name)) continue;
    torch::Tensor diff = finetuned.get(name, tensor.sizes().vec()).to(torch::kFloat64) - tensor.to(torch::kFloat64);
    squared += diff.pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(squared);
  if (!(norm > 0)) throw ModelError("the fine-tuned model equals the base model: no fine-tuning direction");
  // Pass 2: θ_j = θ₀ + Σ_s λ_s (1 + ξ_s) ⊙ e.
  double distance_squared = 0;
  for (auto& [name, tensor] : params) {
    if (!included(name)) continue;
    torch::Tensor direction =
        (finetuned.get(name, tensor.sizes().vec()).to(torch::kFloat32) - tensor.to(torch::kFloat32)).cpu() / norm;
    torch::Tensor delta = torch::zeros(tensor.sizes(), torch::kFloat32);
    for (int step = 1; step <= checkpoint; ++step) {
      torch::Tensor scale = noise(options.seed, "directional", step, name, tensor.sizes()).add_(1.0);
      delta.add_(scale.mul_(direction), lambdas[step - 1]);
    }
    torch::Tensor before = tensor.to(torch::kFloat64).cpu();
    tensor.add_(delta.to(tensor.device(), tensor.scalar_type()));
    distance_squared += (tensor.to(torch::kFloat64).cpu() - before).pow(2).sum().item<double>();
  }
  return std::sqrt(distance_squared);
}

}  // namespace curate::model
