// Dataset records: data::parse_record on one line under DataOptions chosen by the first two bytes,
// then prompt assembly and tokenization of every accepted record (the byte-level fixture tokenizer),
// as a worker does. parse_record throws only DataError for an id, source or domain holding a NUL
// character (refused: stored, it would merge names); assemble may only throw curate::Error.
//   input: [options byte][template byte] line
#include <array>

#include "curate/data/prompt.h"
#include "curate/data/record.h"
#include "curate/util/error.h"
#include "fuzz_support.h"

namespace {

using namespace curate::data;

const Tokenizer& tokenizer() {
  static const Tokenizer instance = Tokenizer::load(CURATE_FIXTURES_DIR "/byte_level/tokenizer.json");
  return instance;
}

DataOptions options_from(uint8_t a, uint8_t b) {
  static const std::array<const char*, 4> kFormats = {"auto", "sharegpt", "flat", "pretokenized"};
  DataOptions o;
  o.format = kFormats[a & 3];
  if (a & 0x04) o.id_field = "id";
  if (a & 0x08) o.reasoning_field = "";      // reasoning from the response text
  if (a & 0x10) o.prompt_field = "problem";  // OpenThoughts
  if (a & 0x20) o.think_begin = "<think>", o.think_end = "</think>";
  if (a & 0x40) o.think_begin.clear();  // the whole response is reasoning
  if (a & 0x80) o.think_end.clear();
  if (b & 0x01) o.source_field.clear();
  if (b & 0x02) o.domain_field = "source";  // two options naming one field
  if (b & 0x04) o.conversations_field = "messages";
  if (b & 0x08) o.ids_field = "ids", o.reasoning_start_field = "start";
  if (b & 0x10) o.answer_field = "reasoning";  // answer and reasoning from one field
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  curate::fuzz::Input input(data, size);
  const uint8_t a = input.byte(), b = input.byte();
  const DataOptions options = options_from(a, b);
  const std::string_view line = input.rest();

  ParseResult result;
  try {
    result = parse_record(line, 7, options);
  } catch (const curate::DataError& e) {
    CURATE_FUZZ_CHECK(std::string_view(e.what()).find("holds a NUL character") != std::string_view::npos);
    return 0;
  }
  if (!result.example) {
    CURATE_FUZZ_CHECK(skip_reason_name(result.reason) != "unknown");
    CURATE_FUZZ_CHECK(!result.detail.empty());
    return 0;
  }
  const Example& example = *result.example;
  CURATE_FUZZ_CHECK(example.line == 7);
  CURATE_FUZZ_CHECK(!example.id.empty());
  if (example.pretokenized) {
    CURATE_FUZZ_CHECK(example.reasoning_start >= 1);
    CURATE_FUZZ_CHECK(example.reasoning_start < static_cast<int64_t>(example.input_ids.size()));
    for (TokenId id : example.input_ids) CURATE_FUZZ_CHECK(id >= 0);
  } else {
    CURATE_FUZZ_CHECK(example.reasoning.find_first_not_of(" \t\r\n") != std::string::npos);
    CURATE_FUZZ_CHECK(!find_invalid_utf8(example.reasoning));
  }

  ChatTemplate chat;
  chat.kind = static_cast<TemplateKind>((b >> 5) % 3);
  chat.bos = chat.kind == TemplateKind::kLlama3 ? "<|begin_of_text|>" : "";
  chat.llama31_dates = (b & 0x80) != 0;
  PromptOptions prompt;
  if (b & 0x20) prompt.generation_prompt = false, prompt.response_prefix = "<|im_start|>think\\n";
  try {
    Tokenizer::Session session(tokenizer());
    const TokenizedExample tokens = assemble(example, chat, prompt, session);
    CURATE_FUZZ_CHECK(tokens.reasoning_start >= 0);
    CURATE_FUZZ_CHECK(tokens.reasoning_start <= static_cast<int64_t>(tokens.ids.size()));
    CURATE_FUZZ_CHECK(tokens.full_length >= static_cast<int64_t>(tokens.ids.size()));
    if (!example.pretokenized) {
      CURATE_FUZZ_CHECK(tokens.reasoning_start < static_cast<int64_t>(tokens.ids.size()));  // reasoning is not empty
      for (TokenId id : tokens.ids) CURATE_FUZZ_CHECK(id >= 0 && id < tokenizer().vocab_size());
    }
  } catch (const curate::Error&) {
  }
  return 0;
}
