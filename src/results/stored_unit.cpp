#include "results/stored_unit.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "curate/store/half.h"
#include "results/run_file.h"

namespace curate::service {
namespace {

// The mean of the first `count` values (all of them when fewer), summed as double; NaN for none.
float mean(const std::vector<float>& values, std::size_t count) {
  count = std::min(count, values.size());
  if (count == 0) return std::numeric_limits<float>::quiet_NaN();
  double sum = 0;
  for (std::size_t i = 0; i < count; ++i) sum += values[i];
  return static_cast<float>(sum / static_cast<double>(count));
}

}  // namespace

StoredUnit prepare(const PassPlan& plan, const UnitResult& result) {
  if (result.pass == Pass::kGradients) throw std::logic_error("prepare: the gradient stage's units are not prepared");
  StoredUnit s;
  s.pass = result.pass, s.slot = result.slot, s.index = result.index, s.measure = result.measure;
  const bool calibration = result.pass == Pass::kCalibration;
  s.token_losses = calibration ? TokenLosses::kNone : plan.token_losses;
  const auto t = static_cast<std::size_t>(std::max<int64_t>(plan.tokens, 0));
  const std::size_t n = result.examples.size();
  s.examples.resize(n);
  s.loss_begin.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const ExampleResult& e = result.examples[i];
    if (result.pass == Pass::kDifficulty) {
      s.examples[i] = e;
      s.examples[i].losses.clear();
    }
    s.mean_loss.push_back(mean(e.losses, calibration ? t : e.losses.size()));
    if (result.pass == Pass::kProfile) {
      s.mean_loss_first.push_back(mean(e.losses, static_cast<std::size_t>(std::max<int64_t>(plan.first_tokens, 0))));
    }
    s.nan_losses.push_back(has_nan(e.losses) ? 1 : 0);
    const std::size_t kept = std::min(e.losses.size(), t);
    if (s.token_losses == TokenLosses::kFloat32) {
      s.losses_f32.insert(s.losses_f32.end(), e.losses.begin(), e.losses.begin() + static_cast<std::ptrdiff_t>(kept));
    } else if (s.token_losses == TokenLosses::kFloat16) {
      std::transform(e.losses.begin(), e.losses.begin() + static_cast<std::ptrdiff_t>(kept),
                     std::back_inserter(s.losses_f16), [](float v) { return store::to_half(v); });
    }
    s.loss_begin[i + 1] = s.token_losses == TokenLosses::kNone ? 0 : s.loss_begin[i] + kept;
  }
  return s;
}

}  // namespace curate::service
