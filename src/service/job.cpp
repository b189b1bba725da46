#include "curate/service/job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "curate/data/dataset.h"
#include "curate/service/preflight.h"
#include "curate/store/journal.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "output_plan.h"
#include "reduce.h"
#include "run_file.h"
#include "selection_outputs.h"
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

// Stable codes of the passes in journal records and messages.
int32_t pass_code(const std::string& name) { return name == "calibration" ? 0 : name == "difficulty" ? 1 : 2; }

class Coordinator {
 public:
  Coordinator(const Options& options, const dist::Comm& comm, uint64_t records)
      : options_(options),
        comm_(comm),
        lock_(options.run.output + ".lock"),
        print_(fingerprint(options)),
        output_plan_(prepare_output(options, print_, records)),
        journal_(apply_output_plan(options, output_plan_)),
        journal_started_(start_journal()),
        file_(options.run.output, print_, records),
        records_(records) {
    if (comm.size() == 1) local_ = std::make_unique<Worker>(options);
  }

  void run() {
    const Stage stage = options_.run.stage;
    if (scores_difficulty(stage)) run_pass(difficulty_plan(gaussian_checkpoint()));
    if (scores_profile(stage)) run_pass(profile_plan());
    finish(/*then_select=*/stage == Stage::kAll);
    file_.flush();
  }

  // Tells every worker to exit once it holds no unit; a worker that got no unit (a resumed run with
  // nothing left) is still waited for, up to run.worker_timeout. Needs no unit in flight.
  void finish(bool then_select = false) {
    const std::byte flag{static_cast<unsigned char>(then_select ? 1 : 0)};
    auto stop = [&](int rank) {
      comm_.send(rank, kStop, std::span<const std::byte>(&flag, 1));
      stopped_.insert(rank);
    };
    for (int rank : ready_) {
      if (!stopped_.count(rank) && busy_[rank].empty()) stop(rank);
    }
    ready_.clear();
    const auto start = Clock::now();
    while (static_cast<int>(stopped_.size()) < comm_.size() - 1) {
      auto message = comm_.receive(0.25);
      if (!message) {
        if (seconds_since(start) > options_.run.worker_timeout) {
          throw DistError(cat(comm_.size() - 1 - static_cast<int>(stopped_.size()), " worker(s) never asked for work within ",
                              options_.run.worker_timeout, " s; raise run.worker_timeout if loading is that slow"));
        }
        continue;
      }
      dist::Reader reader(message->data);
      if (message->tag == kFailure) throw DistError(reader.get_string());
      if (message->tag != kRequest) throw DistError(cat("unexpected message tag ", message->tag, " from rank ", message->source));
      stop(message->source);
    }
  }
  // Flushes and fsyncs the file, then records in the journal that it is whole: the next run may
  // trust it. Called when the run ends by a signal or an error; a kill -9 never gets here.
  void seal() {
    checkpoint();
    const std::byte mark{'C'};
    journal_.append(std::span<const std::byte>(&mark, 1));
    journal_.sync();
  }

  bool workers_busy() const {
    return std::any_of(busy_.begin(), busy_.end(), [](const auto& entry) { return !entry.second.empty(); });
  }

 private:
  struct Busy {
    Unit unit;
    Clock::time_point since;  // when the worker started it (assigned, or its previous unit returned)
  };
  // Units a worker holds at once: the next one waits in its MPI receive queue while it scores the
  // current one, so a worker never waits for a round trip to rank 0.
  static constexpr int kUnitsPerWorker = 2;
  struct RankRate {
    int64_t tokens = 0;
    double seconds = 0;
  };

  // Writes the header of a new journal; synced before the result file is created or changed, so that
  // a kill never leaves a result file that no journal describes.
  bool start_journal() {
    if (!output_plan_.new_journal) return false;
    dist::Writer header;
    header.put<char>(output_plan_.snapshot ? 'B' : 'F');
    const auto* text = reinterpret_cast<const std::byte*>(print_.data());
    header.bytes().insert(header.bytes().end(), text, text + print_.size());
    journal_.append(header.bytes());
    journal_.sync();
    return true;
  }

  void checkpoint() {
    journal_.sync();
    file_.flush();
  }

  // Stores a result: first in the journal (one write), then in the HDF5 file (data, then its done flag).
  void keep(const PassPlan& p, const UnitResult& result) {
    dist::Writer record;
    record.put<char>('U');
    encode(record, result);
    journal_.append(record.bytes());
    file_.store(p, result);
  }

  // Folds into the HDF5 file the journal's units of pass `p` that it lacks (all of them when the file
  // is being rebuilt), and marks them done.
  int64_t replay(const PassPlan& p, std::vector<uint8_t>& done) {
    int64_t replayed = 0;
    const int64_t units = p.units();
    store::Journal::read(journal_.path(), [&](std::span<const std::byte> record) {
      if (record.empty() || record[0] != std::byte{'U'}) return;
      dist::Reader reader(record.subspan(1));
      const UnitResult result = decode_result(reader);
      if (result.pass != pass_code(p.name) || result.slot < 0 || result.slot >= static_cast<int32_t>(p.slots.size()) ||
          result.index < 0 || result.index >= units) {
        return;
      }
      uint8_t& flag = done[static_cast<std::size_t>(result.slot) * static_cast<std::size_t>(units) + static_cast<std::size_t>(result.index)];
      if (flag) return;
      file_.store(p, result);
      flag = 1;
      ++replayed;
    });
    if (replayed) {
      checkpoint();
      log::info(cat(p.name, ": ", replayed, " unit(s) restored from the journal"));
    }
    return replayed;
  }

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
    p.token_losses = options_.store.token_losses;
    p.cut_evenly();
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
  // The examples the difficulty filter keeps, at every profile checkpoint, in units of about equal
  // cost (prompt + scored reasoning tokens, known from the difficulty pass).
  PassPlan profile_plan() {
    const bool directional = !options_.engine.target.empty();
    const int n = directional ? options_.engine.perturb.directional_checkpoints : options_.engine.perturb.gaussian_checkpoints;
    std::vector<model::CheckpointKey> slots;
    for (int j = 1; j <= n; ++j) slots.push_back({directional ? model::Family::kDirectional : model::Family::kGaussian, j});
    PassPlan p = plan("profile", "/profile", slots, options_.pass.profile_tokens,
                      apply_difficulty_filter(file_.file(), options_.filter, records_));
    const std::vector<int64_t> prompt = file_.file().read_i64("/examples/prompt_tokens");
    const std::vector<int64_t> reasoning = file_.file().read_i64("/examples/reasoning_tokens");
    std::vector<int64_t> cost;
    for (uint64_t i : p.positions) cost.push_back(prompt[i] + std::min(reasoning[i], p.tokens));
    p.cut_by_cost(cost);
    return p;
  }

  // The Gaussian checkpoint of the difficulty pass: fixed, stored by an earlier calibration, or calibrated now.
  int gaussian_checkpoint() {
    if (options_.pass.gaussian_checkpoint > 0) return options_.pass.gaussian_checkpoint;
    store::H5File& f = file_.file();
    if (f.exists("/calibration/ratio")) return static_cast<int>(f.int_attribute("/calibration", "chosen"));
    std::vector<model::CheckpointKey> slots = {{model::Family::kBase, 0}};
    for (int j = 1; j <= options_.engine.perturb.gaussian_checkpoints; ++j) slots.push_back({model::Family::kGaussian, j});
    const PassPlan calibration = plan("calibration", "/calibration", slots, options_.pass.difficulty_tokens,
                                      calibration_sample(records_, options_.pass.calibration_samples, options_.engine.perturb.seed));
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
    replay(p, done);
    const int32_t code = pass_code(p.name);
    const int64_t units = p.units();
    std::deque<Unit> pending;
    for (std::size_t slot = 0; slot < p.slots.size(); ++slot) {
      for (int64_t u = 0; u < units; ++u) {
        if (done[slot * static_cast<std::size_t>(units) + static_cast<std::size_t>(u)]) continue;
        Unit unit{code, static_cast<int32_t>(slot), u, p.slots[slot], p.tokens, {}};
        unit.positions.assign(p.positions.begin() + p.bounds[static_cast<std::size_t>(u)],
                              p.positions.begin() + p.bounds[static_cast<std::size_t>(u) + 1]);
        pending.push_back(std::move(unit));
      }
    }
    const int64_t total = static_cast<int64_t>(p.slots.size()) * units;
    const int64_t already = total - static_cast<int64_t>(pending.size());
    log::info(cat(p.name, " pass: ", p.slots.size(), " checkpoint(s) x ", units, " units (", p.positions.size(),
                  " examples), ", p.tokens, " tokens each", already ? cat("; resuming, ", already, " units already stored") : ""));
    int64_t stored = 0, examples = 0, tokens = 0;
    const auto start = Clock::now();
    auto last_report = start, last_flush = start;
    auto store = [&](const UnitResult& result) {
      if (result.pass != code) throw DistError(cat("result of pass ", result.pass, " arrived during pass ", code));
      keep(p, result);
      ++stored;
      examples += static_cast<int64_t>(result.examples.size());
      for (const auto& e : result.examples) tokens += static_cast<int64_t>(e.losses.size());
    };
    rates_.clear();
    while (!pending.empty() || workers_busy()) {
      if (stop_requested && !pending.empty()) {
        log::warn(cat("stop requested: waiting for ", in_flight(), " unit(s) in flight, then saving"));
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
      if (seconds_since(last_flush) > options_.run.flush_seconds) {
        checkpoint();
        last_flush = Clock::now();
      }
      if (seconds_since(last_report) > options_.run.progress_seconds) {
        last_report = Clock::now();
        const double elapsed = seconds_since(start), rate = stored / std::max(elapsed, 1e-9);
        const int64_t left = total - already - stored;
        log::info(cat(p.name, ": ", already + stored, "/", total, " units (", 100 * (already + stored) / std::max<int64_t>(total, 1),
                      "%), ", static_cast<int64_t>(examples / elapsed), " examples/s, ", static_cast<int64_t>(tokens / elapsed),
                      " scored tokens/s, ETA ", format_seconds(left / std::max(rate, 1e-9)), slowest_rank()));
      }
    }
    checkpoint();
    if (stop_requested) throw Interrupted();
    log::info(cat(p.name, " pass done: ", stored, " units, ", examples, " examples, ", tokens, " tokens in ",
                  format_seconds(seconds_since(start))));
    record_cost(p, examples, tokens, seconds_since(start));
  }

  // Adds this run's part of pass `p` to the attributes of its group, for the report: wall_ms,
  // worker_ms (wall time × scoring ranks), scored_examples, scored_tokens (sums over the runs that
  // reached the end of the pass: a run stopped mid-pass adds nothing, so a resumed pass undercounts)
  // and ranks (of this run). Attributes only: never part of a result comparison.
  void record_cost(const PassPlan& p, int64_t examples, int64_t tokens, double seconds) {
    store::H5File& f = file_.file();
    const int64_t workers = local_ ? 1 : comm_.size() - 1;
    const auto add = [&](const char* name, int64_t value) {
      f.set_attribute(p.group, name, value + (f.has_attribute(p.group, name) ? f.int_attribute(p.group, name) : 0));
    };
    add("wall_ms", std::llround(seconds * 1000));
    add("worker_ms", std::llround(seconds * 1000) * workers);
    add("scored_examples", examples);
    add("scored_tokens", tokens);
    f.set_attribute(p.group, "ranks", static_cast<int64_t>(comm_.size()));
    f.flush();
  }

  void assign(std::deque<Unit>& pending) {
    for (auto it = ready_.begin(); it != ready_.end() && !pending.empty();) {
      const int rank = *it;
      // Prefer a unit at the checkpoint this worker holds: rebuilding a checkpoint costs a model load.
      auto match = std::find_if(pending.begin(), pending.end(), [&](const Unit& u) {
        auto held = held_.find(rank);
        return held != held_.end() && u.checkpoint == held->second;
      });
      if (match == pending.end()) match = pending.begin();
      dist::Writer writer;
      encode(writer, *match);
      outbox_.send(rank, kUnit, std::move(writer.bytes()));  // the worker takes it when its current unit is done
      held_[rank] = match->checkpoint;
      busy_[rank].push_back({std::move(*match), Clock::now()});
      pending.erase(match);
      it = ready_.erase(it);
    }
  }

  template <typename Store>
  void handle(const dist::Message& message, Store& store) {
    dist::Reader reader(message.data);
    const int rank = message.source;
    if (message.tag == kFailure) throw DistError(reader.get_string());
    if (message.tag == kResult) {
      const UnitResult result = decode_result(reader);
      std::deque<Busy>& queue = busy_[rank];
      if (queue.empty() || queue.front().unit.index != result.index || queue.front().unit.pass != result.pass ||
          queue.front().unit.slot != result.slot) {
        throw DistError(cat("rank ", rank, " returned unit ", result.index, " that it was not given"));
      }
      RankRate& rate = rates_[rank];
      for (const auto& e : result.examples) rate.tokens += static_cast<int64_t>(e.losses.size());
      rate.seconds += seconds_since(queue.front().since);
      store(result);
      queue.pop_front();
      if (!queue.empty()) queue.front().since = Clock::now();
      ready_.push_back(rank);
    } else if (message.tag == kRequest) {
      ready_.insert(ready_.end(), kUnitsPerWorker, rank);
    } else {
      throw DistError(cat("unexpected message tag ", message.tag, " from rank ", rank));
    }
  }

  void check_timeouts() const {
    for (const auto& [rank, queue] : busy_) {
      if (!queue.empty() && seconds_since(queue.front().since) > options_.run.worker_timeout) {
        const Unit& unit = queue.front().unit;
        throw DistError(cat("rank ", rank, " has not answered for ", options_.run.worker_timeout, " s on ",
                            model::describe(unit.checkpoint), " unit ", unit.index,
                            " (hung or dead); raise run.worker_timeout if units are that slow"));
      }
    }
  }

  std::size_t in_flight() const {
    std::size_t n = 0;
    for (const auto& entry : busy_) n += entry.second.size();
    return n;
  }

  // "; slowest rank R at X tokens/s" over the current pass, once two workers have results.
  std::string slowest_rank() const {
    if (rates_.size() < 2) return "";
    auto slowest = std::min_element(rates_.begin(), rates_.end(), [](const auto& a, const auto& b) {
      return a.second.tokens / std::max(a.second.seconds, 1e-9) < b.second.tokens / std::max(b.second.seconds, 1e-9);
    });
    return cat("; slowest rank ", slowest->first, " at ",
               static_cast<int64_t>(slowest->second.tokens / std::max(slowest->second.seconds, 1e-9)), " tokens/s");
  }

  const Options& options_;
  const dist::Comm& comm_;
  dist::Outbox outbox_{comm_};  // units, sent without waiting for the busy worker to receive them
  store::RunLock lock_;  // one writer per output, taken before anything is opened or moved
  std::string print_;
  OutputPlan output_plan_;
  store::Journal journal_;  // before file_: see start_journal()
  bool journal_started_;
  RunFile file_;
  uint64_t records_;
  std::unique_ptr<Worker> local_;
  std::vector<int> ready_;                 // one entry per free unit slot of a worker
  std::map<int, std::deque<Busy>> busy_;   // units each worker holds, oldest first
  std::map<int, model::CheckpointKey> held_;
  std::map<int, RankRate> rates_;          // per worker over the current pass
  std::set<int> stopped_;                  // workers sent kStop
};

}  // namespace

void request_stop() noexcept { stop_requested = true; }

void run_job(const Options& options, const dist::Comm& comm) {
  check_output_paths(options);  // every rank alike: a clash is refused before anything is written
  if (options.run.plan) {  // rank 0 prints what the job would do; nothing is loaded or written
    if (comm.rank() == 0) print_plan(options, comm.size(), std::cout);
    return;
  }
  if (options.run.stage == Stage::kSelect) return run_selection(options, comm);  // no model needed
  uint64_t records = 0;
  std::string failure;
  std::exception_ptr error;  // rank 0's, rethrown there with its own exit code
  if (comm.rank() == 0) {  // check the inputs, index once; workers read the cache
    try {
      preflight(options);  // before any rank loads a model
      const auto start = Clock::now();
      records = data::load_or_build_index(options.run.dataset, index_cache_path(options)).size();
      log::info(cat("dataset ", options.run.dataset, ": ", records, " records (indexed in ", format_seconds(seconds_since(start)),
                    "); ", comm.size(), " rank(s), ", std::max(1, comm.size() - 1), " worker(s)"));
      if (records == 0) failure = "dataset " + options.run.dataset + " has no records";
    } catch (const Error& e) {
      failure = e.what();
      error = std::current_exception();
    }
  }
  failure = comm.broadcast(failure);
  if (!failure.empty()) {
    if (comm.rank() == 0) {
      if (error) std::rethrow_exception(error);
      throw DataError(failure);
    }
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
    if (worker->serve(comm)) {
      worker.reset();  // frees the model before the selection
      run_selection(options, comm);
    }
    return;
  }
  std::unique_ptr<Coordinator> coordinator;
  try {
    coordinator = std::make_unique<Coordinator>(options, comm, records);
  } catch (const Error&) {
    for (int rank = 1; rank < comm.size(); ++rank) comm.send(rank, kStop, {});  // no unit was handed out yet
    throw;
  }
  try {
    coordinator->run();
    coordinator.reset();  // closes the HDF5 file cleanly
    std::filesystem::remove(journal_path(options));  // every requested pass is in the file
    std::filesystem::remove(base_path(options));
  } catch (const Interrupted&) {
    coordinator->seal();
    coordinator->finish();
    throw;
  } catch (const Error& e) {
    // main reports `e` once this rethrows; it is printed here only ahead of a later error or an abort.
    bool reported = false;
    auto report = [&] {
      if (!reported) log::error(e.what());
      reported = true;
    };
    try {
      coordinator->seal();
    } catch (const Error& again) {  // e.g. the disk is full: the next run rebuilds from the journal
      report();
      log::error(again.what());
    }
    if (coordinator->workers_busy()) {  // busy workers would wait forever
      report();
      comm.abort(e.exit_code());
    }
    try {
      coordinator->finish();
    } catch (const Error& again) {
      report();
      log::error(again.what());
      comm.abort(e.exit_code());
    }
    throw;
  }
  if (options.run.stage == Stage::kAll) run_selection(options, comm);
}

}  // namespace curate::service
