// Selection inside one group (internal to select.cpp): every method takes the group's candidates and
// its allocation, writes cluster/score of its members and appends the chosen examples.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "curate/select/kmeans.h"
#include "curate/select/options.h"
#include "curate/select/select.h"

namespace curate::select::detail {

struct Group {
  std::span<const int64_t> members;  // candidate example indices, ascending
  int64_t allocated = 0;             // budget units: examples, or tokens when `tokens`
  bool tokens = false;               // an item costs its full_length instead of 1
  uint64_t seed = 0;                 // hash_seed(options.seed, source name)
};

// Appends the chosen examples of `group` to result.selected and sets result.cluster/score of its
// members. Collective when `sharing` is set (temp and s2l run k-means).
void select_group(const SelectInput& input, const Group& group, const SelectOptions& options, const RowSharing* sharing,
                  SelectResult& result);

}  // namespace curate::select::detail
