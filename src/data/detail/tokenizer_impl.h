// Internal representation of a loaded tokenizer.json (see curate/data/tokenizer.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "curate/data/tokenizer.h"
#include "detail/bpe.h"
#include "detail/regex.h"

namespace curate::data {

enum class NormalizerKind { kNFC, kNFD, kNFKC, kNFKD };

enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel } kind = Kind::kSplit;
  std::unique_ptr<detail::Regex> regex;  // Split pattern, or ByteLevel's GPT-2 regex when use_regex
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;  // ByteLevel only
};

struct Tokenizer::Impl {
  std::filesystem::path path;
  std::vector<NormalizerKind> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  std::unique_ptr<detail::Bpe> bpe;
  std::vector<AddedToken> added;                   // as listed in the file
  std::vector<std::string> added_match;            // text each added token matches (normalized content if normalized)
  std::vector<std::vector<int>> by_first_byte[2];  // [normalized?][byte] -> indices into `added`, longest first
  std::vector<int> added_index_of_id;              // id -> index into `added`, -1 if none
  std::unique_ptr<detail::Regex> word_char, space_char;  // ^\w and ^\s (Unicode), for added-token flags
  int64_t vocab_size = 0;

  std::string normalize(std::string_view text) const;
};

}  // namespace curate::data
