#include "job/coordinator.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <numeric>

#include "curate/job/job.h"
#include "curate/results/fingerprint.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "job/calibration.h"
#include "results/output_files.h"
#include "results/output_plan.h"
#include "selection/reduce.h"

namespace curate::service {
namespace {

// A pass's running totals over this run, and its progress lines.
struct PassProgress {
  PassProgress(double now, int64_t cap) : start(now), last_report(now), last_flush(now), cap(cap) {}

  int64_t total = 0, already = 0, stored = 0, examples = 0, tokens = 0;
  double start, last_report, last_flush;  // clock readings (Crew::now)
  int64_t cap;                            // the pass's tokens per example

  void add(const UnitResult& result) {
    ++stored;
    examples += static_cast<int64_t>(result.examples.size());
    for (const auto& e : result.examples) {  // gradients: the losses are the projection; count the loss's tokens
      tokens += result.pass != Pass::kGradients ? static_cast<int64_t>(e.losses.size())
                : e.losses.empty()              ? 0
                                                : std::min(e.reasoning_tokens, cap);
    }
  }
  std::string line(std::string_view name, const std::string& slowest, double now) const {
    const double elapsed = std::max(now - start, 1e-9), rate = static_cast<double>(stored) / elapsed;
    const int64_t left = total - already - stored;
    return cat(name, ": ", already + stored, "/", total, " units (",
               100 * (already + stored) / std::max<int64_t>(total, 1), "%), ",
               static_cast<int64_t>(static_cast<double>(examples) / elapsed), " examples/s, ",
               static_cast<int64_t>(static_cast<double>(tokens) / elapsed), " scored tokens/s, ETA ",
               format_seconds(static_cast<double>(left) / std::max(rate, 1e-9)), slowest);
  }
};

// Examples whose losses hold a NaN, per checkpoint of a pass: those the file holds (/<pass>/nan_losses,
// which survives a resume) plus the units this run stores. Stops the run past run.max_nan_fraction.
class NanLosses {
 public:
  NanLosses(const PassPlan& p, const store::H5File& file, double max_fraction)
      : p_(p), max_fraction_(max_fraction), counts_(p.slots.size(), 0) {
    const std::vector<std::vector<uint64_t>> rows = layout::read_nan_rows(file, p.pass);
    for (std::size_t c = 0; c < rows.size() && c < counts_.size(); ++c)
      counts_[c] = static_cast<int64_t>(rows[c].size());
  }

  // Counts the result's examples with NaN losses; throws ModelError once a checkpoint's count exceeds
  // the limit (it can only grow: exceeding is then certain).
  void add(const UnitResult& result) {
    const auto first = static_cast<std::size_t>(p_.bounds.at(static_cast<std::size_t>(result.index)));
    for (std::size_t i = 0; i < result.examples.size(); ++i) {
      if (!has_nan(result.examples[i].losses)) continue;
      ++counts_.at(static_cast<std::size_t>(result.slot));
      lines_[p_.positions.at(first + i)] = result.examples[i].line;
    }
    require_below_limit(static_cast<std::size_t>(result.slot));
  }

  void require_below_limit() const {
    for (std::size_t c = 0; c < counts_.size(); ++c) require_below_limit(c);
  }

  // Logs (warning) each checkpoint's count with the first lines, read from the file after the pass.
  void log_counts(const store::H5File& file) const {
    const std::vector<std::vector<uint64_t>> rows = layout::read_nan_rows(file, p_.pass);
    const std::vector<int64_t> stored_lines =
        file.exists(layout::kLine) ? layout::read_lines(file) : std::vector<int64_t>();
    for (std::size_t c = 0; c < rows.size() && c < p_.slots.size(); ++c) {
      if (rows[c].empty()) continue;
      std::string lines;
      for (std::size_t k = 0; k < rows[c].size() && k < 5; ++k) {
        const uint64_t position = p_.positions.at(rows[c][k]);
        const auto live = lines_.find(position);
        const int64_t line = live != lines_.end()             ? live->second
                             : position < stored_lines.size() ? stored_lines[position]
                                                              : 0;
        lines += cat(lines.empty() ? "" : ", ", line > 0 ? std::to_string(line) : cat("record ", position + 1));
      }
      log::warn(cat(pass_name(p_.pass), ": ", rows[c].size(), " example(s) with NaN losses at ",
                    model::describe(p_.slots[c]), " (lines ", lines, rows[c].size() > 5 ? " ...)" : ")",
                    "; they count as not scored"));
    }
  }

 private:
  void require_below_limit(std::size_t slot) const {
    const auto examples = static_cast<double>(p_.positions.size());
    if (static_cast<double>(counts_[slot]) <= max_fraction_ * examples) return;
    throw ModelError(cat(pass_name(p_.pass), ": ", counts_[slot], " of the pass's ", p_.positions.size(),
                         " examples have NaN losses at ", model::describe(p_.slots[slot]),
                         ", more than run.max_nan_fraction = ", max_fraction_,
                         " of them: the checkpoint is broken (NaN or overflowing weights, or a tokenizer of "
                         "another model?); finished units are kept; raise run.max_nan_fraction to go on anyway"));
  }

  const PassPlan& p_;
  double max_fraction_;
  std::vector<int64_t> counts_;        // [slots]
  std::map<uint64_t, int64_t> lines_;  // record position -> line, of the examples counted this run
};

}  // namespace

std::atomic<bool> stop_requested{false};

void request_stop() noexcept { stop_requested = true; }

std::unique_ptr<Coordinator> Coordinator::create(const Options& options, Crew crew, uint64_t records,
                                                 const ContentHash& dataset) {
  auto lock =
      std::make_unique<store::RunLock>(RunFiles::of(options.run.output).lock);  // before anything is opened or moved
  HashCache cache(hash_cache_path(options));
  const double start = crew.now();
  const InputContent content = hash_inputs(options, dataset, &cache);
  cache.save();
  log::info(cat("input fingerprint: ", cache.hashed(), " file(s) hashed, ", cache.reused(), " unchanged (",
                hash_cache_path(options).string(), ") in ", format_seconds(crew.now() - start)));
  const std::string print = fingerprint(options, content);
  if (options.run.stage == Stage::kGradients)
    require_gradient_input(options, print, records, input_files_text(content));
  std::unique_ptr<ResultSink> sink;  // none when the run only re-selects: the file is not written or copied
  if (stage_stored(options, print, records)) {
    log::info(cat(options.run.output, ": every pass of --stage ", stage_name(options.run.stage),
                  " is already stored; nothing to score, the file is not written",
                  options.run.stage == Stage::kAll ? "; selecting again" : ""));
  } else {
    Options opening = options;  // --stage gradients --fresh rebuilds /gradients alone (run_gradients), never the file
    if (options.run.stage == Stage::kGradients) opening.run.fresh = false;
    sink = open_result_sink(opening, print, records, input_files_text(content));
  }
  return std::make_unique<Coordinator>(options, std::move(crew), records, std::move(lock), std::move(sink));
}

Coordinator::Coordinator(const Options& options, Crew crew, uint64_t records, std::unique_ptr<store::RunLock> lock,
                         std::unique_ptr<ResultSink> sink)
    : options_(options),
      records_(records),
      local_(std::move(crew.local)),
      now_(crew.now),
      ranks_(local_ ? 1 : crew.link.workers() + 1),
      lock_(std::move(lock)),
      sink_(std::move(sink)),
      scheduler_(crew.link, options.run.worker_timeout, std::move(crew.now)) {}

void Coordinator::run() {
  const Stage stage = options_.run.stage;
  if (!sink_) return finish(/*then_select=*/stage == Stage::kAll);  // every pass is stored already
  if (stage == Stage::kCalibrate) {
    gaussian_checkpoint();
    finish();
    sink_->flush();
    return print_calibrated_std();
  }
  if (stage == Stage::kGradients) {
    run_gradients();
    finish();
    return sink_->flush();
  }
  if (scores_difficulty(stage)) {
    run_pass(difficulty_plan(gaussian_checkpoint()));
    require_scored_examples(sink_->file(), options_.run.dataset);
  }
  if (scores_profile(stage)) run_pass(profile_plan());
  finish(/*then_select=*/stage == Stage::kAll);
  sink_->flush();
}

PassPlan Coordinator::plan(Pass pass, std::vector<model::CheckpointKey> slots, int64_t tokens,
                           std::vector<uint64_t> positions) const {
  PassPlan p;
  p.pass = pass;
  p.slots = std::move(slots);
  p.tokens = tokens;
  p.first_tokens = options_.pass.difficulty_tokens;
  p.positions = std::move(positions);
  p.unit_examples = options_.pass.unit_examples;
  p.token_losses = options_.store.token_losses;
  p.cut_evenly();
  return p;
}

PassPlan Coordinator::difficulty_plan(int checkpoint) const {
  std::vector<uint64_t> all(records_);
  std::iota(all.begin(), all.end(), 0);
  return plan(Pass::kDifficulty, {gaussian(checkpoint)}, options_.pass.difficulty_tokens, std::move(all));
}

// The examples the difficulty filter keeps, at every profile checkpoint, in units of about equal
// cost (prompt + scored reasoning tokens, known from the difficulty pass).
PassPlan Coordinator::profile_plan() {
  const bool directional = !options_.engine.target.empty();
  const int n =
      directional ? options_.engine.perturb.directional_checkpoints : options_.engine.perturb.gaussian_checkpoints;
  std::vector<model::CheckpointKey> slots;
  for (int j = 1; j <= n; ++j)
    slots.push_back(directional ? model::CheckpointKey{model::Family::kDirectional, j} : gaussian(j));
  const std::vector<uint8_t> kept = run_difficulty_filter(sink_->file(), options_.filter, records_);
  sink_->write_filter(kept, select::filter_method_name(options_.filter.method));
  std::vector<uint64_t> positions;
  for (uint64_t i = 0; i < records_; ++i) {
    if (kept[i]) positions.push_back(i);
  }
  PassPlan p = plan(Pass::kProfile, slots, options_.pass.profile_tokens, std::move(positions));
  const layout::ExampleCosts costs = layout::read_example_costs(sink_->file());
  std::vector<int64_t> cost;
  for (uint64_t i : p.positions) cost.push_back(costs.prompt_tokens[i] + std::min(costs.reasoning_tokens[i], p.tokens));
  p.cut_by_cost(cost);
  return p;
}

model::CheckpointKey Coordinator::gaussian(int checkpoint) const {
  return {model::Family::kGaussian, checkpoint, searched_std_.value_or(0)};
}

// The Gaussian checkpoint of the difficulty pass: fixed, stored by an earlier calibration, or calibrated
// now; with perturb.gaussian_max_std = auto (or --stage calibrate) the noise search sets the schedule first.
int Coordinator::gaussian_checkpoint() {
  const bool search = options_.engine.perturb.search_max_std || options_.run.stage == Stage::kCalibrate;
  const std::optional<int> stored = layout::read_chosen_checkpoint(sink_->file());
  if (search && stored) {  // the stored calibration's schedule (none: it ran at the configured max std)
    if (const auto table = layout::read_noise_search(sink_->file())) searched_std_ = std::stod(table->found);
  } else if (search) {
    searched_std_ = search_max_std();
  }
  if (options_.pass.gaussian_checkpoint > 0 && options_.run.stage != Stage::kCalibrate)
    return options_.pass.gaussian_checkpoint;
  if (stored) {
    require_calibration_met(layout::read_calibration_warning(sink_->file()), *stored);
    return *stored;
  }
  std::vector<model::CheckpointKey> slots = {{model::Family::kBase, 0}};
  for (int j = 1; j <= options_.engine.perturb.gaussian_checkpoints; ++j) slots.push_back(gaussian(j));
  const PassPlan calibration =
      plan(Pass::kCalibration, slots, options_.pass.difficulty_tokens,
           calibration_sample(records_, options_.pass.calibration_samples, options_.engine.perturb.seed));
  run_pass(calibration);
  return store_calibration(calibration);
}

// The noise search (noise_search.h) on the calibration sample, starting from gaussian_max_std (its
// default under auto; the configured value under --stage calibrate with a number).
// Probes are not stored as units (a killed search is redone: a few short passes); the search is
// stored with the calibration table. Throws DataError when no std puts the ratio in the band.
double Coordinator::search_max_std() {
  const model::PerturbOptions& perturb = options_.engine.perturb;
  const std::vector<uint64_t> sample = calibration_sample(records_, options_.pass.calibration_samples, perturb.seed);
  const std::vector<float> base = score_sample({{model::Family::kBase, 0}}, sample);
  NoiseSearchOptions o;
  o.start = perturb.gaussian_max_std;
  o.low = options_.pass.calibration_low;
  o.high = options_.pass.calibration_high;
  const auto ratio_at = [&](double std) {
    std::vector<float> loss = base;
    const std::vector<float> noisy =
        score_sample({{model::Family::kGaussian, perturb.gaussian_checkpoints, std}}, sample);
    loss.insert(loss.end(), noisy.begin(), noisy.end());
    const double ratio = choose_checkpoint(loss, 2, o.low, o.high).ratios[1];
    log::info(cat("noise search: max std ", std_text(std), " -> ratio ", ratio, " at gaussian ",
                  perturb.gaussian_checkpoints, " (wanted ", o.low, "-", o.high, ")"));
    return ratio;
  };
  const NoiseSearch search = search_noise(ratio_at, o);
  search_probes_ = search.probes;
  if (!search.found) {
    throw DataError(cat("noise search: no perturb.gaussian_max_std put the loss ratio of gaussian ",
                        perturb.gaussian_checkpoints, " in ", o.low, "-", o.high, " (tried ",
                        describe_probes(search.probes),
                        "); the ratio may not rise with the noise on this sample: check the data (a larger "
                        "pass.calibration_samples) or widen pass.calibration_low..high"));
  }
  return *search.found;
}

// [slots, sample.size()] mean losses of the sample's examples at each slot, NaN where an example has
// nothing scored; scored through the scheduler (or the local scorer) and never stored.
std::vector<float> Coordinator::score_sample(const std::vector<model::CheckpointKey>& slots,
                                             const std::vector<uint64_t>& sample) {
  const PassPlan p = plan(Pass::kCalibration, slots, options_.pass.difficulty_tokens, sample);
  std::vector<float> loss(slots.size() * sample.size(), std::nanf(""));
  const auto store = [&](const UnitResult& result) {
    const auto first = static_cast<std::size_t>(p.bounds.at(static_cast<std::size_t>(result.index)));
    for (std::size_t i = 0; i < result.examples.size(); ++i) {
      const std::vector<float>& losses = result.examples[i].losses;
      if (result.examples[i].status != kStatusOk || losses.empty()) continue;
      double sum = 0;
      for (float l : losses) sum += l;
      loss.at(static_cast<std::size_t>(result.slot) * sample.size() + first + i) =
          static_cast<float>(sum / static_cast<double>(losses.size()));
    }
  };
  queue_units(p, std::vector<uint8_t>(slots.size() * static_cast<std::size_t>(p.units()), 0));
  while (scheduler_.pending() > 0 || scheduler_.workers_busy()) {
    if (stop_requested && scheduler_.pending() > 0) scheduler_.drop_pending();
    if (local_) {
      const std::optional<Unit> unit = scheduler_.take();
      if (!unit) break;
      store(local_(*unit));
    } else {
      scheduler_.step(0.25, store);
      scheduler_.check_timeouts();
    }
  }
  if (stop_requested) throw Interrupted();
  return loss;
}

// Chooses the checkpoint from the stored calibration losses, stores and logs the table (and the noise
// search that set its schedule). Throws DataError when the choice missed its band, unless allowed.
int Coordinator::store_calibration(const PassPlan& calibration) {
  const double low = options_.pass.calibration_low, high = options_.pass.calibration_high;
  const std::vector<float> loss = layout::read_calibration_loss(sink_->file());
  const CheckpointChoice choice = choose_checkpoint(loss, calibration.slots.size(), low, high);
  layout::CalibrationTable table{choice.means, choice.ratios, choice.chosen, "", ""};
  table.text = "calibration (mean loss of the first " + std::to_string(calibration.tokens) + " tokens):";
  const model::PerturbOptions perturb =
      searched_std_ ? model::with_max_std(options_.engine.perturb, *searched_std_) : options_.engine.perturb;
  std::vector<double> stds;
  for (std::size_t c = 0; c < calibration.slots.size(); ++c) {
    if (c > 0) stds.push_back(model::gaussian_total_std(perturb, static_cast<int>(c)));
    const model::CheckpointKey& slot = calibration.slots[c];  // named without the searched max std: its std follows
    table.text +=
        cat("\n  ", model::describe({slot.family, slot.index}), c > 0 ? cat(" (std ", std_text(stds.back()), ")") : "",
            ": mean ", choice.means[c], ", ratio ", choice.ratios[c]);
  }
  table.warning = calibration_miss(choice, low, high, stds);
  sink_->write_calibration(table);
  if (searched_std_) {
    layout::NoiseSearchTable search{{}, {}, std_text(*searched_std_)};
    for (const NoiseProbe& probe : search_probes_) {
      search.stds.push_back(std_text(probe.std));
      search.ratios.push_back(static_cast<float>(probe.ratio));
    }
    sink_->write_noise_search(search);
  }
  log::info(table.text + cat("\n  chosen: gaussian ", choice.chosen, " (wanted ratio ", low, "-", high, ")"));
  require_calibration_met(table.warning, choice.chosen);
  return choice.chosen;
}

// A calibration that missed its band stops the job (DataError, exit 3) unless
// perturb.allow_calibration_miss, which warns and goes on with the closest checkpoint `chosen`.
void Coordinator::require_calibration_met(const std::string& miss, int chosen) const {
  if (miss.empty()) return;
  if (options_.engine.perturb.allow_calibration_miss) {
    log::warn(cat(miss, "; perturb.allow_calibration_miss: going on with the closest, gaussian ", chosen));
    return;
  }
  throw DataError(cat(miss,
                      "; then rerun with --fresh (this file, calibration included, is moved aside), or set "
                      "perturb.allow_calibration_miss = true to go on with the closest, gaussian ",
                      chosen, " (the stored calibration is reused)"));
}

// --stage calibrate's answer on stdout: the line to put in the INI file's [perturb] section.
void Coordinator::print_calibrated_std() const {
  const model::PerturbOptions& perturb = options_.engine.perturb;
  const std::optional<int> chosen = layout::read_chosen_checkpoint(sink_->file());
  const double max_std = searched_std_.value_or(perturb.gaussian_max_std);
  const model::PerturbOptions used = model::with_max_std(perturb, max_std);
  std::cout << "[perturb]\ngaussian_max_std = " << std_text(max_std) << "\n";
  if (used.gaussian_min_std != perturb.gaussian_min_std)
    std::cout << "gaussian_min_std = " << std_text(used.gaussian_min_std) << "\n";
  std::cout << "# calibration chose gaussian " << chosen.value_or(0) << " of " << perturb.gaussian_checkpoints
            << " (wanted ratio " << options_.pass.calibration_low << "-" << options_.pass.calibration_high
            << "); with gaussian_max_std = auto a run of this output reuses this search\n";
}

void Coordinator::queue_units(const PassPlan& p, const std::vector<uint8_t>& done) {
  const int64_t units = p.units();
  for (std::size_t slot = 0; slot < p.slots.size(); ++slot) {
    for (int64_t u = 0; u < units; ++u) {
      if (done[slot * static_cast<std::size_t>(units) + static_cast<std::size_t>(u)]) continue;
      Unit unit{p.pass, static_cast<int32_t>(slot), u, p.slots[slot], p.tokens, {}, p.settings};
      unit.positions.assign(p.positions.begin() + p.bounds[static_cast<std::size_t>(u)],
                            p.positions.begin() + p.bounds[static_cast<std::size_t>(u) + 1]);
      scheduler_.add(std::move(unit));
    }
  }
}

void Coordinator::run_pass(const PassPlan& p) {
  std::vector<uint8_t> done = sink_->open_pass(p);
  sink_->replay(p, done);
  queue_units(p, done);
  PassProgress progress(now_(), p.tokens);
  progress.total = static_cast<int64_t>(p.slots.size()) * p.units();
  progress.already = progress.total - static_cast<int64_t>(scheduler_.pending());
  const std::string_view name = pass_name(p.pass);
  log::info(cat(name, " pass: ", p.slots.size(), " checkpoint(s) x ", p.units(), " units (", p.positions.size(),
                " examples), ", p.tokens, " tokens each",
                progress.already ? cat("; resuming, ", progress.already, " units already stored") : ""));
  NanLosses nan(p, sink_->file(), options_.run.max_nan_fraction);
  nan.require_below_limit();  // a resumed pass that already exceeded the limit stops again
  const auto store = [&](const UnitResult& result) {
    if (result.pass != p.pass)
      throw DistError(cat("result of pass ", pass_name(result.pass), " arrived during pass ", name));
    if (result.settings != p.settings)
      throw DistError(cat("result of ", name, " unit ", result.index, " of other settings"));
    sink_->keep(p, result);
    progress.add(result);
    nan.add(result);  // after keep: the unit is stored when the limit stops the run
  };
  scheduler_.reset_rates();
  while (scheduler_.pending() > 0 || scheduler_.workers_busy()) {
    if (stop_requested && scheduler_.pending() > 0) {
      log::warn(cat("stop requested: waiting for ", scheduler_.in_flight(), " unit(s) in flight, then saving"));
      scheduler_.drop_pending();
    }
    if (local_) {
      const std::optional<Unit> unit = scheduler_.take();
      if (!unit) break;
      store(local_(*unit));
    } else {
      scheduler_.step(0.25, store);
      scheduler_.check_timeouts();
    }
    if (elapsed_since(progress.last_flush) > options_.run.flush_seconds) {
      sink_->checkpoint();
      progress.last_flush = now_();
    }
    if (elapsed_since(progress.last_report) > options_.run.progress_seconds) {
      progress.last_report = now_();
      log::info(progress.line(name, scheduler_.slowest_rank(), progress.last_report));
    }
  }
  sink_->checkpoint();
  if (stop_requested) throw Interrupted();
  nan.log_counts(sink_->file());
  const double seconds = elapsed_since(progress.start);
  log::info(cat(name, " pass done: ", progress.stored, " units, ", progress.examples, " examples, ", progress.tokens,
                " tokens in ", format_seconds(seconds)));
  // This run's part of the pass, for the report (a run stopped mid-pass adds nothing, so a resumed
  // pass undercounts). Attributes only: never part of a result comparison.
  const int64_t workers = local_ ? 1 : ranks_ - 1;
  sink_->add_pass_cost(p.pass, {std::llround(seconds * 1000), std::llround(seconds * 1000) * workers, progress.examples,
                                progress.tokens, static_cast<int64_t>(ranks_)});
}

}  // namespace curate::service
