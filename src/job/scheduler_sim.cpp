// Rank 0 with thousands of workers, simulated in one process (a benchmark, not a test):
//   scheduler_sim [--workers 1,4,...,4096] [--examples N] [--pass difficulty|profile] ...
// Drives the real Scheduler, with the coordinator's loop (step, check_timeouts, a progress line every
// 10 s), through a simulated WorkerLink on a virtual clock. Workers start after a model load, score a
// unit in (its forward tokens / the GPU's tokens per second) × log-normal jitter (× a slowdown for
// stragglers), pay a checkpoint switch when a unit's checkpoint differs from the one they hold, and
// return a UnitResult of the real size (encoded as a worker encodes it; rank 0 decodes it for real).
// Rank 0's own work (the Scheduler's bookkeeping, encoding units, decoding results) is timed on the
// thread's CPU clock and advances the virtual clock, so a saturated rank 0 slows the simulated pass as
// it would a real one. The storage of results is not simulated (the result sink's costs are measured
// by store_bench). A failed worker ends the job as in a real run (kFailure): the simulated operator
// resumes it at once; units in flight are lost and redone, and the restart costs --restart-seconds.
// Prints one JSON line per worker count, then a Markdown table.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "curate/util/clock.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "job/scheduler.h"

namespace {

using namespace curate;
using namespace curate::service;

struct Settings {
  std::vector<int> workers = {1, 4, 16, 64, 256, 1024, 2048, 4096};
  int64_t examples = 200000;         // records of the pass
  int64_t unit_examples = 64;        // pass.unit_examples
  int checkpoints = 1;               // checkpoints of the pass (profile: 8 directional)
  int64_t scored_tokens = 100;       // scored reasoning tokens per example (losses returned)
  int64_t prompt_tokens = 300;       // mean prompt tokens per example (forwarded, not returned)
  double tokens_per_second = 35000;  // one GPU's forward tokens/s ([plan] gpu_tokens_per_second, 7B bf16)
  double jitter = 0.15;              // log-normal sigma of a unit's time
  double straggler_fraction = 0.01;  // workers that run slower
  double straggler_slowdown = 3;     // ... by this factor
  double load_seconds = 60;          // model load before a worker's first request
  double switch_seconds = 8;         // regenerating another perturbed checkpoint in memory
  int failures = 0;                  // worker failures at random times (each ends the job; resumed)
  double restart_seconds = 120;      // relaunch + model load after a failure
  double worker_timeout = 1800;
  uint64_t seed = 1;
};

// Workers on a virtual clock. Each holds the units sent to it in order (its MPI receive queue).
class SimLink final : public WorkerLink {
 public:
  SimLink(const Settings& s, int workers, double start, std::mt19937_64& rng, std::vector<double> fail_at)
      : s_(s),
        workers_(workers),
        now_(start),
        rng_(rng),
        free_at_(static_cast<std::size_t>(workers) + 1, 0),
        held_(static_cast<std::size_t>(workers) + 1, -1),
        slow_(static_cast<std::size_t>(workers) + 1, 1.0),
        fail_at_(std::move(fail_at)) {
    std::uniform_real_distribution<double> u(0, 1);
    for (int r = 1; r <= workers; ++r) {
      if (u(rng_) < s.straggler_fraction) slow_[static_cast<std::size_t>(r)] = s.straggler_slowdown;
      const double ready = start + s.load_seconds * (0.9 + 0.2 * u(rng_));
      free_at_[static_cast<std::size_t>(r)] = ready;
      events_.push({ready, r, kRequest, -1});
    }
    std::sort(fail_at_.begin(), fail_at_.end());
  }

  int workers() const override { return workers_; }
  void send_unit(int rank, std::vector<std::byte> bytes) override {
    const double t0 = thread_cpu_seconds();
    comm::Reader reader(bytes);
    Unit unit = decode_unit(reader);
    const auto r = static_cast<std::size_t>(rank);
    // The worker starts it when free; a switch of checkpoint costs a regeneration.
    const int checkpoint = unit.checkpoint.index;
    double start = std::max(now_, free_at_[r]);
    if (held_[r] != checkpoint) start += held_[r] < 0 ? 0 : s_.switch_seconds, held_[r] = checkpoint;
    const double tokens =
        static_cast<double>(unit.positions.size()) * static_cast<double>(s_.prompt_tokens + s_.scored_tokens);
    std::lognormal_distribution<double> jitter(0, s_.jitter);
    const double done = start + tokens / s_.tokens_per_second * jitter(rng_) * slow_[r];
    free_at_[r] = done;
    if (!fail_at_.empty() && fail_at_.front() < done) {  // this worker dies while scoring it
      events_.push({std::max(fail_at_.front(), start), rank, kFailure, unit.index});
      fail_at_.erase(fail_at_.begin());
      free_at_[r] = 1e300;
    } else {
      events_.push({done, rank, kResult, unit.index});
    }
    units_[{rank, unit.index}] = std::move(unit);
    link_seconds_ += thread_cpu_seconds() - t0;
  }
  void send_stop(int, bool) override {}
  std::optional<comm::Message> receive(double timeout_seconds) override {
    if (events_.empty() || events_.top().time > now_ + timeout_seconds) {
      now_ += timeout_seconds;
      return std::nullopt;
    }
    const double t0 = thread_cpu_seconds();
    const Event e = events_.top();
    events_.pop();
    now_ = std::max(now_, e.time);
    comm::Message m{e.rank, e.tag, {}};
    comm::Writer w;
    if (e.tag == kResult) {
      const auto it = units_.find({e.rank, e.unit});
      encode(w, result_of(it->second));
      units_.erase(it);
      m.data = std::move(w.bytes());
    } else if (e.tag == kFailure) {
      encode(w, Failure{kExitDist, cat("rank ", e.rank, " failed (simulated)")});
      m.data = std::move(w.bytes());
    }
    link_seconds_ += thread_cpu_seconds() - t0;
    return m;
  }

  double now() const { return now_; }
  // Rank 0's own CPU time advances the clock.
  void advance(double seconds) { now_ += seconds; }
  double link_seconds() const { return link_seconds_; }
  int64_t remaining_failures() const { return static_cast<int64_t>(fail_at_.size()); }
  std::vector<double> take_failures() { return std::move(fail_at_); }

 private:
  struct Event {
    double time;
    int rank, tag;
    int64_t unit;
    bool operator>(const Event& o) const { return time > o.time; }
  };
  UnitResult result_of(const Unit& unit) const {
    UnitResult r{unit.pass, unit.slot, unit.index, 0, {}};
    r.examples.resize(unit.positions.size());
    for (std::size_t i = 0; i < unit.positions.size(); ++i) {
      ExampleResult& e = r.examples[i];
      e.line = static_cast<int64_t>(unit.positions[i]) + 1;
      e.id = std::to_string(e.line), e.source = "source", e.domain = "domain";
      e.prompt_tokens = s_.prompt_tokens, e.reasoning_tokens = 2 * s_.scored_tokens, e.full_length = 1000;
      e.losses.assign(static_cast<std::size_t>(s_.scored_tokens), 1.5f);
    }
    return r;
  }

  const Settings& s_;
  int workers_;
  double now_;
  std::mt19937_64& rng_;
  std::vector<double> free_at_;
  std::vector<int> held_;
  std::vector<double> slow_;
  std::vector<double> fail_at_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<std::pair<int, int64_t>, Unit> units_;
  double link_seconds_ = 0;
};

struct Outcome {
  int workers = 0;
  int64_t units = 0, redone = 0, restarts = 0;
  double wall = 0, ideal = 0, rank0_cpu = 0;  // ideal: load + work / workers, no rank 0, jitter or failure
};

std::vector<Unit> make_units(const Settings& s) {
  std::vector<Unit> units;
  int64_t index = 0;
  for (int c = 0; c < s.checkpoints; ++c) {
    for (int64_t first = 0; first < s.examples; first += s.unit_examples) {
      Unit u{Pass::kProfile, c, index++, {model::Family::kDirectional, c + 1}, s.scored_tokens, {}};
      for (int64_t i = first; i < std::min(s.examples, first + s.unit_examples); ++i)
        u.positions.push_back(static_cast<uint64_t>(i));
      units.push_back(std::move(u));
    }
  }
  return units;
}

Outcome simulate(const Settings& s, int workers) {
  std::mt19937_64 rng(s.seed * 7919 + static_cast<uint64_t>(workers));
  std::vector<Unit> todo = make_units(s);
  Outcome out{workers, static_cast<int64_t>(todo.size())};
  const double work = static_cast<double>(s.examples) * s.checkpoints *
                      static_cast<double>(s.prompt_tokens + s.scored_tokens) / s.tokens_per_second;
  out.ideal = s.load_seconds + work / workers;
  std::vector<double> failures;
  std::uniform_real_distribution<double> when(s.load_seconds, out.ideal);
  for (int f = 0; f < s.failures; ++f) failures.push_back(when(rng));
  double start = 0;
  while (true) {
    SimLink link(s, workers, start, rng, failures);
    Scheduler scheduler(link, s.worker_timeout, [&link] { return link.now(); });
    std::map<int64_t, Unit> pending;
    for (Unit& u : todo) pending.emplace(u.index, u), scheduler.add(std::move(u));
    todo.clear();
    const auto store = [&](const UnitResult& r) { pending.erase(r.index); };
    double last_progress = link.now();
    try {
      while (scheduler.pending() > 0 || scheduler.workers_busy()) {
        const double cpu0 = thread_cpu_seconds(), link0 = link.link_seconds();
        scheduler.step(0.25, store);
        scheduler.check_timeouts();
        if (link.now() - last_progress >= 10) (void)scheduler.slowest_rank(), last_progress = link.now();
        const double own = (thread_cpu_seconds() - cpu0) - (link.link_seconds() - link0);
        out.rank0_cpu += own;
        link.advance(own);
      }
      out.wall = link.now();
      return out;
    } catch (const Error&) {  // a worker failed: the job ends; resume what is not stored
      ++out.restarts;
      out.redone += static_cast<int64_t>(scheduler.in_flight());
      for (auto& [index, unit] : pending) todo.push_back(std::move(unit));
      failures = link.take_failures();
      start = link.now() + s.restart_seconds;
    }
  }
}

std::vector<int> parse_counts(const std::string& text) {
  std::vector<int> counts;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    counts.push_back(std::stoi(text.substr(at, comma - at)));
    at = comma + 1;
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--workers")
      s.workers = parse_counts(value);
    else if (key == "--examples")
      s.examples = std::stoll(value);
    else if (key == "--checkpoints")
      s.checkpoints = std::stoi(value);
    else if (key == "--scored")
      s.scored_tokens = std::stoll(value);
    else if (key == "--prompt")
      s.prompt_tokens = std::stoll(value);
    else if (key == "--tokens-per-second")
      s.tokens_per_second = std::stod(value);
    else if (key == "--stragglers")
      s.straggler_fraction = std::stod(value);
    else if (key == "--failures")
      s.failures = std::stoi(value);
    else if (key == "--switch-seconds")
      s.switch_seconds = std::stod(value);
    else if (key == "--load-seconds")
      s.load_seconds = std::stod(value);
    else if (key == "--seed")
      s.seed = std::stoull(value);
    else {
      std::fprintf(stderr, "scheduler_sim: unknown option %s (see the comment at the top of scheduler_sim.cpp)\n",
                   key.c_str());
      return 2;
    }
  }
  std::vector<Outcome> rows;
  for (int w : s.workers) {
    rows.push_back(simulate(s, w));
    const Outcome& o = rows.back();
    std::printf(
        "{\"workers\": %d, \"units\": %lld, \"wall_s\": %.1f, \"ideal_s\": %.1f, \"efficiency\": %.3f, "
        "\"rank0_cpu_s\": %.3f, \"rank0_us_per_unit\": %.1f, \"rank0_busy\": %.4f, \"restarts\": %lld, "
        "\"redone_units\": %lld}\n",
        o.workers, static_cast<long long>(o.units), o.wall, o.ideal, o.ideal / o.wall, o.rank0_cpu,
        1e6 * o.rank0_cpu / static_cast<double>(o.units + o.redone), o.rank0_cpu / o.wall,
        static_cast<long long>(o.restarts), static_cast<long long>(o.redone));
    std::fflush(stdout);
  }
  std::printf("\n| workers | units | wall (s) | ideal (s) | efficiency | rank 0 CPU per unit | rank 0 busy |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Outcome& o : rows) {
    std::printf("| %d | %lld | %.0f | %.0f | %.2f | %.0f µs | %.1f%% |\n", o.workers, static_cast<long long>(o.units),
                o.wall, o.ideal, o.ideal / o.wall, 1e6 * o.rank0_cpu / static_cast<double>(o.units + o.redone),
                100 * o.rank0_cpu / o.wall);
  }
  return 0;
}
