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

void validate(const PerturbOptions& o) {
  if (o.gaussian_checkpoints < 1) throw ConfigError("perturb.gaussian_checkpoints must be >= 1");
  if (!(o.gaussian_min_std > 0) || !(o.gaussian_max_std >= o.gaussian_min_std)) {
    throw ConfigError(cat("perturb.gaussian_min_std (", o.gaussian_min_std, ") must be > 0 and <= perturb.gaussian_max_std (",
                          o.gaussian_max_std, ")"));
  }
  if (o.gaussian_checkpoints == 1 && o.gaussian_max_std != o.gaussian_min_std) {
    throw ConfigError("with one Gaussian checkpoint perturb.gaussian_max_std must equal perturb.gaussian_min_std");
  }
  if (o.directional_checkpoints < 1) throw ConfigError("perturb.directional_checkpoints must be >= 1");
  if (!(o.max_radius > 0) || o.min_radius < 0 || o.min_radius > o.max_radius) {
    throw ConfigError(cat("perturb radii need 0 <= min_radius (", o.min_radius, ") <= max_radius (", o.max_radius,
                          ") and max_radius > 0"));
  }
}

double gaussian_step_std(const PerturbOptions& o, int step) {
  if (step == 1) return o.gaussian_min_std;
  const double a = o.gaussian_min_std, b = o.gaussian_max_std;
  return std::sqrt((b * b - a * a) / (o.gaussian_checkpoints - 1));
}

double gaussian_total_std(const PerturbOptions& o, int checkpoint) {
  const double a = o.gaussian_min_std, delta = checkpoint > 1 ? gaussian_step_std(o, 2) : 0.0;
  return std::sqrt(a * a + (checkpoint - 1) * delta * delta);
}

std::vector<double> directional_radii(const PerturbOptions& o) {
  const int n = o.directional_checkpoints;
  const double first = o.min_radius > 0 ? o.min_radius : o.max_radius / n;
  std::vector<double> radii(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) radii[j] = n == 1 ? o.max_radius : first + (o.max_radius - first) * j / (n - 1);
  return radii;
}

std::vector<double> directional_lambdas(const std::vector<double>& radii) {
  std::vector<double> lambdas;
  double m = 0, previous = 0;
  for (double r : radii) {
    const double lambda = (-m + std::sqrt(m * m + 2 * (r * r - previous * previous))) / 2;
    lambdas.push_back(lambda);
    m += lambda;
    previous = r;
  }
  return lambdas;
}

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
