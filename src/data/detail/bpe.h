// Byte-level BPE model: vocabulary and merge ranks over raw bytes (the GPT-2 byte-to-unicode
// alphabet of tokenizer.json is undone at load time, so encoding never builds unicode strings).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "curate/data/tokenizer.h"

namespace curate::data::detail {

// Largest token id a tokenizer.json may use (vocabulary or added token): tables indexed by id are
// allocated up to it, so a damaged file cannot ask for gigabytes. Real vocabularies stay below 2^20.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

// GPT-2 byte <-> unicode code point mapping used by ByteLevel pre-tokenizers and decoders.
char32_t byte_to_unicode(unsigned char byte);
// Inverse mapping of a UTF-8 string of such code points; nullopt if a code point is not in the alphabet.
std::optional<std::string> unicode_to_bytes(std::string_view text);

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};
using PieceCache = std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>>;

class Bpe {
 public:
  // `model` is tokenizer.json's "model" object; `source` names the file in errors.
  Bpe(const nlohmann::json& model, const std::string& source);

  // Appends the ids of one pre-tokenized piece (raw bytes). `cache` may be shared by calls of one thread.
  void encode(std::string_view piece, std::vector<TokenId>& out, PieceCache& cache) const;

  std::optional<TokenId> find(std::string_view bytes) const;
  // Raw bytes of token `id`, or nullptr when the id is not in the model vocabulary.
  const std::string* bytes_of(TokenId id) const;
  TokenId max_id() const { return static_cast<TokenId>(id_to_bytes_.size()) - 1; }

 private:
  struct Merge {
    int32_t rank;
    TokenId merged;
  };
  const Merge* merge_of(TokenId left, TokenId right) const;
  void merge_small(std::vector<TokenId>& ids) const;
  void merge_large(std::vector<TokenId>& ids) const;

  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> vocab_;
  std::vector<std::string> id_to_bytes_;
  std::vector<bool> has_id_;
  std::array<TokenId, 256> byte_ids_{};
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
};

}  // namespace curate::data::detail
