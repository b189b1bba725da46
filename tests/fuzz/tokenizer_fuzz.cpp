// tokenizer.json loading and encoding.
//   input: [mode byte] ...
//   mode even: tokenizer.json text, the separator "\n\xff\xff\n", then a text to encode with it
//              (the text also goes through decode); Tokenizer::load may only throw curate::Error.
//   mode odd:  a text encoded by one of the fixture tokenizers (and, when present, the real Qwen3 and
//              Llama-3.1 tokenizers of tests/data/reference), loaded once; only invalid UTF-8 may be
//              refused, ids must be in the vocabulary, and Llama 3.1 must decode back to the text.
#include <memory>
#include <vector>

#include "curate/data/tokenizer.h"
#include "curate/util/error.h"
#include "fuzz_support.h"

namespace {

using namespace curate::data;

struct Loaded {
  Tokenizer tokenizer;
  bool round_trips;  // decode(encode(text)) == text for valid UTF-8 text (no normalizer, prefix space or lstrip)
};

const std::vector<Loaded>& fixtures() {
  static const std::vector<Loaded> all = [] {
    std::vector<Loaded> out;
    for (const char* name : {"byte_level", "legacy_merges", "split_behaviors"}) {  // NFKC, prefix space, Removed
      out.push_back({Tokenizer::load(std::filesystem::path(CURATE_FIXTURES_DIR) / name), false});
    }
    for (const char* name : {"qwen3", "llama3_1"}) {  // Qwen3 normalizes to NFC; Llama 3.1 round-trips
      const std::filesystem::path path = std::filesystem::path(CURATE_TOKENIZERS_DIR) / name;
      if (std::filesystem::exists(path / "tokenizer.json")) out.push_back({Tokenizer::load(path), name[0] == 'l'});
    }
    return out;
  }();
  return all;
}

// `known`: a tokenizer of the test data, which may refuse a text only for invalid UTF-8 (a fuzzed
// tokenizer.json may also hit PCRE2's limits with its own regex).
void encode_and_decode(const Tokenizer& tokenizer, std::string_view text, bool known, bool round_trips) {
  std::vector<TokenId> ids;
  try {
    Tokenizer::Session session(tokenizer);
    session.encode(text, ids);
  } catch (const curate::Error&) {
    CURATE_FUZZ_CHECK(find_invalid_utf8(text).has_value() || !known);
    return;
  }
  CURATE_FUZZ_CHECK(!find_invalid_utf8(text));
  for (TokenId id : ids) CURATE_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  const std::string back = tokenizer.decode(ids);
  if (round_trips) CURATE_FUZZ_CHECK(back == text);
}

}  // namespace

// The real tokenizers take seconds to load under ASan: before the first input, outside its timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixtures();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  curate::fuzz::Input input(data, size);
  const uint8_t mode = input.byte();
  if (mode & 1) {
    const auto& all = fixtures();
    const Loaded& loaded = all[(mode >> 1) % all.size()];
    encode_and_decode(loaded.tokenizer, input.rest(), true, loaded.round_trips);
    return 0;
  }
  const std::string_view json = input.until("\n\xff\xff\n");
  const std::string_view text = input.rest();
  const auto path = curate::fuzz::write_scratch(mode & 2 ? "tokenizer.json" : "t.json", json);
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(path));
  } catch (const curate::Error&) {
    return 0;
  }
  CURATE_FUZZ_CHECK(tokenizer->vocab_size() > 0);
  encode_and_decode(*tokenizer, text, false, false);
  for (const AddedToken& token : tokenizer->added_tokens())
    CURATE_FUZZ_CHECK(tokenizer->token_to_id(token.content).has_value());
  return 0;
}
