// Budget allocation across groups: softmax of group scores with water-filling, then integer shares;
// and the two-level (domain, then source) allocation of the selection budget.
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

// Group score from the mean 100-token losses at the first and the last profile checkpoint:
// sqrt(max(0, last - first) * last); NaN means (no finite value) give 0.
double group_score(double mean_first, double mean_last);

// One (domain, source) group of candidates. Sums run over the group's candidates whose value is finite.
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
  std::string level;          // "domain" or "source"
  int32_t domain = 0;         // domain id
  int32_t source = -1;        // source id; -1 on domain rows
  int64_t examples = 0;       // candidates
  double score = 0;           // group_score over the candidates
  double share = 0;           // unrounded share (budget units) within the parent level
  int64_t allocated = 0;      // budget units given (examples, or tokens under a token budget)
};

struct Allocation {
  std::vector<int64_t> allocated;  // per group of the input, same order
  std::vector<AllocationRow> rows;  // each domain's row followed by its sources' rows
};

// Two-level allocation: water_fill across domains (a domain's score and capacity pooled over its
// groups), then across the groups of each domain with the domain's allocation as budget. Domains
// are ordered by first appearance in `groups`; that order, and the order of groups within a domain,
// break ties (select passes groups sorted by domain name, then source name).
Allocation allocate_hierarchical(std::span<const GroupStats> groups, int64_t budget, double temperature);

}  // namespace curate::select
