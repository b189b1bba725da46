#include "curate/service/job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include "curate/data/dataset.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "run_file.h"
#include "worker.h"

namespace curate::service {
namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> stop_requested{false};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The calibration sample: `count` record positions drawn without replacement by the run seed.
std::vector<uint64_t> calibration_sample(uint64_t records, int64_t count, uint64_t seed) {
  std::vector<uint64_t> all(records);
  std::iota(all.begin(), all.end(), 0);
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i + 1 < records; ++i) {  // Fisher-Yates, portable (std::shuffle is not)
    std::swap(all[i], all[i + std::uniform_int_distribution<uint64_t>(0, records - 1 - i)(rng)]);
  }
  all.resize(std::min<uint64_t>(records, static_cast<uint64_t>(count)));
  std::sort(all.begin(), all.end());
  return all;
}

class Coordinator {
 public:
  Coordinator(const Options& options, const dist::Comm& comm, uint64_t records)
      : options_(options), comm_(comm), file_(options.run.output, fingerprint(options), records, options.run.fresh), records_(records) {
    if (comm.size() == 1) local_ = std::make_unique<Worker>(options);
  }

  void run() {
    const std::string& stage = options_.run.stage;
    if (stage == "all" || stage == "difficulty") run_pass(difficulty_plan(gaussian_checkpoint()));
    if (stage == "all" || stage == "profile") run_pass(profile_plan());
    finish();
  }

  // Tells every worker to exit (after a failure, the busy ones are ended by MPI_Abort instead).
  void finish() {
    for (int rank : idle_) comm_.send(rank, kStop, {});
    idle_.clear();
  }
  bool workers_busy() const { return !busy_.empty(); }

 private:
  struct Busy {
    Unit unit;
    Clock::time_point since;
  };

  PassPlan plan(std::string name, std::string group, std::vector<model::CheckpointKey> slots, int64_t tokens,
                std::vector<uint64_t> positions) const {
    PassPlan p;
    p.name = std::move(name);
    p.group = std::move(group);
    p.slots = std::move(slots);
    p.tokens = tokens;
    p.first_tokens = options_.pass.difficulty_tokens;
    p.positions = std::move(positions);
    p.unit_examples = options_.pass.unit_examples;
    return p;
  }
  std::vector<uint64_t> all_records() const {
    std::vector<uint64_t> all(records_);
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  PassPlan difficulty_plan(int checkpoint) const {
    return plan("difficulty", "/difficulty", {{model::Family::kGaussian, checkpoint}},
                options_.pass.difficulty_tokens, all_records());
  }
  PassPlan profile_plan() const {
    const bool directional = !options_.run.finetuned.empty();
    const int n = directional ? options_.engine.perturb.directional_checkpoints : options_.engine.perturb.gaussian_checkpoints;
    std::vector<model::CheckpointKey> slots;
    for (int j = 1; j <= n; ++j) slots.push_back({directional ? model::Family::kDirectional : model::Family::kGaussian, j});
    return plan("profile", "/profile", slots, options_.pass.profile_tokens, all_records());
  }

  // The Gaussian checkpoint of the difficulty pass: fixed, stored by an earlier calibration, or calibrated now.
  int gaussian_checkpoint() {
    if (options_.pass.gaussian_checkpoint > 0) return options_.pass.gaussian_checkpoint;
    store::H5File& f = file_.file();
    if (f.exists("/calibration/ratio")) return static_cast<int>(f.int_attribute("/calibration", "chosen"));
    std::vector<model::CheckpointKey> slots = {{model::Family::kBase, 0}};
    for (int j = 1; j <= options_.engine.perturb.gaussian_checkpoints; ++j) slots.push_back({model::Family::kGaussian, j});
    const PassPlan calibration = plan("calibration", "/calibration", slots, options_.pass.difficulty_tokens,
                                      calibration_sample(records_, options_.pass.calibration_samples, options_.run.seed));
    run_pass(calibration);
    return choose_checkpoint(calibration);
  }

  // Mean over the sample of each checkpoint's per-example mean loss; the first checkpoint whose ratio to
  // the base model falls in [low, high] wins, else the one closest to the middle of the range.
  int choose_checkpoint(const PassPlan& calibration) {
    store::H5File& f = file_.file();
    const std::vector<float> loss = f.read_f32("/calibration/loss");
    const std::size_t slots = calibration.slots.size();
    std::vector<float> means(slots), ratios(slots);
    const std::size_t rows = loss.size() / slots;
    for (std::size_t c = 0; c < slots; ++c) {
      double sum = 0;
      int64_t n = 0;
      for (std::size_t row = 0; row < rows; ++row) {
        // Only examples scored at every checkpoint count, so that all means cover the same examples.
        bool complete = true;
        for (std::size_t k = 0; k < slots; ++k) complete = complete && std::isfinite(loss[k * rows + row]);
        if (complete) sum += loss[c * rows + row], ++n;
      }
      if (n == 0) throw DataError("calibration: no example of the sample has reasoning tokens to score; check the dataset");
      means[c] = static_cast<float>(sum / n);
    }
    const double low = options_.pass.calibration_low, high = options_.pass.calibration_high, middle = (low + high) / 2;
    std::string table = "calibration (mean loss of the first " + std::to_string(calibration.tokens) + " tokens):";
    for (std::size_t c = 0; c < slots; ++c) {
      ratios[c] = means[c] / means[0];
      table += cat("\n  ", model::describe(calibration.slots[c]), ": mean ", means[c], ", ratio ", ratios[c]);
    }
    int chosen = 0;
    for (std::size_t c = 1; c < slots && chosen == 0; ++c) {
      if (ratios[c] >= low && ratios[c] <= high) chosen = static_cast<int>(c);
    }
    for (std::size_t c = 1; c < slots && !(ratios[chosen] >= low && ratios[chosen] <= high); ++c) {
      if (chosen == 0 || std::abs(ratios[c] - middle) < std::abs(ratios[chosen] - middle)) chosen = static_cast<int>(c);
    }
    f.create_f32("/calibration/mean_loss", {slots}, {slots});
    f.write("/calibration/mean_loss", {0}, {slots}, std::span<const float>(means));
    f.create_f32("/calibration/ratio", {slots}, {slots});
    f.write("/calibration/ratio", {0}, {slots}, std::span<const float>(ratios));
    f.set_attribute("/calibration", "chosen", static_cast<int64_t>(chosen));
    f.set_attribute("/calibration", "table", table);
    f.flush();
    log::info(table + cat("\n  chosen: gaussian ", chosen, " (wanted ratio ", low, "-", high, ")"));
    return chosen;
  }

  void run_pass(const PassPlan& p) {
    std::vector<uint8_t> done = file_.open_pass(p);
    const int64_t units = p.units();
    std::deque<Unit> pending;
    for (std::size_t slot = 0; slot < p.slots.size(); ++slot) {
      for (int64_t u = 0; u < units; ++u) {
        if (done[slot * static_cast<std::size_t>(units) + static_cast<std::size_t>(u)]) continue;
        Unit unit{pass_id_, static_cast<int32_t>(slot), u, p.slots[slot], p.tokens, {}};
        const auto first = static_cast<std::size_t>(u * p.unit_examples);
        const auto last = std::min(p.positions.size(), first + static_cast<std::size_t>(p.unit_examples));
        unit.positions.assign(p.positions.begin() + static_cast<std::ptrdiff_t>(first),
                              p.positions.begin() + static_cast<std::ptrdiff_t>(last));
        pending.push_back(std::move(unit));
      }
    }
    const int64_t total = static_cast<int64_t>(p.slots.size()) * units;
    const int64_t already = total - static_cast<int64_t>(pending.size());
    log::info(cat(p.name, " pass: ", p.slots.size(), " checkpoint(s) x ", units, " units of ", p.unit_examples,
                  " examples, ", p.tokens, " tokens each", already ? cat("; resuming, ", already, " units already stored") : ""));
    int64_t stored = 0, examples = 0, tokens = 0;
    const auto start = Clock::now();
    auto last_report = start, last_flush = start;
    auto store = [&](const UnitResult& result) {
      if (result.pass != pass_id_) throw DistError(cat("result of pass ", result.pass, " arrived during pass ", pass_id_));
      file_.store(p, result);
      ++stored;
      examples += static_cast<int64_t>(result.examples.size());
      for (const auto& e : result.examples) tokens += static_cast<int64_t>(e.losses.size());
    };
    while (!pending.empty() || !busy_.empty()) {
      if (stop_requested && !pending.empty()) {
        log::warn(cat("stop requested: waiting for ", busy_.size(), " unit(s) in flight, then saving"));
        pending.clear();
      }
      if (local_) {
        if (pending.empty()) break;
        store(local_->process(pending.front()));
        pending.pop_front();
      } else {
        assign(pending);
        if (auto message = comm_.receive(0.25)) handle(*message, store);
        check_timeouts();
      }
      if (seconds_since(last_flush) > options_.run.flush_seconds) file_.flush(), last_flush = Clock::now();
      if (seconds_since(last_report) > options_.run.progress_seconds) {
        last_report = Clock::now();
        const double elapsed = seconds_since(start), rate = stored / std::max(elapsed, 1e-9);
        const int64_t left = total - already - stored;
        log::info(cat(p.name, ": ", already + stored, "/", total, " units (", 100 * (already + stored) / std::max<int64_t>(total, 1),
                      "%), ", static_cast<int64_t>(examples / elapsed), " examples/s, ", static_cast<int64_t>(tokens / elapsed),
                      " scored tokens/s, ETA ", format_seconds(left / std::max(rate, 1e-9))));
      }
    }
    file_.flush();
    ++pass_id_;
    if (stop_requested) throw Interrupted();
    log::info(cat(p.name, " pass done: ", stored, " units, ", examples, " examples, ", tokens, " tokens in ",
                  format_seconds(seconds_since(start))));
  }

  void assign(std::deque<Unit>& pending) {
    for (auto it = idle_.begin(); it != idle_.end() && !pending.empty();) {
      const int rank = *it;
      // Prefer a unit at the checkpoint this worker holds: rebuilding a checkpoint costs a model load.
      auto match = std::find_if(pending.begin(), pending.end(), [&](const Unit& u) {
        auto held = held_.find(rank);
        return held != held_.end() && u.checkpoint == held->second;
      });
      if (match == pending.end()) match = pending.begin();
      dist::Writer writer;
      encode(writer, *match);
      comm_.send(rank, kUnit, writer.bytes());
      held_[rank] = match->checkpoint;
      busy_[rank] = {std::move(*match), Clock::now()};
      pending.erase(match);
      it = idle_.erase(it);
    }
  }

  template <typename Store>
  void handle(const dist::Message& message, Store& store) {
    dist::Reader reader(message.data);
    if (message.tag == kFailure) throw DistError(reader.get_string());
    if (message.tag == kResult) {
      store(decode_result(reader));
      busy_.erase(message.source);
    } else if (message.tag != kRequest) {
      throw DistError(cat("unexpected message tag ", message.tag, " from rank ", message.source));
    }
    idle_.push_back(message.source);
  }

  void check_timeouts() const {
    for (const auto& [rank, busy] : busy_) {
      if (seconds_since(busy.since) > options_.run.worker_timeout) {
        throw DistError(cat("rank ", rank, " has not answered for ", options_.run.worker_timeout, " s on ",
                            model::describe(busy.unit.checkpoint), " unit ", busy.unit.index,
                            " (hung or dead); raise run.worker_timeout if units are that slow"));
      }
    }
  }

  const Options& options_;
  const dist::Comm& comm_;
  RunFile file_;
  uint64_t records_;
  std::unique_ptr<Worker> local_;
  int32_t pass_id_ = 0;
  std::vector<int> idle_;
  std::map<int, Busy> busy_;
  std::map<int, model::CheckpointKey> held_;
};

}  // namespace

void request_stop() noexcept { stop_requested = true; }

void run_job(const Options& options, const dist::Comm& comm) {
  uint64_t records = 0;
  std::string failure;
  if (comm.rank() == 0) {  // index once; workers read the cache
    try {
      const auto start = Clock::now();
      records = data::load_or_build_index(options.run.dataset, index_cache_path(options)).size();
      log::info(cat("dataset ", options.run.dataset, ": ", records, " records (indexed in ", format_seconds(seconds_since(start)),
                    "); ", comm.size(), " rank(s), ", std::max(1, comm.size() - 1), " worker(s)"));
      if (records == 0) failure = "dataset " + options.run.dataset + " has no records";
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  failure = comm.broadcast(failure);
  if (!failure.empty()) {
    if (comm.rank() == 0) throw DataError(failure);
    return;  // rank 0 reports it
  }
  if (comm.rank() != 0) {
    std::unique_ptr<Worker> worker;
    try {
      worker = std::make_unique<Worker>(options);
    } catch (const std::exception& e) {
      dist::Writer message;
      message.put(std::string(cat("rank ", comm.rank(), " cannot start: ", e.what())));
      comm.send(0, kFailure, message.bytes());
      throw;
    }
    worker->serve(comm);
    return;
  }
  Coordinator coordinator(options, comm, records);
  try {
    coordinator.run();
  } catch (const Interrupted&) {
    coordinator.finish();
    throw;
  } catch (const Error& e) {
    log::error(e.what());
    if (coordinator.workers_busy()) comm.abort(e.exit_code());  // busy workers would wait forever
    coordinator.finish();
    throw;
  }
}

}  // namespace curate::service
