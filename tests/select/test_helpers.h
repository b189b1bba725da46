// Helpers of the select tests: simulated ranks for RowSharing, the adjusted Rand index, and owned
// storage behind a SelectInput.
#pragma once

#include <barrier>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <thread>
#include <vector>

#include "curate/select/kmeans.h"
#include "curate/select/select.h"

namespace curate::select::testing {

// `size` threads acting as ranks; allgather meets at a barrier and copies through a shared buffer.
class ThreadRanks {
 public:
  class Sharing : public RowSharing {
   public:
    Sharing(ThreadRanks& ranks, int rank) : ranks_(ranks), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return ranks_.size_; }
    void allgather(std::span<int32_t> assign) const override {
      ranks_.barrier_.arrive_and_wait();  // every rank has finished reading the previous call
      if (rank_ == 0) ranks_.buffer_.assign(assign.size(), -1);
      ranks_.barrier_.arrive_and_wait();
      const auto [first, last] = row_range(static_cast<int64_t>(assign.size()), rank_, ranks_.size_);
      for (int64_t i = first; i < last; ++i)
        ranks_.buffer_[static_cast<std::size_t>(i)] = assign[static_cast<std::size_t>(i)];
      ranks_.barrier_.arrive_and_wait();
      std::copy(ranks_.buffer_.begin(), ranks_.buffer_.end(), assign.begin());
    }

   private:
    ThreadRanks& ranks_;
    int rank_;
  };

  // Runs body(sharing) on `size` threads (one per rank) and returns each rank's result.
  template <typename Result>
  static std::vector<Result> run(int size, const std::function<Result(const RowSharing&)>& body) {
    ThreadRanks ranks(size);
    std::vector<Result> results(static_cast<std::size_t>(size));
    std::vector<std::thread> threads;
    for (int r = 0; r < size; ++r) {
      threads.emplace_back([&, r] { results[static_cast<std::size_t>(r)] = body(Sharing(ranks, r)); });
    }
    for (auto& thread : threads) thread.join();
    return results;
  }

 private:
  explicit ThreadRanks(int size) : size_(size), barrier_(size) {}
  int size_;
  std::barrier<> barrier_;
  std::vector<int32_t> buffer_;
};

// Adjusted Rand index of two labelings of the same items (1 = identical partitions).
inline double adjusted_rand_index(std::span<const int32_t> a, std::span<const int32_t> b) {
  std::map<std::pair<int32_t, int32_t>, int64_t> joint;
  std::map<int32_t, int64_t> count_a, count_b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++joint[{a[i], b[i]}];
    ++count_a[a[i]];
    ++count_b[b[i]];
  }
  auto pairs = [](int64_t n) { return static_cast<double>(n) * static_cast<double>(n - 1) / 2.0; };
  double index = 0, sum_a = 0, sum_b = 0;
  for (const auto& [key, n] : joint) index += pairs(n);
  for (const auto& [key, n] : count_a) sum_a += pairs(n);
  for (const auto& [key, n] : count_b) sum_b += pairs(n);
  const double expected = sum_a * sum_b / pairs(static_cast<int64_t>(a.size()));
  const double maximum = (sum_a + sum_b) / 2.0;
  return maximum == expected ? 1.0 : (index - expected) / (maximum - expected);
}

// Owned per-example arrays; view() is a SelectInput over them.
struct Examples {
  int64_t checkpoints = 2;
  std::vector<int32_t> source, domain;
  std::vector<uint8_t> kept;
  std::vector<int64_t> reasoning_tokens, full_length;
  std::vector<float> difficulty;
  std::vector<float> mean_loss, mean_loss_first;  // [C, N]

  // Appends an example with mean_loss = `loss` (C values) and mean_loss_first = loss + 0.1.
  int64_t add(int32_t src, std::vector<float> loss, int32_t dom = 0) {
    const auto n = static_cast<int64_t>(source.size());
    source.push_back(src);
    domain.push_back(dom);
    kept.push_back(1);
    reasoning_tokens.push_back(100);
    full_length.push_back(200);
    difficulty.push_back(loss.front());
    std::vector<float> old_loss = mean_loss, old_first = mean_loss_first;
    mean_loss.clear();
    mean_loss_first.clear();
    for (int64_t c = 0; c < checkpoints; ++c) {
      for (int64_t i = 0; i < n; ++i) {
        mean_loss.push_back(old_loss[static_cast<std::size_t>(c * n + i)]);
        mean_loss_first.push_back(old_first[static_cast<std::size_t>(c * n + i)]);
      }
      mean_loss.push_back(loss[static_cast<std::size_t>(c)]);
      mean_loss_first.push_back(loss[static_cast<std::size_t>(c)] + 0.1f);
    }
    return n;
  }

  SelectInput view() const {
    SelectInput input;
    input.checkpoints = checkpoints;
    input.source = source;
    input.domain = domain;
    input.kept = kept;
    input.reasoning_tokens = reasoning_tokens;
    input.full_length = full_length;
    input.difficulty = difficulty;
    input.mean_loss = mean_loss;
    input.mean_loss_first = mean_loss_first;
    return input;
  }
};

}  // namespace curate::select::testing
