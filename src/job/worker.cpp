#include "job/worker.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <thread>

#include "curate/model/config.h"
#include "curate/model/numerics.h"
#include "curate/util/clock.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/output_plan.h"

namespace curate::service {
namespace {

// The prompt limit of every pass: against the longest scored window, so that a record is skipped in
// all passes or in none. test.fake_worker loads no model: only an explicit data.max_prompt_tokens.
int64_t max_prompt_tokens(const Options& options) {
  const int64_t context =
      options.test.fake_worker ? 0 : model::load_model_config(options.engine.model).max_position_embeddings;
  return data::resolve_max_prompt_tokens(options.data.max_prompt_tokens, context,
                                         std::max(options.pass.difficulty_tokens, options.pass.profile_tokens));
}

}  // namespace

Worker::Worker(const Options& options, const Models& models)
    : options_(options),
      tokenizer_(data::Tokenizer::load(options.run.tokenizer)),
      session_(tokenizer_),
      chat_(data::ChatTemplate::resolve(data::tokenizer_folder(options.run.tokenizer), options.prompt.chat_template)),
      index_(data::load_or_build_index(options.run.dataset, index_cache_path(options))),
      scorer_(options.test.fake_worker || options.run.stage == Stage::kGradients ? nullptr : models.scorer(options)),
      gradients_(options.test.fake_worker || options.run.stage != Stage::kGradients ? nullptr
                                                                                    : models.gradients(options)),
      max_prompt_tokens_(max_prompt_tokens(options)) {}

UnitResult Worker::process(const Unit& unit) {
  UnitResult result;
  result.pass = unit.pass;
  result.slot = unit.slot;
  result.index = unit.index;
  result.settings = unit.settings;
  result.measure = scorer_ ? scorer_->use_checkpoint(unit.checkpoint) : 0.1 * unit.checkpoint.index;

  std::vector<std::size_t> positions(unit.positions.begin(), unit.positions.end());
  std::vector<data::ParseResult> records = data::read_records(options_.run.dataset, index_, positions, options_.data);
  result.examples.resize(records.size());
  std::vector<std::vector<int64_t>> ids(records.size());
  std::vector<model::ScoreRequest> requests;
  std::vector<std::size_t> requested;
  for (std::size_t i = 0; i < records.size(); ++i) {
    ExampleResult& out = result.examples[i];
    out.line = index_.lines[positions[i]];
    if (!records[i].example) {
      out.status = skip_status(records[i].reason);
      continue;
    }
    const data::Example& example = *records[i].example;
    out.id = example.id;
    out.source = example.source;
    out.domain = example.domain;
    const data::TokenizedExample tokens = data::assemble(example, chat_, options_.prompt, session_);
    out.prompt_tokens = tokens.reasoning_start;
    out.reasoning_tokens = static_cast<int64_t>(tokens.ids.size()) - tokens.reasoning_start;
    out.full_length = tokens.full_length;
    if (max_prompt_tokens_ > 0 && tokens.reasoning_start > max_prompt_tokens_) {
      // The model would run over the whole prompt: beyond its context, and quadratic in the length.
      out.status = static_cast<uint8_t>(1 + static_cast<int>(data::SkipReason::kPromptTooLong));
      continue;
    }
    bool in_vocabulary = true;
    for (data::TokenId id : tokens.ids)
      in_vocabulary = in_vocabulary && id >= 0 && (!scorer_ || id < scorer_->vocab_size()) &&
                      (!gradients_ || id < gradients_->vocab_size());
    if (!in_vocabulary) {
      out.status = skip_status(data::SkipReason::kBadTokenIds);
      continue;
    }
    ids[i].assign(tokens.ids.begin(), tokens.ids.end());
    // Reasoning token k (at ids[start + k]) is predicted at position start + k - 1.
    const int64_t begin = tokens.reasoning_start - 1;
    const int64_t end = std::min<int64_t>(begin + unit.tokens, static_cast<int64_t>(ids[i].size()) - 1);
    if (begin < 0 || end <= begin) continue;  // nothing to score: losses stay empty
    requests.push_back({ids[i], begin, end});
    requested.push_back(i);
  }
  if (unit.pass == Pass::kGradients) {
    compute_gradients(result, requested, requests);
    return result;
  }
  if (!scorer_) {  // test.fake_worker
    for (const ExampleResult& out : result.examples) {
      if (options_.test.fake_fail_line > 0 && out.line == options_.test.fake_fail_line) {
        throw DataError(cat("test.fake_fail_line: line ", out.line, " cannot be scored"));
      }
    }
    for (std::size_t k = 0; k < requested.size(); ++k) {
      ExampleResult& out = result.examples[requested[k]];
      out.losses = fake_losses(out.line, unit.checkpoint, requests[k].end - requests[k].begin);
      const int64_t every = options_.test.fake_nan_every;
      if (every > 0 && out.line % every == 0) std::fill(out.losses.begin(), out.losses.end(), std::nanf(""));
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(options_.test.fake_unit_seconds));
    return result;
  }
  auto losses = scorer_->score(requests);
  for (std::size_t k = 0; k < requested.size(); ++k) result.examples[requested[k]].losses = std::move(losses[k]);
  require_not_uniform(result, unit.checkpoint);
  return result;
}

void Worker::compute_gradients(UnitResult& result, const std::vector<std::size_t>& requested,
                               const std::vector<model::ScoreRequest>& requests) {
  for (std::size_t k = 0; k < requested.size(); ++k) {
    ExampleResult& out = result.examples[requested[k]];
    if (!gradients_) {  // test.fake_worker: values that depend only on the record
      out.losses = fake_losses(out.line, {}, options_.gradients.numerics.dim);
      out.norm = static_cast<float>(out.line);
      continue;
    }
    model::ProjectedGradient g = gradients_->compute(requests[k].ids, requests[k].begin + 1);
    out.losses = std::move(g.projected);
    out.norm = g.norm;
  }
}

UnitResult Worker::score(const Unit& unit) {
  try {
    return process(unit);
  } catch (const std::exception& e) {
    return process_one_by_one(unit, e);
  }
}

UnitResult Worker::process_one_by_one(const Unit& unit, const std::exception& error) {
  const bool record_fault = dynamic_cast<const ModelError*>(&error) == nullptr &&
                            dynamic_cast<const ConfigError*>(&error) == nullptr &&
                            dynamic_cast<const StoreError*>(&error) == nullptr;
  if (!record_fault || unit.positions.size() < 2) throw;  // rethrows `error`: we are inside its handler
  UnitResult result;
  std::size_t failed = 0;
  for (uint64_t position : unit.positions) {
    Unit one = unit;
    one.positions = {position};
    try {
      UnitResult alone = process(one);
      result.pass = alone.pass, result.slot = alone.slot, result.index = alone.index, result.measure = alone.measure;
      result.settings = alone.settings;
      result.examples.push_back(std::move(alone.examples.at(0)));
    } catch (const std::exception& again) {
      ++failed;
      ExampleResult skipped;
      skipped.status = skip_status(data::SkipReason::kScoreFailed);
      skipped.line = index_.lines[position];
      log::warn(cat(options_.run.dataset, ":", skipped.line, ": cannot be scored at ", model::describe(unit.checkpoint),
                    " (skipped as score_failed): ", again.what()));
      result.examples.push_back(std::move(skipped));
    }
  }
  if (failed == unit.positions.size()) throw;
  result.pass = unit.pass, result.slot = unit.slot, result.index = unit.index, result.settings = unit.settings;
  return result;
}

void Worker::require_not_uniform(const UnitResult& result, const model::CheckpointKey& checkpoint) const {
  std::vector<float> all;
  for (const ExampleResult& e : result.examples) all.insert(all.end(), e.losses.begin(), e.losses.end());
  const int64_t vocab = scorer_->vocab_size();
  if (!model::all_losses_uniform(all, vocab)) return;
  throw ModelError(cat(model::describe(checkpoint), " of ", options_.engine.model, ": every loss is ln(vocab) = ",
                       std::log(static_cast<double>(vocab)), " (", all.size(), " scored tokens of unit ", result.index,
                       "): the model predicts the uniform distribution (weights scaled or overflowing?)"));
}

bool Worker::serve(const comm::Comm& comm) {
  comm::Writer hello;
  comm.send(0, kRequest, hello.bytes());
  comm::Outbox outbox(comm);  // results go out while the next unit is scored
  int64_t units = 0;
  double scoring = 0, waiting = 0;
  for (;;) {
    const auto asked = SteadyClock::now();
    auto message = comm.receive(/*timeout_seconds=*/0, /*source=*/0);
    if (units > 0) waiting += seconds_since(asked);  // the wait for the first unit is start-up
    if (!message) return false;
    if (message->tag == kStop) {
      log::debug(cat("rank ", comm.rank(), ": ", units, " units, ", scoring, " s scoring, ", waiting,
                     " s waiting for a unit"));
      return !message->data.empty() && message->data[0] == std::byte{1};
    }
    if (message->tag != kUnit) throw DistError(cat("rank ", comm.rank(), ": unexpected message tag ", message->tag));
    comm::Reader reader(message->data);
    const Unit unit = decode_unit(reader);
    UnitResult result;
    const auto start = SteadyClock::now();
    try {
      result = score(unit);
      scoring += seconds_since(start);
      ++units;
    } catch (const std::exception& e) {
      comm::Writer failure;
      encode(failure,
             Failure{exit_code_of(e), cat("rank ", comm.rank(), " failed on ", model::describe(unit.checkpoint),
                                          " unit ", unit.index, ": ", e.what())});
      comm.send(0, kFailure, failure.bytes());
      throw;
    }
    comm::Writer writer;
    encode(writer, result);
    outbox.send(0, kResult, std::move(writer.bytes()));
  }
}

}  // namespace curate::service
