// Benchmark of rank 0's storage path and of the two reads of the compact profile (not a test).
//   store_bench DIR [KEPT=4096] [CHECKPOINTS=8] [TOKENS=1000] [UNIT=64] [TOKEN_LOSSES=float32] [FLUSH_UNITS=0]
// Write: a profile pass of KEPT examples (every other record of 2 x KEPT kept) stored unit by unit as
// the coordinator stores a result: prepared once in the file's precision (stored_unit.h), encoded and
// appended to the journal, then written into the HDF5 file (Fletcher-32 on every chunk); every FLUSH_UNITS units (0:
// once per second of writing, as with run.flush_seconds = 1) the journal is fsync'ed and the file flushed and fsync'ed.
// Prints units/s, loss bytes/s and rank 0's CPU per unit. Read: one example across the checkpoints ([C, 1, T] slab) for
// 256 random rows, one checkpoint's means ([1, K]), and the [C, N] table the selection builds. Reads come from the page
// cache (the file was just written): they measure HDF5 and checksums.

#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>

#include "curate/store/journal.h"
#include "curate/util/clock.h"
#include "curate/util/error.h"
#include "job/worker.h"
#include "results/journal_records.h"
#include "results/layout.h"
#include "results/run_file.h"

namespace {}  // namespace

int main(int argc, char** argv) {
  using namespace curate;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: store_bench DIR [KEPT] [CHECKPOINTS] [TOKENS] [UNIT] [float32|float16|none] [FLUSH_UNITS]\n");
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    const uint64_t kept = argc > 2 ? std::stoull(argv[2]) : 4096, records = 2 * kept;
    const int checkpoints = argc > 3 ? std::stoi(argv[3]) : 8;
    const int64_t tokens = argc > 4 ? std::stoll(argv[4]) : 1000, unit = argc > 5 ? std::stoll(argv[5]) : 64;
    const std::string precision = argc > 6 ? argv[6] : "float32";
    const int64_t flush_units = argc > 7 ? std::stoll(argv[7]) : 0;
    std::filesystem::create_directories(dir);
    const std::filesystem::path path = dir / "bench.h5", journal_path = dir / "bench.h5.journal";
    std::filesystem::remove(path), std::filesystem::remove(journal_path);

    service::PassPlan plan;
    plan.pass = service::Pass::kProfile, plan.tokens = tokens, plan.first_tokens = 100, plan.unit_examples = unit;
    for (int j = 1; j <= checkpoints; ++j) plan.slots.push_back({model::Family::kDirectional, j});
    for (uint64_t i = 0; i < kept; ++i) plan.positions.push_back(2 * i);
    plan.token_losses = service::parse_token_losses(precision);
    plan.cut_evenly();

    double write_seconds = 0, cpu = 0, payload = 0, prepare_cpu = 0, journal_cpu = 0, store_cpu = 0, sync_cpu = 0;
    int64_t units = 0;
    {
      store::Journal journal(journal_path);
      service::RunFile file(path, "bench", records);
      file.open_pass(plan);
      std::vector<service::UnitResult> results;  // built before the clock starts: workers make them
      for (int slot = 0; slot < checkpoints; ++slot) {
        for (int64_t u = 0; u < plan.units(); ++u) {
          service::UnitResult r;
          r.pass = service::Pass::kProfile, r.slot = slot, r.index = u, r.measure = 0.5 * slot;
          for (int64_t i = plan.bounds[static_cast<std::size_t>(u)]; i < plan.bounds[static_cast<std::size_t>(u) + 1];
               ++i) {
            service::ExampleResult e;
            e.line = static_cast<int64_t>(plan.positions[static_cast<std::size_t>(i)]) + 1;
            e.losses = service::fake_losses(e.line, plan.slots[static_cast<std::size_t>(slot)], tokens);
            payload += static_cast<double>(e.losses.size() * sizeof(float));
            r.examples.push_back(std::move(e));
          }
          results.push_back(std::move(r));
        }
      }
      const auto start = SteadyClock::now();
      const double cpu_start = process_cpu_seconds();
      auto last_flush = start;
      for (const service::UnitResult& r : results) {
        double t0 = thread_cpu_seconds();
        const service::StoredUnit stored = service::prepare(plan, r);  // as ResultSink's writer: once, for both
        const double t1 = thread_cpu_seconds();
        journal.append(service::stored_record(stored));  // the journal first, then the file
        const double t2 = thread_cpu_seconds();
        file.store(plan, stored);
        const double t3 = thread_cpu_seconds();
        prepare_cpu += t1 - t0, journal_cpu += t2 - t1, store_cpu += t3 - t2;
        ++units;
        if (flush_units > 0 ? units % flush_units == 0 : seconds_since(last_flush) >= 1.0) {
          t0 = thread_cpu_seconds();
          journal.sync();
          file.flush();
          sync_cpu += thread_cpu_seconds() - t0;
          last_flush = SteadyClock::now();
        }
      }
      journal.sync();
      file.flush();
      write_seconds = seconds_since(start);
      cpu = process_cpu_seconds() - cpu_start;
    }
    const double file_mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    const double journal_mb = static_cast<double>(std::filesystem::file_size(journal_path)) / 1e6;
    std::printf("write: %lld units of %lld examples x %lld tokens (%s), %d checkpoints: %.2f s wall, %.2f s CPU\n",
                static_cast<long long>(units), static_cast<long long>(unit), static_cast<long long>(tokens),
                precision.c_str(), checkpoints, write_seconds, cpu);
    std::printf(
        "  %.0f units/s, %.2f ms CPU per unit; losses received %.1f MB/s; file %.1f MB, journal %.1f MB "
        "(%.1f MB/s written in all)\n",
        static_cast<double>(units) / write_seconds, 1e3 * cpu / static_cast<double>(units),
        payload / 1e6 / write_seconds, file_mb, journal_mb, (file_mb + journal_mb) / write_seconds);

    std::printf(
        "  CPU per unit: prepare (means, NaN flags, float16 rounding) %.3f ms, journal (encode, CRC-32, write) "
        "%.3f ms, HDF5 store (Fletcher-32, write) %.3f ms, flushes and fsyncs %.3f ms\n",
        1e3 * prepare_cpu / static_cast<double>(units), 1e3 * journal_cpu / static_cast<double>(units),
        1e3 * store_cpu / static_cast<double>(units), 1e3 * sync_cpu / static_cast<double>(units));

    const store::H5File file = store::H5File::open(path, false);
    const std::string losses_path = service::layout::path(service::Pass::kProfile, service::layout::dataset::kLosses);
    const std::string means_path = service::layout::path(service::Pass::kProfile, service::layout::dataset::kMeanLoss);
    std::mt19937_64 rng(1);
    if (file.exists(losses_path)) {
      const auto chunk = file.chunk(losses_path);
      const auto start = SteadyClock::now();
      constexpr int kRows = 256;
      double sum = 0;
      for (int i = 0; i < kRows; ++i) {
        const uint64_t row = std::uniform_int_distribution<uint64_t>(0, kept - 1)(rng);
        const auto values = file.read_f32(losses_path, {0, row, 0},
                                          {static_cast<uint64_t>(checkpoints), 1, static_cast<uint64_t>(tokens)});
        sum += values[0];
      }
      std::printf(
          "read one example across %d checkpoints ([C, 1, T], chunks [1, %llu, %llu]): %.3f ms each (checksum %.3g)\n",
          checkpoints, static_cast<unsigned long long>(chunk.at(1)), static_cast<unsigned long long>(chunk.at(2)),
          1e3 * seconds_since(start) / kRows, sum);
    }
    auto start = SteadyClock::now();
    for (int c = 0; c < checkpoints; ++c) file.read_f32(means_path, {static_cast<uint64_t>(c), 0}, {1, kept});
    std::printf("read one checkpoint's means ([1, K] of %llu, chunks [1, %llu]): %.3f ms each\n",
                static_cast<unsigned long long>(kept), static_cast<unsigned long long>(file.chunk(means_path).at(1)),
                1e3 * seconds_since(start) / checkpoints);
    start = SteadyClock::now();
    const auto table = service::layout::read_profile_table(file, service::layout::dataset::kMeanLoss, records);
    std::printf("read the [C, N] mean table (%zu values): %.3f ms\n", table.size(), 1e3 * seconds_since(start));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_bench: %s\n", e.what());
    return 1;
  }
}
