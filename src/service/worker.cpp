#include "worker.h"

#include <filesystem>

#include "weight_broadcaster.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace curate::service {
namespace {

std::filesystem::path tokenizer_dir(const std::string& path) {
  return std::filesystem::is_directory(path) ? std::filesystem::path(path) : std::filesystem::path(path).parent_path();
}

}  // namespace

std::filesystem::path index_cache_path(const Options& options) { return options.run.output + ".index"; }

Worker::Worker(const Options& options)
    : options_(options),
      tokenizer_(data::Tokenizer::load(options.run.tokenizer)),
      session_(tokenizer_),
      chat_(data::ChatTemplate::resolve(tokenizer_dir(options.run.tokenizer), options.prompt.chat_template)),
      index_(data::load_or_build_index(options.run.dataset, index_cache_path(options))),
      scorer_(options.engine, make_weight_broadcaster(options).get()) {}  // the broadcaster is only needed to load

UnitResult Worker::process(const Unit& unit) {
  UnitResult result;
  result.pass = unit.pass;
  result.slot = unit.slot;
  result.index = unit.index;
  result.measure = scorer_.select(unit.checkpoint);

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
      out.status = static_cast<uint8_t>(1 + static_cast<int>(records[i].reason));
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
    bool in_vocabulary = true;
    for (data::TokenId id : tokens.ids) in_vocabulary = in_vocabulary && id >= 0 && id < scorer_.vocab_size();
    if (!in_vocabulary) {
      out.status = static_cast<uint8_t>(1 + static_cast<int>(data::SkipReason::kBadTokenIds));
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
  auto losses = scorer_.score(requests);
  for (std::size_t k = 0; k < requested.size(); ++k) result.examples[requested[k]].losses = std::move(losses[k]);
  return result;
}

bool Worker::serve(const dist::Comm& comm) {
  dist::Writer hello;
  comm.send(0, kRequest, hello.bytes());
  dist::Outbox outbox(comm);  // results go out while the next unit is scored
  for (;;) {
    auto message = comm.receive(/*timeout_seconds=*/0, /*source=*/0);
    if (!message) return false;
    if (message->tag == kStop) return !message->data.empty() && message->data[0] == std::byte{1};
    if (message->tag != kUnit) throw DistError(cat("rank ", comm.rank(), ": unexpected message tag ", message->tag));
    dist::Reader reader(message->data);
    const Unit unit = decode_unit(reader);
    UnitResult result;
    try {
      result = process(unit);
    } catch (const std::exception& e) {
      dist::Writer failure;
      failure.put(std::string(cat("rank ", comm.rank(), " failed on ", model::describe(unit.checkpoint), " unit ",
                                  unit.index, ": ", e.what())));
      comm.send(0, kFailure, failure.bytes());
      throw;
    }
    dist::Writer writer;
    encode(writer, result);
    outbox.send(0, kResult, std::move(writer.bytes()));
  }
}

}  // namespace curate::service
