// Hugging Face `tokenizer.json` tokenizers of the byte-level BPE family (Qwen2/2.5/3, Llama-3/3.1,
// GPT-2 style), producing the ids `tokenizers` produces with add_special_tokens=False.
//
// Pipeline: added tokens are split out first (non-normalized ones on the raw text, normalized ones
// after normalization), the rest is normalized (NFC/NFD/NFKC/NFKD via utf8proc), pre-tokenized
// (Split with the file's own regex through PCRE2, ByteLevel) and BPE-merged by rank.
// A Tokenizer is immutable after loading and safe to share between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace curate::data {

using TokenId = int32_t;

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool lstrip = false;       // absorb whitespace on the left
  bool rstrip = false;       // absorb whitespace on the right
  bool single_word = false;  // match only when not inside a word
  bool normalized = false;   // match against the normalized text
  bool special = false;
};

class Tokenizer {
 public:
  // Loads `path` (a tokenizer.json, or a folder holding one). Throws DataError naming the file and
  // the unsupported component ("pre_tokenizer type 'Metaspace'") or malformed entry.
  static Tokenizer load(const std::filesystem::path& path);

  // Per-thread scratch: regex match data and a cache of BPE results for recent pieces.
  // Not thread-safe; give each thread its own.
  class Session {
   public:
    explicit Session(const Tokenizer& tokenizer);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;
    // Appends the ids of `text` to `out`. Throws DataError for invalid UTF-8 (byte offset named).
    void encode(std::string_view text, std::vector<TokenId>& out);

   private:
    struct State;
    std::unique_ptr<State> state_;
  };

  // Convenience: one document with a temporary session.
  std::vector<TokenId> encode(std::string_view text) const;
  // Many documents on `threads` threads (0 = all cores); result i belongs to texts[i].
  // The first failure is rethrown after all threads stop, naming the document index.
  std::vector<std::vector<TokenId>> encode_batch(std::span<const std::string> texts, int threads = 0) const;

  // Text of `ids` (byte-level decoding; invalid UTF-8 sequences become U+FFFD as in transformers).
  std::string decode(std::span<const TokenId> ids, bool skip_special = false) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;  // model vocabulary or added token
  int64_t vocab_size() const;                                        // largest id + 1, added tokens included
  const std::vector<AddedToken>& added_tokens() const;
  const std::filesystem::path& path() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The folder of a tokenizer given as Tokenizer::load takes it (a folder, or a tokenizer.json in one):
// where its tokenizer_config.json and chat template live (ChatTemplate::resolve).
std::filesystem::path tokenizer_folder(const std::filesystem::path& tokenizer);

// Position of the first invalid UTF-8 byte of `text`, or nullopt when it is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace curate::data
