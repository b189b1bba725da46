// Deterministic k-means over small-dimensional float features, with the assignment step optionally
// split across processes: the result is the same bits whatever the number of processes or threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace curate::select {

struct KMeansOptions {
  int64_t k = 1;                  // clusters, 1..n
  int iterations = 20;            // most Lloyd iterations (stops earlier when no assignment changes)
  std::string init = "kmeans++";  // kmeans++ | random | auto (kmeans++ when n*k <= kAutoKMeansPlusPlus)
  uint64_t seed = 0;              // seed of the initialisation
  int threads = 1;                // CPU threads of the assignment step (0 = all cores); never changes results
};

// k-means++ costs O(n k d) before the first iteration, more than the iterations themselves (which use
// a KD-tree over the centroids) once n k is large; `auto` switches to random rows above this n*k.
inline constexpr double kAutoKMeansPlusPlus = 2e8;

// The init that `auto` resolves to for n rows and k clusters (other names are returned unchanged).
std::string resolve_init(const std::string& init, int64_t n, int64_t k);

struct KMeansResult {
  std::vector<int32_t> assign;   // [n] cluster of each row, 0..k-1
  std::vector<float> centroids;  // [k, d] row-major; an empty cluster keeps its previous centroid
  int iterations = 0;            // Lloyd iterations run
  bool converged = false;        // the last iteration changed no assignment
};

// Splits the assignment step across processes. Every process calls kmeans with the same features and
// options, in the same order; each assigns only its rows, then allgather shares them.
class RowSharing {
 public:
  virtual ~RowSharing() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // rows [first(rank), first(rank+1)) are this rank's (see row_range(assign.size(), rank, size));
  // on return every rank has every row of `assign`. Collective: every rank calls it the same times.
  virtual void allgather(std::span<int32_t> assign) const = 0;
};

// Rows [first, last) of `rank` out of `size` when n rows are split into contiguous, balanced ranges
// (the first n % size ranks get one row more).
std::pair<int64_t, int64_t> row_range(int64_t n, int rank, int size);

// k-means of `features` [n, d] row-major (d >= 1, finite values). Initialisation (identical on every
// rank): kmeans++ (D² sampling) or k distinct random rows, from std::mt19937_64 with portable draws.
// Lloyd: each row goes to the nearest centroid in squared L2 distance (exact KD-tree search, ties to the
// lower centroid index); centroids are the means of their members, accumulated in double in row order.
// Throws ConfigError for k outside 1..n (n > 0), an unknown init or iterations < 1; DataError when
// features.size() != n * d.
KMeansResult kmeans(std::span<const float> features, int64_t n, int64_t d, const KMeansOptions& options,
                    const RowSharing* sharing = nullptr);

}  // namespace curate::select
