#include "curate/data/commands.h"

#include "curate/data/detect.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "curate/data/dataset.h"
#include "curate/data/detect.h"
#include "curate/data/line_reader.h"
#include "curate/data/tokenizer.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/parallel.h"
#include "curate/util/strings.h"

namespace curate::data {

void run_tokenize(const TokenizeOptions& options) {
  if (options.tokenizer.empty() || options.input.empty() || options.output.empty()) {
    throw ConfigError("tokenize needs --tokenizer, --input and --output");
  }
  if (options.threads < 0 || options.window_bytes <= 0)
    throw ConfigError("--threads >= 0 and --window-bytes > 0 needed");
  require_not_input(options.output, "--output", options.input, "--input");
  const Tokenizer tokenizer = Tokenizer::load(options.tokenizer);
  LineReader reader(options.input);
  StagedFiles staged;  // the output appears whole or not at all
  const std::filesystem::path temporary = staged.stage(options.output);
  std::ofstream out = open_output(temporary);

  using Clock = std::chrono::steady_clock;
  double encode_seconds = 0;
  int64_t bytes = 0, tokens = 0, lines = 0;
  std::vector<std::string> texts;
  std::vector<int64_t> line_numbers;
  int64_t window = 0;
  auto flush = [&] {
    const auto start = Clock::now();
    std::vector<std::vector<TokenId>> ids(texts.size());
    std::size_t failed = 0;
    try {
      parallel_for(
          texts.size(), options.threads, [&] { return Tokenizer::Session(tokenizer); },
          [&](Tokenizer::Session& session, std::size_t i) { session.encode(texts[i], ids[i]); }, &failed);
    } catch (const Error& e) {
      throw DataError(cat(options.input, ":", line_numbers[failed], ": ", e.what()));
    }
    encode_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    std::string line;
    for (const auto& doc : ids) {
      line = "{\"ids\":[";
      for (std::size_t i = 0; i < doc.size(); ++i) {
        if (i) line += ',';
        line += std::to_string(doc[i]);
      }
      line += "]}\n";
      out << line;
      tokens += static_cast<int64_t>(doc.size());
    }
    if (!out) throw StoreError("cannot write '" + temporary.string() + "': disk full or read-only?");
    lines += static_cast<int64_t>(texts.size());
    texts.clear();
    line_numbers.clear();
    window = 0;
  };
  Line line;
  while (reader.next(line)) {
    auto fail = [&](const std::string& why) { throw DataError(cat(options.input, ":", line.number, ": ", why)); };
    if (line.too_long) fail("line is longer than the line size limit");
    if (line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto json = nlohmann::json::parse(line.text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) fail("not valid JSON (or not valid UTF-8)");
    if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) fail("expected {\"text\": \"...\"}");
    texts.push_back(json["text"].get<std::string>());
    line_numbers.push_back(line.number);
    bytes += static_cast<int64_t>(texts.back().size());
    window += static_cast<int64_t>(texts.back().size());
    if (window >= options.window_bytes) flush();
  }
  flush();
  close_output(out, temporary);
  staged.commit();
  const double seconds = std::max(encode_seconds, 1e-9);
  log::info(cat("tokenized ", lines, " lines: ", bytes, " bytes -> ", tokens, " tokens; encoding ",
                format_seconds(seconds), ", ", bytes / seconds / 1e6, " MB/s, ", static_cast<int64_t>(tokens / seconds),
                " tokens/s"));
}

}  // namespace curate::data

namespace curate::data {

void run_prepare(const PrepareOptions& options) {
  if (options.tokenizer.empty() || options.input.empty() || options.output.empty()) {
    throw ConfigError("prepare needs --tokenizer, --input and --output");
  }
  if (options.threads < 0) throw ConfigError(cat("--threads = ", options.threads, " must be 0 (all cores) or more"));
  const Tokenizer tokenizer = Tokenizer::load(options.tokenizer);
  const ChatTemplate chat = ChatTemplate::resolve(tokenizer_folder(options.tokenizer), options.prompt.chat_template);
  const std::string report_path = options.report.empty() ? options.output + ".skipped.tsv" : options.report;
  require_not_input(options.output, "--output", options.input, "--input");
  require_not_input(report_path, "--report", options.input, "--input");
  std::ofstream report(report_path, std::ios::trunc);
  if (!report) throw StoreError("cannot create '" + report_path + "': check that the folder exists and is writable");
  DataOptions data = options.data;
  if (needs_resolution(data)) {  // as the job: the markers and id field the records use, said in the log
    const RecordIndex index = data.id_field == "auto" ? build_index(options.input) : RecordIndex{};
    for (const std::string& note : resolve_auto(data, options.input, index)) log::info(note);
  }
  DatasetReader reader(options.input, data, &report);
  StagedFiles staged;  // the output appears whole or not at all
  const std::filesystem::path temporary = staged.stage(options.output);
  std::ofstream out = open_output(temporary);

  std::vector<Example> batch;
  int64_t examples = 0, tokens = 0;
  auto flush = [&] {
    std::vector<TokenizedExample> done(batch.size());
    parallel_for(
        batch.size(), options.threads, [&] { return Tokenizer::Session(tokenizer); },
        [&](Tokenizer::Session& session, std::size_t i) {
          done[i] = assemble(batch[i], chat, options.prompt, session);
        });
    for (std::size_t i = 0; i < batch.size(); ++i) {
      nlohmann::ordered_json row = {{"id", batch[i].id},
                                    {"line", batch[i].line},
                                    {"source", batch[i].source},
                                    {"domain", batch[i].domain},
                                    {"window", score_window_name(done[i].window)},
                                    {"input_ids", done[i].ids},
                                    {"reasoning_start", done[i].reasoning_start},
                                    {"full_length", done[i].full_length}};
      out << row.dump() << '\n';
      tokens += done[i].full_length;
    }
    examples += static_cast<int64_t>(batch.size());
    batch.clear();
  };
  Example example;
  while (reader.next(example)) {
    batch.push_back(std::move(example));
    if (batch.size() >= 4096) flush();
  }
  flush();
  close_output(out, temporary);
  staged.commit();
  std::string skipped;
  for (const auto& [reason, count] : reader.skipped()) skipped += cat(" ", reason, "=", count);
  log::info(cat("prepared ", examples, " examples (", tokens, " tokens) into ", options.output, "; skipped ",
                reader.skipped_total(), skipped.empty() ? "" : ":" + skipped,
                reader.skipped_total() ? " (see " + report_path + ")" : ""));
}

}  // namespace curate::data
