#include "curate/data/check.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "curate/data/dataset.h"
#include "curate/data/dataset_files.h"
#include "curate/data/detect.h"
#include "curate/data/line_reader.h"
#include "curate/data/tokenizer.h"
#include "curate/util/error.h"
#include "curate/util/parallel.h"
#include "curate/util/strings.h"
#include "curate/util/terminal.h"

namespace curate::data {
namespace {

std::string thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string one_decimal(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", x);
  return text;
}

// The marker as it may appear inside a JSON string (escaped), for a search in the raw line.
std::string json_escaped(const std::string& text) {
  const std::string quoted = nlohmann::json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// The scored window of one example, decoded, with a mark where `first` and `window` tokens end.
void write_preview(std::ostream& out, int64_t number, const Example& example, const TokenizedExample& t,
                   const Tokenizer& tokenizer, const CheckOptions& options) {
  const int64_t reasoning = static_cast<int64_t>(t.ids.size()) - t.reasoning_start;
  const int64_t window = std::min(options.window_tokens, reasoning);
  const std::span<const TokenId> ids(t.ids);
  out << "---- preview " << number << ": line " << example.line << ", id " << escape_control(example.id, false)
      << ", source " << escape_control(example.source, false) << ", domain " << escape_control(example.domain, false)
      << "\n";
  out << "prompt (" << thousands(t.reasoning_start) << " tokens, not scored):\n"
      << tokenizer.decode(ids.first(static_cast<std::size_t>(t.reasoning_start))) << "\n";
  out << "scored window (" << thousands(window) << " of the " << thousands(reasoning)
      << " tokens after the prompt; the example has " << thousands(t.full_length) << " tokens in all):\n";
  auto piece = [&](int64_t from, int64_t to) {
    return tokenizer.decode(
        ids.subspan(static_cast<std::size_t>(t.reasoning_start + from), static_cast<std::size_t>(to - from)));
  };
  const int64_t first = std::min(options.first_tokens, window);
  out << piece(0, first);
  if (reasoning >= options.first_tokens) out << "\u27e6" << thousands(options.first_tokens) << " tokens\u27e7";
  out << piece(first, window);
  if (reasoning >= options.window_tokens)
    out << "\u27e6" << thousands(options.window_tokens) << " tokens\u27e7\n";
  else
    out << "\u27e6end: " << thousands(reasoning) << " tokens\u27e7\n";
  if (window < reasoning) out << "(" << thousands(reasoning - window) << " more tokens, not scored)\n";
}

}  // namespace

std::vector<std::string> CheckReport::top_skips(std::size_t top) const {
  std::vector<std::pair<std::string, Skips>> sorted(skipped.begin(), skipped.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < sorted.size() && i < top; ++i) {
    const auto& [reason, s] = sorted[i];
    out.push_back(cat(reason, " ", thousands(s.count), " (first: line ", s.first_line, ", ", s.first_detail, ")"));
  }
  return out;
}

namespace {

// An id as the dataset writes it: a JSON string quoted, other JSON as it is.
std::string shown_id(const std::string& id, bool is_text) {
  return escape_control(is_text ? nlohmann::json(id).dump() : id, false);
}

void check_options(const CheckOptions& options) {
  for (const auto& [name, value, least] : {std::tuple<const char*, int64_t, int64_t>{"--preview", options.preview, 0},
                                           {"--records", options.max_records, 0},
                                           {"--sample", options.token_sample, 0},
                                           {"--threads", int64_t{options.threads}, 0},
                                           {"--first-tokens (pass.difficulty_tokens)", options.first_tokens, 1},
                                           {"--window-tokens (pass.profile_tokens)", options.window_tokens, 1}}) {
    if (value < least) throw ConfigError(cat(name, " = ", value, " must be at least ", least));
  }
}

// A Jinja template whose generation prompt ends with the reasoning marker (DeepSeek-R1-Distill's and
// QwQ's "<think>\n") before responses that begin with it too: the response window would score the
// marker twice. Empty when not so.
std::string repeated_think_marker(const ChatTemplate& chat, const CheckOptions& options,
                                  const std::vector<Example>& sample) {
  const std::string& begin = options.data.think_begin;
  if (chat.kind != TemplateKind::kJinja || options.prompt.window != ScoreWindow::kResponse || begin.empty() ||
      begin == "auto" || sample.front().pretokenized)
    return {};
  PromptOptions without_prefix = options.prompt;
  without_prefix.response_prefix.clear();
  std::string prompt = render(chat, without_prefix, sample.front()).prompt;
  prompt.erase(prompt.find_last_not_of(" \t\r\n") + 1);
  if (!prompt.ends_with(begin)) return {};
  int64_t repeated = 0;
  for (const Example& example : sample) {
    const std::string response =
        example.response.empty() ? unescape(options.prompt.response_prefix) + example.reasoning : example.response;
    const auto first = response.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && response.compare(first, begin.size(), begin) == 0) ++repeated;
  }
  if (repeated == 0) return {};
  return cat("the generation prompt of the chat template (", chat.source, ") ends with '", begin, "' and ",
             thousands(repeated), " of the first ", thousands(static_cast<int64_t>(sample.size())),
             " responses begin with it too: the scored window starts with the marker twice; give a template "
             "without it (data.chat_template = file:PATH.jinja) or responses without it");
}

}  // namespace

std::string sniff_data_file(const std::filesystem::path& path) {
  const DatasetFiles files = resolve_dataset(path.string());
  if (files.several) return files.description;
  const Shard& file = files.shards.front();
  std::string kind = format_name(file.format);
  if (file.format != FileFormat::kParquet) {
    unsigned char magic[4] = {0, 0, 0, 0};
    std::ifstream raw(file.path, std::ios::binary);
    raw.read(reinterpret_cast<char*>(magic), 4);
    if (magic[0] == 0x1f && magic[1] == 0x8b) kind += " (gzip)";
    if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) kind += " (zstd)";
  }
  return kind;
}

// Tokenized examples holding an id at or above `vocab` become skips (bad_token_ids), as in the workers.
void count_out_of_vocabulary(const std::vector<Example>& sample, const std::vector<TokenizedExample>& tokens,
                             int64_t vocab, CheckReport& report) {
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const auto outside =
        std::find_if(tokens[i].ids.begin(), tokens[i].ids.end(), [&](TokenId id) { return id >= vocab; });
    if (outside == tokens[i].ids.end()) continue;
    ++report.out_of_vocabulary;
    --report.usable;
    auto& s = report.skipped[std::string(skip_reason_name(SkipReason::kBadTokenIds))];
    if (s.count++ == 0 || sample[i].line < s.first_line) {
      s.first_line = sample[i].line;
      s.first_detail = cat("token id ", *outside, " is outside the model's vocabulary of ", vocab,
                           " (a tokenizer or pre-tokenized data of another model?)");
    }
  }
  if (report.out_of_vocabulary > 0 && report.out_of_vocabulary < static_cast<int64_t>(sample.size())) {
    report.warnings.push_back(cat(thousands(report.out_of_vocabulary), " of the first ",
                                  thousands(static_cast<int64_t>(sample.size())),
                                  " usable records hold token ids outside the model's vocabulary of ", vocab,
                                  ": the workers skip such records (bad_token_ids)"));
  }
}

CheckReport check_dataset(const CheckOptions& given, std::ostream* preview_out) {
  CheckOptions options = given;
  validate(options.data);
  check_options(options);
  CheckReport report;
  report.file_kind = sniff_data_file(options.input);
  if (needs_resolution(options.data)) {  // the job resolves them before its check; `curate_tool check` here
    const RecordIndex index = options.data.id_field == "auto" ? build_index(options.input) : RecordIndex{};
    report.detected = resolve_auto(options.data, options.input, index);
  }
  report.data = options.data;

  std::optional<Tokenizer> tokenizer;
  ChatTemplate chat;
  if (!options.tokenizer.empty()) {
    chat = ChatTemplate::resolve(tokenizer_folder(options.tokenizer), options.prompt.chat_template);
    report.chat_template = chat.name;
    report.template_reason = chat.reason;
    if (!chat.warning.empty()) report.warnings.push_back(chat.warning);
    tokenizer = Tokenizer::load(options.tokenizer);
  }
  const std::string& begin_raw = options.data.think_begin;
  std::map<std::string, int64_t> known_marker_records;  // usable records holding a known begin marker

  std::vector<Example> sample;  // the first usable examples: token statistics and previews
  std::unordered_map<std::string, std::pair<int64_t, bool>> ids;  // id -> first line, id_is_text there
  const auto wanted = static_cast<std::size_t>(std::max(options.token_sample, options.preview));
  DatasetLines reader(options.input, static_cast<std::size_t>(options.data.max_line_bytes));
  Line line;
  while (reader.next(line)) {
    if (!line.too_long && line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (options.max_records > 0 && report.records >= options.max_records) {
      report.all_read = false;
      break;
    }
    ++report.records;
    ParseResult result;
    if (line.too_long) {
      result.reason = SkipReason::kLineTooLong;
      result.detail = cat("line of ", line.length, " bytes exceeds data.max_line_bytes");
    } else {
      result = parse_record_of(options.input, line.text, line.number, options.data);
    }
    if (!result.example) {
      auto& s = report.skipped[std::string(skip_reason_name(result.reason))];
      if (s.count++ == 0) {
        s.first_line = line.number;
        s.first_detail = result.detail;
      }
      continue;
    }
    if (!options.data.id_field.empty() && !options.data.allow_duplicate_ids) {
      const bool text = result.example->id_is_text;
      const auto [seen, first] = ids.try_emplace(result.example->id, line.number, text);
      if (!first) {
        const auto [other_line, other_text] = seen->second;
        throw DataError(cat(options.input, ": lines ", other_line, " and ", line.number, " have the same id ",
                            shown_id(seen->first, other_text), other_text == text ? "" : " and ",
                            other_text == text ? "" : shown_id(result.example->id, text),
                            " (data.id_field = ", options.data.id_field,
                            "): the selected ids could not tell them apart; give every record its own id, or set "
                            "data.allow_duplicate_ids = true"));
      }
    }
    ++report.usable;
    ++report.formats[result.format];
    ++report.sources[result.example->source];
    if (result.example->reasoning_from_text) {
      ++report.marker_candidates;
      if (result.example->reasoning_marked) ++report.marker_records;
      for (const KnownMarkers& m : kKnownMarkers) {
        if (m.begin != begin_raw && (line.text.find(m.begin) != std::string::npos ||
                                     line.text.find(json_escaped(m.begin)) != std::string::npos)) {
          ++known_marker_records[m.begin];
        }
      }
    }
    if (sample.size() < wanted) {
      result.example->offset = line.offset;
      if (reader.files().several && !has_id_field(options.data))
        result.example->id = cat(reader.files().shards[line.shard].name, ":", line.shard_line);
      sample.push_back(std::move(*result.example));
    }
  }

  if (report.marker_candidates > 0 && report.marker_records == 0 && !options.data.think_begin.empty()) {
    std::string warning = cat(
        "data.think_begin '", options.data.think_begin, "' occurs in none of the ", thousands(report.marker_candidates),
        " records whose reasoning comes from an assistant text: each whole text counts as the reasoning");
    for (const KnownMarkers& m : kKnownMarkers) {
      if (auto it = known_marker_records.find(m.begin); it != known_marker_records.end()) {
        warning += cat("; ", thousands(it->second), " of them hold '", m.begin, "': set data.think_begin = ", m.begin,
                       " and data.think_end = ", m.end);
        break;
      }
    }
    report.warnings.push_back(warning);
  } else if (report.marker_records > 0 && report.marker_records < report.marker_candidates) {
    report.warnings.push_back(cat(thousands(report.marker_candidates - report.marker_records), " of ",
                                  thousands(report.marker_candidates), " assistant texts lack data.think_begin '",
                                  options.data.think_begin, "': those are scored whole, as reasoning"));
  }
  if (report.chat_template == "plain" && report.formats.size() > 0 && !report.formats.count("pretokenized")) {
    report.warnings.push_back(
        "the chat template is plain: prompts are the messages joined by blank lines, "
        "without any role markers; set data.chat_template if the model was trained with one");
  }

  if (tokenizer && !sample.empty()) {
    if (std::string repeated = repeated_think_marker(chat, options, sample); !repeated.empty())
      report.warnings.push_back(std::move(repeated));
    std::vector<TokenizedExample> tokens(sample.size());
    parallel_for(
        sample.size(), options.threads, [&] { return Tokenizer::Session(*tokenizer); },
        [&](Tokenizer::Session& session, std::size_t i) {
          tokens[i] = assemble(sample[i], chat, options.prompt, session);
        });
    report.tokenized = static_cast<int64_t>(sample.size());
    if (options.vocab_size > 0) count_out_of_vocabulary(sample, tokens, options.vocab_size, report);
    const std::size_t counted =
        std::min(sample.size(), static_cast<std::size_t>(std::max<int64_t>(options.token_sample, 0)));
    for (std::size_t i = 0; i < counted; ++i) {
      const auto& t = tokens[i];
      const int64_t reasoning = static_cast<int64_t>(t.ids.size()) - t.reasoning_start;
      report.mean_prompt_tokens += static_cast<double>(t.reasoning_start);
      report.mean_reasoning_tokens += static_cast<double>(reasoning);
      report.mean_full_tokens += static_cast<double>(t.full_length);
      report.mean_first_window += static_cast<double>(std::min(options.first_tokens, reasoning));
      report.mean_profile_window += static_cast<double>(std::min(options.window_tokens, reasoning));
    }
    report.sampled = static_cast<int64_t>(counted);
    if (counted > 0) {
      for (double* mean : {&report.mean_prompt_tokens, &report.mean_reasoning_tokens, &report.mean_full_tokens,
                           &report.mean_first_window, &report.mean_profile_window}) {
        *mean /= static_cast<double>(counted);
      }
    }
    if (preview_out != nullptr) {
      for (std::size_t i = 0; i < sample.size() && static_cast<int64_t>(i) < options.preview; ++i) {
        write_preview(*preview_out, static_cast<int64_t>(i + 1), sample[i], tokens[i], *tokenizer, options);
      }
    }
  }
  return report;
}

std::vector<std::string> describe(const CheckReport& r, const CheckOptions& options) {
  std::vector<std::string> lines;
  lines.push_back(cat("data: ", options.input, " (", r.file_kind, "): ", thousands(r.records), " records",
                      r.all_read ? "" : cat(" (the first ", thousands(r.records), " read: data.check_records)"), ", ",
                      thousands(r.usable), " usable, ", thousands(r.records - r.usable), " skipped"));
  if (!r.formats.empty()) {
    std::string formats;
    for (const auto& [format, count] : r.formats)
      formats += cat(formats.empty() ? "" : ", ", format, " ", thousands(count));
    lines.push_back("formats (data.format = " + options.data.format + "): " + formats);
  }
  for (const std::string& skip : r.top_skips(r.skipped.size())) lines.push_back("skipped: " + skip);
  for (const std::string& note : r.detected) lines.push_back("detected: " + note);
  if (!r.chat_template.empty()) lines.push_back(cat("chat template: ", r.chat_template, " (", r.template_reason, ")"));
  if (r.marker_candidates > 0) {
    lines.push_back(cat("reasoning markers '", r.data.think_begin, "' ... '", r.data.think_end, "': found in ",
                        thousands(r.marker_records), " of ", thousands(r.marker_candidates), " assistant texts"));
  }
  if (r.sampled > 0) {
    lines.push_back(cat("tokens (mean over the first ", thousands(r.sampled), " usable examples): prompt ",
                        one_decimal(r.mean_prompt_tokens), ", after the prompt ", one_decimal(r.mean_reasoning_tokens),
                        ", whole example ", one_decimal(r.mean_full_tokens),
                        "; scored: ", one_decimal(r.mean_first_window), " of the first ", options.first_tokens, ", ",
                        one_decimal(r.mean_profile_window), " of the first ", options.window_tokens));
  }
  for (const std::string& warning : r.warnings) lines.push_back("warning: " + warning);
  return lines;
}

void require_usable(const CheckReport& report, const CheckOptions& options) {
  const bool all_outside = report.out_of_vocabulary > 0 && report.out_of_vocabulary == report.tokenized;
  if (report.usable > 0 && !all_outside) return;
  std::string reasons;
  for (const std::string& skip : report.top_skips(3)) reasons += "\n  " + skip;
  const std::string what =
      all_outside ? cat("every one of the first ", thousands(report.tokenized), " usable records of ", options.input,
                        " holds token ids outside the model's vocabulary of ", options.vocab_size)
                  : cat("no usable record in ", options.input, " (", thousands(report.records), " read)");
  throw DataError(cat(
      what, reasons.empty() ? "" : "; the top skip reasons:" + reasons,
      all_outside ? "\nthe tokenizer (model.tokenizer) or the pre-tokenized ids belong to another model than model.path"
                  : "\ncheck data.format and the data.*_field options (curate_tool check --help)"));
}

void require_budget(const CheckReport& report, const CheckOptions& options) {
  if (options.budget <= 0 || !report.all_read || options.budget <= report.usable) return;
  throw ConfigError(cat("select.budget = ", options.budget, " is above the ", thousands(report.usable),
                        " usable records of ", options.input,
                        ": the selection could not meet it; lower select.budget, or give a fraction of the usable "
                        "records (select.budget = 10%)"));
}

void run_check(const CheckOptions& options, std::ostream& out) {
  if (options.input.empty()) throw ConfigError("check needs --input (or data.path in --config)");
  std::ostringstream previews;
  const CheckReport report = check_dataset(options, &previews);
  // Records and source names reach the terminal: their control characters (ESC, OSC, BEL, CR) are shown
  // as escapes, never acted on.
  for (const std::string& line : describe(report, options)) out << escape_control(line) << "\n";
  out << escape_control(previews.str());
  out.flush();
  require_usable(report, options);
  require_budget(report, options);
}

}  // namespace curate::data
