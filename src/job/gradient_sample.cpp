#include "job/gradient_sample.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <utility>

#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "select/random.h"

namespace curate::service {

std::vector<uint64_t> gradient_sample(const SampleFrame& frame, int64_t examples, uint64_t seed) {
  const std::size_t n = frame.status.size();
  if (frame.prompt_tokens.size() != n || frame.reasoning_tokens.size() != n || frame.source.size() != n ||
      (!frame.cluster.empty() && frame.cluster.size() != n)) {
    throw DistError("gradient_sample: the frame's columns differ in length");
  }
  std::map<std::pair<std::string, int64_t>, std::vector<uint64_t>> strata;
  uint64_t eligible = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!example_ok(frame.status[i]) || frame.prompt_tokens[i] < 1 || frame.reasoning_tokens[i] < 1) continue;
    const int64_t cluster = frame.cluster.empty() ? -1 : std::max<int64_t>(frame.cluster[i], -1);
    strata[{frame.source[i], cluster}].push_back(i);
    ++eligible;
  }
  const auto want = static_cast<uint64_t>(std::max<int64_t>(examples, 0));
  std::vector<uint64_t> quota;  // per stratum, in key order
  if (eligible <= want) {
    for (const auto& [key, members] : strata) quota.push_back(members.size());
  } else {
    std::vector<std::pair<uint64_t, std::size_t>> remainders;  // (remainder numerator, stratum)
    uint64_t given = 0;
    for (const auto& [key, members] : strata) {
      if (members.size() > std::numeric_limits<uint64_t>::max() / want)
        throw DistError("gradient_sample: too many records");
      const uint64_t share = want * members.size();
      quota.push_back(share / eligible);
      remainders.push_back({share % eligible, quota.size() - 1});
      given += quota.back();
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; given < want; ++k, ++given) ++quota[remainders[k].second];
  }
  std::vector<uint64_t> sample;
  std::size_t s = 0;
  for (const auto& [key, members] : strata) {
    std::mt19937_64 rng(seed ^ (0x9e3779b97f4a7c15ull * (s + 1)));
    const std::vector<int64_t> picks = select::detail::sample_without_replacement(static_cast<int64_t>(members.size()),
                                                                                  static_cast<int64_t>(quota[s]), rng);
    for (int64_t p : picks) sample.push_back(members[static_cast<std::size_t>(p)]);
    ++s;
  }
  std::sort(sample.begin(), sample.end());
  return sample;
}

SampleFrame read_sample_frame(const store::H5File& f) {
  SampleFrame frame;
  frame.status = f.read_u8(layout::kStatus);
  const layout::ExampleCosts costs = layout::read_example_costs(f);
  frame.prompt_tokens = costs.prompt_tokens;
  frame.reasoning_tokens = costs.reasoning_tokens;
  frame.source = f.read_strings(layout::kSource);
  const std::string linked = layout::linked_selection(f);
  const std::filesystem::path selection = f.path().parent_path() / linked;
  if (linked.empty() || !std::filesystem::exists(selection)) return frame;  // not selected yet: sources only
  const store::H5File sel = store::H5File::open(selection, /*writable=*/false);
  if (!sel.exists(layout::kCluster) || sel.dims(layout::kCluster) != std::vector<uint64_t>{frame.status.size()}) {
    log::warn(cat(selection.string(), " has no cluster per record; the gradient sample is stratified by source only"));
    return frame;
  }
  frame.cluster = sel.read_i64(layout::kCluster);
  return frame;
}

}  // namespace curate::service
