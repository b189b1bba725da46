// RunFile's part for --stage gradients: the /gradients group (layout.h).
#include <algorithm>
#include <limits>

#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "results/run_file.h"

namespace curate::service {

std::vector<uint8_t> RunFile::open_gradients(const PassPlan& plan) {
  const uint64_t rows = plan.positions.size(), dim = static_cast<uint64_t>(plan.gradient.dim);
  const auto units = static_cast<uint64_t>(plan.units());
  if (rows == 0 || dim == 0) throw DistError("gradients: a plan without examples or without a dimension");
  if (!layout::read_gradient_attrs(file_)) {  // new, or cut off before its attributes: (re)made whole
    file_.remove(layout::kGradients);
    file_.create_i64(layout::kGradientExample, {rows});
    const std::vector<int64_t> example(plan.positions.begin(), plan.positions.end());
    file_.write(layout::kGradientExample, {0}, {rows}, std::span<const int64_t>(example));
    file_.create_f32(layout::kGradientProjected, {rows, dim},
                     {std::min(rows, loss_chunk_rows(dim, 4, plan.unit_examples)), dim});
    file_.create_f32(layout::kGradientNorm, {rows}, {std::min<uint64_t>(rows, kMeanChunkRows)});
    file_.create_u8(layout::kGradientDone, {units});
    layout::write_gradient_attrs(file_, plan.gradient);  // last: their presence says the group is whole
    file_.flush();
  }
  const std::vector<int64_t> example = file_.read_i64(layout::kGradientExample);
  if (!std::equal(example.begin(), example.end(), plan.positions.begin(), plan.positions.end(),
                  [](int64_t a, uint64_t b) { return a >= 0 && static_cast<uint64_t>(a) == b; })) {
    throw StoreError(cat(file_.path().string(), ": ", layout::kGradientExample, " holds ", example.size(),
                         " rows that are not the ", rows,
                         " examples of the stage's plan: the file is damaged; rerun "
                         "with --fresh to rebuild /gradients"));
  }
  std::vector<uint8_t> done = file_.read_u8(layout::kGradientDone);
  if (done.size() != units || file_.dims(layout::kGradientProjected) != std::vector<uint64_t>{rows, dim}) {
    throw StoreError(cat(file_.path().string(), ": ", layout::kGradients, " does not have ", units, " units of ", rows,
                         " rows x ", dim, ": the file is damaged; rerun with --fresh to rebuild /gradients"));
  }
  return done;
}

void RunFile::store_gradients(const PassPlan& plan, const UnitResult& result) {
  const uint64_t n = result.examples.size(), dim = static_cast<uint64_t>(plan.gradient.dim);
  if (result.index < 0 || result.index >= plan.units() || result.slot != 0 ||
      static_cast<int64_t>(n) != plan.bounds[static_cast<std::size_t>(result.index) + 1] -
                                     plan.bounds[static_cast<std::size_t>(result.index)]) {
    throw DistError(cat("result for gradients unit ", result.index, " does not fit the stage"));
  }
  const auto first = static_cast<uint64_t>(plan.bounds[static_cast<std::size_t>(result.index)]);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> block(n * dim, nan), norms(n, nan);  // NaN rows: examples that could not be computed
  for (std::size_t i = 0; i < n; ++i) {
    const ExampleResult& e = result.examples[i];
    if (e.status != kStatusOk || e.losses.empty()) continue;
    if (e.losses.size() != dim) {
      throw DistError(cat("gradients unit ", result.index, ": line ", e.line, " came back with ", e.losses.size(),
                          " projected values, not gradients.dim = ", dim));
    }
    std::copy(e.losses.begin(), e.losses.end(), block.begin() + static_cast<std::ptrdiff_t>(i * dim));
    norms[i] = e.norm;
  }
  file_.write(layout::kGradientProjected, {first, 0}, {n, dim}, std::span<const float>(block));
  file_.write(layout::kGradientNorm, {first}, {n}, std::span<const float>(norms));
  const uint8_t one = 1;
  file_.write(layout::kGradientDone, {static_cast<uint64_t>(result.index)}, {1}, std::span<const uint8_t>(&one, 1));
}

}  // namespace curate::service
