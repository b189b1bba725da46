// select_bench [N=1000000] [threads=1] [sources=4]: synthetic loss profiles (8 checkpoints, clusters of
// about 20 examples), times one k-means over all N rows with k = N/4, the difficulty filter, and the
// temp selection (per_cluster 4, budget N/10); prints wall times and peak RSS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "curate/select/filter.h"
#include "curate/select/kmeans.h"
#include "curate/select/select.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  namespace sel = curate::select;
  const int64_t n = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 1;
  const int sources = argc > 3 ? std::stoi(argv[3]) : 4;
  constexpr int64_t kCheckpoints = 8;

  std::mt19937_64 rng(42);
  std::normal_distribution<float> noise(0.0f, 0.03f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  const int64_t patterns = std::max<int64_t>(1, n / 20);
  std::vector<float> base(static_cast<std::size_t>(patterns)), slope(base.size());
  for (std::size_t p = 0; p < base.size(); ++p) {
    base[p] = 0.5f + 2.5f * uniform(rng);
    slope[p] = -0.2f + 0.5f * uniform(rng);
  }
  std::vector<int32_t> source(static_cast<std::size_t>(n)), domain(source.size());
  std::vector<int64_t> reasoning(source.size()), full(source.size());
  std::vector<float> difficulty(source.size());
  std::vector<float> mean_loss(static_cast<std::size_t>(kCheckpoints * n)), first(mean_loss.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    const auto p = static_cast<std::size_t>(rng() % static_cast<uint64_t>(patterns));
    source[u] = static_cast<int32_t>(rng() % static_cast<uint64_t>(sources));
    domain[u] = source[u] % 2;
    reasoning[u] = 100 + static_cast<int64_t>(rng() % 30000);
    full[u] = reasoning[u] + 500;
    difficulty[u] = base[p] + noise(rng);
    for (int64_t c = 0; c < kCheckpoints; ++c) {
      const auto at = static_cast<std::size_t>(c * n + i);
      mean_loss[at] = base[p] + slope[p] * static_cast<float>(c) + noise(rng);
      first[at] = mean_loss[at] + 0.1f + noise(rng);
    }
  }
  std::vector<std::string> source_names, domain_names = {"math", "code"};
  for (int s = 0; s < sources; ++s) source_names.push_back("source" + std::to_string(s));
  std::printf("N = %lld examples, %d sources, %lld checkpoints, %d thread(s)\n", static_cast<long long>(n), sources,
              static_cast<long long>(kCheckpoints), threads);

  // One k-means over all rows (the largest single instance): k = N/4, 20 iterations at most.
  std::vector<float> features(static_cast<std::size_t>(n * kCheckpoints));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < kCheckpoints; ++c) {
      features[static_cast<std::size_t>(i * kCheckpoints + c)] = mean_loss[static_cast<std::size_t>(c * n + i)];
    }
  }
  sel::KMeansOptions kmeans_options;
  kmeans_options.k = std::max<int64_t>(1, n / 4);
  kmeans_options.init = sel::resolve_init("auto", n, kmeans_options.k);
  kmeans_options.threads = threads;
  auto start = std::chrono::steady_clock::now();
  const sel::KMeansResult fit = sel::kmeans(features, n, kCheckpoints, kmeans_options);
  std::printf("kmeans   k = %lld, init %s: %.2f s, %d iterations%s\n", static_cast<long long>(kmeans_options.k),
              kmeans_options.init.c_str(), seconds_since(start), fit.iterations, fit.converged ? " (converged)" : "");
  features = {};

  start = std::chrono::steady_clock::now();
  const std::vector<uint8_t> kept = sel::difficulty_filter(difficulty, source, sel::FilterOptions{});
  std::printf("filter   kmeans k=2 keep=1: %.2f s\n", seconds_since(start));

  sel::SelectInput input;
  input.checkpoints = kCheckpoints;
  input.source = source;
  input.domain = domain;
  input.kept = kept;
  input.reasoning_tokens = reasoning;
  input.full_length = full;
  input.difficulty = difficulty;
  input.mean_loss = mean_loss;
  input.mean_loss_first = first;
  sel::SelectOptions options;
  options.budget = std::max<int64_t>(1, n / 10);
  options.threads = threads;
  int64_t candidates = 0;
  for (uint8_t k : kept) candidates += k;
  start = std::chrono::steady_clock::now();
  const sel::SelectResult result = sel::select(input, source_names, domain_names, options);
  std::printf("select   temp, %lld candidates, per_cluster 4, budget %lld: %.2f s, %zu selected\n",
              static_cast<long long>(candidates), static_cast<long long>(options.budget), seconds_since(start),
              result.selected.size());
  std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
  return 0;
}
