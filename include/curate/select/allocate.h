// Budget allocation across groups: the reference's (TEMP's) softmax split with one capacity pass, or
// softmax water-filling; and the two-level (domain, then source) allocation of the selection budget.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace curate::select {

// Unrounded and integer shares of one allocation, one entry per group.
struct Shares {
  std::vector<double> share;       // softmax share after redistribution (capacity for saturated groups)
  std::vector<int64_t> allocated;  // floor(share) plus rounding leftovers; 0 <= allocated <= capacity
};

// Splits `budget` units over groups in proportion to softmax(score / temperature). A NaN or -inf
// score counts as the minimum finite score (0 if none is finite). Water-filling: every group whose
// capacity <= its share is given its capacity and the rest of the budget is shared again among the
// other groups, until no group saturates. Shares are floored; the leftover units go one each to the
// groups with the largest capacity (ties: lower index) that still have room. When budget >= total
// capacity every group gets its capacity; otherwise the allocation sums to `budget` exactly.
// Throws ConfigError for budget < 0 or temperature <= 0, DataError for mismatched sizes, a negative
// capacity or a +inf score.
Shares water_fill(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                  double temperature);

// water_fill(...).allocated.
std::vector<int64_t> allocate(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                              double temperature);

// The reference implementation's single-level split (TEMP selector.py compute_softmax_allocation),
// step for step in double: p = exp(s/T) / sum(exp(s/T)) (no max-subtraction; the sum as numpy's);
// requested = int(p x budget) (truncation); groups visited by ascending capacity (stable: equal
// capacities keep input order); a group whose capacity is below its request gets its capacity once,
// any other gets int(p / (sum of p of the groups not yet visited, in input order) x what is left),
// at most its capacity; then what is left goes, as much as fits, to the groups in the reverse visit
// order (largest capacity first). A NaN score counts as 0 (TEMP raises there: callers flag it).
// share = p x budget (unrounded). The allocation sums to min(budget, total capacity) except where
// a capped group's overflow does not fit. Throws like water_fill.
Shares reference_split(std::span<const double> scores, std::span<const int64_t> capacity, int64_t budget,
                       double temperature);

// numpy's float64 sum of a 1-D array (first element, then numpy's pairwise sum of the rest), so that
// softmax denominators round as the reference's do.
double numpy_sum(std::span<const double> values);

// Group score from the mean 100-token losses at the first and the last profile checkpoint:
// sqrt((last - first) * last) in double. Where that is NaN (the loss falls, or a mean is NaN) the
// score is 0 and *clamped (if given) is set: the reference raises there instead.
double group_score(double mean_first, double mean_last, bool* clamped = nullptr);

// Which single-level split allocate_hierarchical uses.
enum class AllocationMode {
  kReference,  // reference_split (select.allocation = reference, the default)
  kWaterFill,  // water_fill (select.allocation = water-fill)
};

// Throws ConfigError naming select.allocation for an unknown name.
AllocationMode parse_allocation_mode(const std::string& name);

// The reference's cluster count of a source: max(1, allocated / per_cluster) (integer division).
int64_t reference_k(int64_t allocated, int64_t per_cluster);

// One (domain, source) group of candidates. Sums run over the group's candidates; callers count a NaN
// value as 0 (as the reference does), so count_first = count_last = examples.
struct GroupStats {
  int32_t domain = 0;       // domain id
  int32_t source = 0;       // source id
  int64_t examples = 0;     // candidates
  int64_t capacity = 0;     // budget units the group can give: candidates, or their tokens (sum of full_length)
  double sum_first = 0;     // sum of the 100-token mean loss at the first profile checkpoint
  int64_t count_first = 0;  // finite values in sum_first
  double sum_last = 0;      // ... at the last profile checkpoint
  int64_t count_last = 0;
};

// One line of the allocation report.
struct AllocationRow {
  std::string level;      // "domain" or "source"
  int32_t domain = 0;     // domain id
  int32_t source = -1;    // source id; -1 on domain rows
  int64_t examples = 0;   // candidates
  double score = 0;       // group_score over the candidates
  bool clamped = false;   // the score was NaN (loss falls) and counts as 0; the reference raises here
  double share = 0;       // unrounded share (budget units) within the parent level
  int64_t allocated = 0;  // budget units given (examples, or tokens under a token budget)
};

struct Allocation {
  std::vector<int64_t> allocated;   // per group of the input, same order
  std::vector<AllocationRow> rows;  // each domain's row followed by its sources' rows
};

// Two-level allocation: the `mode` split across domains (a domain's score and capacity pooled over
// its groups), then across the groups of each domain with the domain's allocation as budget. Means
// are rounded to float32 before the score is taken (the reference's float32 means). Domains are
// ordered by first appearance in `groups`; that order, and the order of groups within a domain,
// break ties (select passes groups sorted by domain name, then source name: the reference's order).
Allocation allocate_hierarchical(std::span<const GroupStats> groups, int64_t budget, double temperature,
                                 AllocationMode mode = AllocationMode::kReference);

}  // namespace curate::select
