// select_bench [N=1000000] [threads=1] [sources=4]: N synthetic examples (8 checkpoints, `sources`
// sources in 2 domains, loss curves from N/20 patterns plus noise), every example a candidate. Times
// the difficulty filter (for scale; its output is not used), the k-means of every source exactly as
// the temp method runs it (k = n_source / 4), and the whole temp selection (budget N/10, which runs
// those k-means again); prints wall times and peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "curate/select/filter.h"
#include "curate/select/kmeans.h"
#include "curate/select/select.h"
#include "curate/util/clock.h"
#include "curate/util/hash.h"

namespace {

namespace sel = curate::select;
using curate::process_cpu_seconds;
using curate::seconds_since;
constexpr int64_t kCheckpoints = 8;

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

struct Synthetic {
  std::vector<int32_t> source, domain;
  std::vector<uint8_t> kept;
  std::vector<int64_t> reasoning, full;
  std::vector<float> difficulty, mean_loss, first;  // loss tables [C, N]
};

Synthetic generate(int64_t n, int sources) {
  std::mt19937_64 rng(42);
  std::normal_distribution<float> noise(0.0f, 0.03f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  const int64_t patterns = std::max<int64_t>(1, n / 20);
  std::vector<float> base(static_cast<std::size_t>(patterns)), slope(base.size());
  for (std::size_t p = 0; p < base.size(); ++p) {
    base[p] = 0.5f + 2.5f * uniform(rng);
    slope[p] = -0.2f + 0.5f * uniform(rng);
  }
  Synthetic s;
  const auto count = static_cast<std::size_t>(n);
  s.source.resize(count);
  s.domain.resize(count);
  s.kept.assign(count, 1);
  s.reasoning.resize(count);
  s.full.resize(count);
  s.difficulty.resize(count);
  s.mean_loss.resize(count * kCheckpoints);
  s.first.resize(count * kCheckpoints);
  for (std::size_t i = 0; i < count; ++i) {
    const auto p = static_cast<std::size_t>(rng() % static_cast<uint64_t>(patterns));
    s.source[i] = static_cast<int32_t>(rng() % static_cast<uint64_t>(sources));
    s.domain[i] = s.source[i] % 2;
    s.reasoning[i] = 100 + static_cast<int64_t>(rng() % 30000);
    s.full[i] = s.reasoning[i] + 500;
    s.difficulty[i] = base[p] + noise(rng);
    for (std::size_t c = 0; c < kCheckpoints; ++c) {
      s.mean_loss[c * count + i] = base[p] + slope[p] * static_cast<float>(c) + noise(rng);
      s.first[c * count + i] = s.mean_loss[c * count + i] + 0.1f + noise(rng);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 1;
  const int sources = argc > 3 ? std::stoi(argv[3]) : 4;
  const Synthetic s = generate(n, sources);
  std::vector<std::string> source_names, domain_names = {"math", "code"};
  for (int k = 0; k < sources; ++k) source_names.push_back("source" + std::to_string(k));
  sel::SelectOptions options;
  options.budget = std::max<int64_t>(1, n / 10);
  options.threads = threads;
  std::printf("N = %lld examples, %d sources, %lld checkpoints, %d thread(s)\n", static_cast<long long>(n), sources,
              static_cast<long long>(kCheckpoints), threads);

  auto start = curate::SteadyClock::now();
  const std::vector<uint8_t> filtered = sel::difficulty_filter(s.difficulty, s.source, sel::FilterOptions{});
  std::printf("filter   kmeans k=2 keep=1: %.2f s (%lld kept; not used below)\n", seconds_since(start),
              static_cast<long long>(std::count(filtered.begin(), filtered.end(), uint8_t{1})));

  // The per-source k-means of the temp method (features = mean_loss rows, k = n_source / per_cluster).
  double kmeans_seconds = 0;
  const double kmeans_cpu = process_cpu_seconds();
  int64_t clusters = 0;
  for (int k = 0; k < sources; ++k) {
    std::vector<float> features;
    for (int64_t i = 0; i < n; ++i) {
      if (s.source[static_cast<std::size_t>(i)] != k) continue;
      for (int64_t c = 0; c < kCheckpoints; ++c) features.push_back(s.mean_loss[static_cast<std::size_t>(c * n + i)]);
    }
    const auto rows = static_cast<int64_t>(features.size()) / kCheckpoints;
    sel::KMeansOptions kmeans_options;
    kmeans_options.k = std::max<int64_t>(1, rows / options.per_cluster);
    kmeans_options.init = options.init;
    kmeans_options.seed =
        curate::hash_seed(curate::hash_seed(options.seed, source_names[static_cast<std::size_t>(k)]), "kmeans");
    kmeans_options.threads = threads;
    start = curate::SteadyClock::now();
    const sel::KMeansResult fit = sel::kmeans(features, rows, kCheckpoints, kmeans_options);
    const double seconds = seconds_since(start);
    kmeans_seconds += seconds;
    clusters += kmeans_options.k;
    std::printf("kmeans   %s: %lld rows, k = %lld, init %s: %.2f s, %d iterations%s\n",
                source_names[static_cast<std::size_t>(k)].c_str(), static_cast<long long>(rows),
                static_cast<long long>(kmeans_options.k),
                sel::resolve_init(options.init, rows, kmeans_options.k).c_str(), seconds, fit.iterations,
                fit.converged ? " (converged)" : "");
  }
  std::printf("kmeans   all sources: k = %lld in total, %.2f s wall, %.2f s CPU\n", static_cast<long long>(clusters),
              kmeans_seconds, process_cpu_seconds() - kmeans_cpu);

  sel::SelectInput input;
  input.checkpoints = kCheckpoints;
  input.source = s.source;
  input.domain = s.domain;
  input.kept = s.kept;
  input.reasoning_tokens = s.reasoning;
  input.full_length = s.full;
  input.difficulty = s.difficulty;
  input.mean_loss = s.mean_loss;
  input.mean_loss_first = s.first;
  start = curate::SteadyClock::now();
  const double select_cpu = process_cpu_seconds();
  const sel::SelectResult result = sel::select(input, source_names, domain_names, options);
  std::printf("select   temp, budget %lld: %.2f s wall, %.2f s CPU (including its k-means), %zu selected\n",
              static_cast<long long>(options.budget.resolve(n)), seconds_since(start),
              process_cpu_seconds() - select_cpu, result.selected.size());
  std::printf("peak RSS %.0f MiB\n", peak_rss_mib());
  return 0;
}
