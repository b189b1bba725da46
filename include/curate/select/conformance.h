// Conformance check against reference answers: runs curate_dist's own allocation, cluster-count rule
// and within-source selection on the cases of a suite folder and compares with the recorded answers
// of the reference implementation (TEMP). Formats: tests/data/reference/temp/README.md. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace curate::select {

// The result of one suite file.
struct ConformanceFile {
  std::string name;                   // allocation, select_given_clusters or k_rule
  int64_t cases = 0;                  // lines (allocation), cases (select_given_clusters) or pairs (k_rule)
  int64_t identical = 0;              // cases whose answer curate_dist reproduces
  std::string note;                   // what the counts include, e.g. fragile and variant lines
  std::vector<std::string> failures;  // "id: what differs" of every case that counts as failed
  bool passed() const { return failures.empty(); }
};

// Checks every known file present in `dir` (allocation.jsonl, select_given_clusters.jsonl,
// k_rule.json; any subset, at least one). Counting rules:
//   allocation: a line is identical when the per-source allocation, the k of every source, the
//     scores and per-level allocations of its trace match exactly; on a line where the reference
//     raised (`error`) identical means curate_dist flags the same condition (assertion: last mean
//     not highest; NaN: a clamped score). Lines marked `fragile` count in `identical` when they
//     match but never fail the file.
//   select_given_clusters: per case, every source's path, its selection outside the random fill,
//     the size of the random fill, the one-member cluster count and k match; which members the
//     random fill draws is compared by count only.
//   k_rule: k = reference_k(allocated, per_cluster) for every pair.
// Throws ConfigError when `dir` is missing or holds none of the files, DataError naming file:line
// for a malformed file.
std::vector<ConformanceFile> check_conformance(const std::filesystem::path& dir);

// check_conformance, printed one line per file ("allocation: 600/600 identical (...)", failures
// below it, at most 20 each) and "conformance: N passed, M failed" (files). Returns M.
int run_conformance(const std::filesystem::path& dir, std::ostream& out);

}  // namespace curate::select
