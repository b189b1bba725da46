#include "curate/model/gradient_engine.h"

#include <torch/torch.h>

#include <cmath>

#include "curate/model/gradients.h"
#include "curate/model/weights.h"
#include "curate/util/error.h"

namespace curate::model {

struct GradientEngine::Impl {
  GradientOptions options;
  CausalLM model{nullptr};
  std::vector<SelectedParameter> params;
};

GradientEngine::GradientEngine(EngineOptions engine, GradientOptions gradients) : impl_(std::make_unique<Impl>()) {
  resolve_auto_device(engine);
  if (engine.threads < 0) throw ConfigError("score.threads must be >= 0");
  if (engine.threads > 0) torch::set_num_threads(engine.threads);
  impl_->options = std::move(gradients);
  impl_->model =
      load_causal_lm(engine.model, {parse_device(engine.device), parse_dtype(engine.dtype)}, Autograd::kAllowed);
  impl_->params = select_parameters(impl_->model, impl_->options.params);
}

GradientEngine::~GradientEngine() = default;

ProjectedGradient GradientEngine::compute(std::span<const int64_t> ids, int64_t prompt_length) {
  const ScoreRequest request = sft_request(ids, prompt_length, impl_->options.tokens);
  ExampleGradient gradient = example_gradient(impl_->model, impl_->params, request);
  ProjectedGradient out;
  out.loss = gradient.loss;
  out.tokens = gradient.tokens;
  const torch::Tensor projected =
      project_gradient(gradient.grads, {impl_->options.dim, impl_->options.projection, impl_->options.seed})
          .to(torch::kCPU)
          .contiguous();
  out.projected.assign(projected.data_ptr<float>(), projected.data_ptr<float>() + projected.numel());
  double squares = 0;  // in tensor order, each tensor's sum in float64
  for (const torch::Tensor& g : gradient.grads)
    squares += g.to(torch::kFloat32).to(torch::kFloat64).square().sum().item<double>();
  out.norm = static_cast<float>(std::sqrt(squares));
  return out;
}

int64_t GradientEngine::vocab_size() const { return impl_->model->config().vocab_size; }

int64_t GradientEngine::selected_entries() const {
  int64_t n = 0;
  for (const SelectedParameter& p : impl_->params) n += p.value.numel();
  return n;
}

}  // namespace curate::model
