// Encoding and decoding with a loaded tokenizer (loading is in tokenizer_load.cpp).
#include "curate/data/tokenizer.h"

#include "curate/util/error.h"
#include "curate/util/parallel.h"
#include "detail/tokenizer_impl.h"
#include "detail/utf8.h"

namespace curate::data {

struct Tokenizer::Session::State {
  const Impl* impl;
  std::vector<detail::Matcher> matchers;  // one per pre-tokenizer step with a regex (same order)
  detail::Matcher word, space;
  detail::PieceCache cache;
  std::vector<std::string_view> pieces, next_pieces;
  std::vector<std::string> prefixed;  // storage for pieces that got a prefix space

  explicit State(const Impl& owner) : impl(&owner), word(*owner.word_char), space(*owner.space_char) {
    for (const auto& step : owner.pre_tokenizers) {
      if (step.regex) matchers.emplace_back(*step.regex);
    }
  }

  bool is_class(detail::Matcher& matcher, std::string_view text, std::size_t at) {
    std::size_t length = 0, begin = 0, end = 0;
    detail::utf8_decode(text, at, length);
    return matcher.find(text.substr(at, length), 0, begin, end);
  }
  // Start of the code point that ends at `end` (exclusive).
  static std::size_t previous_char(std::string_view text, std::size_t end) {
    std::size_t i = end - 1;
    while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) --i;
    return i;
  }

  void encode_segment(std::string_view text, bool normalized_pass, std::vector<TokenId>& out);
  void pre_tokenize_and_merge(std::string_view text, std::vector<TokenId>& out);
  void split(std::string_view piece, const PreTokenizerStep& step, detail::Matcher& matcher);
};

// Splits out added tokens (leftmost-longest, as an Aho-Corasick automaton in leftmost-longest mode
// would), honouring single_word, lstrip and rstrip; the text between goes on to normalization (first
// pass) or pre-tokenization (second pass).
void Tokenizer::Session::State::encode_segment(std::string_view text, bool normalized_pass, std::vector<TokenId>& out) {
  const auto& table = impl->by_first_byte[normalized_pass];
  std::size_t done = 0;  // text[0, done) is handled
  auto flush = [&](std::size_t until) {
    if (until <= done) return;
    std::string_view gap = text.substr(done, until - done);
    if (!normalized_pass) {
      if (impl->normalizers.empty()) {
        encode_segment(gap, true, out);
      } else {
        const std::string normalized = impl->normalize(gap);
        encode_segment(normalized, true, out);
      }
    } else {
      pre_tokenize_and_merge(gap, out);
    }
  };
  std::size_t i = done;
  while (i < text.size()) {
    const auto& candidates = table[static_cast<unsigned char>(text[i])];
    int found = -1;
    for (int index : candidates) {
      const std::string& match = impl->added_match[index];
      if (text.compare(i, match.size(), match) == 0) {
        found = index;
        break;
      }
    }
    if (found < 0) {
      ++i;
      continue;
    }
    const AddedToken& token = impl->added[found];
    std::size_t start = i, stop = i + impl->added_match[found].size();
    i = stop;  // a discarded match is consumed all the same
    if (token.single_word) {
      const bool word_before = start > 0 && is_class(word, text, previous_char(text, start));
      const bool word_after = stop < text.size() && is_class(word, text, stop);
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (start > done && is_class(space, text, previous_char(text, start))) start = previous_char(text, start);
    }
    if (token.rstrip) {
      while (stop < text.size() && is_class(space, text, stop)) {
        std::size_t length = 0;
        detail::utf8_decode(text, stop, length);
        stop += length;
      }
      i = stop;
    }
    flush(start);
    out.push_back(token.id);
    done = stop;
  }
  flush(text.size());
}

void Tokenizer::Session::State::split(std::string_view piece, const PreTokenizerStep& step, detail::Matcher& matcher) {
  struct Part {
    std::string_view text;
    bool matched;
  };
  std::vector<Part> parts;
  std::size_t offset = 0, begin = 0, end = 0;
  while (offset < piece.size() && matcher.find(piece, offset, begin, end)) {
    if (end == begin) {  // empty match: step over one character
      std::size_t length = 0;
      detail::utf8_decode(piece, begin, length);
      if (begin > offset) parts.push_back({piece.substr(offset, begin - offset), step.invert});
      parts.push_back({piece.substr(begin, length), step.invert});
      offset = begin + length;
      continue;
    }
    if (begin > offset) parts.push_back({piece.substr(offset, begin - offset), step.invert});
    parts.push_back({piece.substr(begin, end - begin), !step.invert});
    offset = end;
  }
  if (offset < piece.size()) parts.push_back({piece.substr(offset), step.invert});

  auto join = [&](std::string_view a, std::string_view b) {  // adjacent views of one buffer
    return std::string_view(a.data(), a.size() + b.size());
  };
  std::vector<std::string_view> result;
  bool pending_next = false;
  bool last_matched = false;
  for (const Part& part : parts) {
    switch (step.behavior) {
      case SplitBehavior::kIsolated:
        result.push_back(part.text);
        break;
      case SplitBehavior::kRemoved:
        if (!part.matched) result.push_back(part.text);
        break;
      case SplitBehavior::kMergedWithPrevious:
        if (part.matched && !result.empty())
          result.back() = join(result.back(), part.text);
        else
          result.push_back(part.text);
        break;
      case SplitBehavior::kMergedWithNext:
        if (pending_next)
          result.back() = join(result.back(), part.text);
        else
          result.push_back(part.text);
        pending_next = part.matched;
        break;
      case SplitBehavior::kContiguous:
        if (part.matched && last_matched && !result.empty())
          result.back() = join(result.back(), part.text);
        else
          result.push_back(part.text);
        break;
    }
    last_matched = part.matched;
  }
  next_pieces.insert(next_pieces.end(), result.begin(), result.end());
}

void Tokenizer::Session::State::pre_tokenize_and_merge(std::string_view text, std::vector<TokenId>& out) {
  if (text.empty()) return;
  pieces.assign(1, text);
  prefixed.clear();
  prefixed.reserve(1);
  std::size_t matcher = 0;
  for (const auto& step : impl->pre_tokenizers) {
    if (step.kind == PreTokenizerStep::Kind::kByteLevel && step.add_prefix_space) {
      for (auto& piece : pieces) {
        if (!piece.empty() && piece[0] != ' ') {
          prefixed.push_back(" " + std::string(piece));  // pieces are re-pointed below; reserve avoids moves
        }
      }
      // Re-point in a second loop: `prefixed` may have reallocated while growing.
      std::size_t k = 0;
      for (auto& piece : pieces) {
        if (!piece.empty() && piece[0] != ' ') piece = prefixed[k++];
      }
    }
    if (!step.regex) continue;
    next_pieces.clear();
    for (std::string_view piece : pieces) split(piece, step, matchers[matcher]);
    pieces.swap(next_pieces);
    ++matcher;
  }
  for (std::string_view piece : pieces) impl->bpe->encode(piece, out, cache);
}

Tokenizer::Session::Session(const Tokenizer& tokenizer) : state_(std::make_unique<State>(*tokenizer.impl_)) {}
Tokenizer::Session::~Session() = default;
Tokenizer::Session::Session(Session&&) noexcept = default;
Tokenizer::Session& Tokenizer::Session::operator=(Session&&) noexcept = default;

void Tokenizer::Session::encode(std::string_view text, std::vector<TokenId>& out) {
  if (auto bad = find_invalid_utf8(text)) {
    throw DataError("text is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  }
  state_->encode_segment(text, /*normalized_pass=*/false, out);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text) const {
  std::vector<TokenId> ids;
  Session(*this).encode(text, ids);
  return ids;
}

std::vector<std::vector<TokenId>> Tokenizer::encode_batch(std::span<const std::string> texts, int threads) const {
  std::vector<std::vector<TokenId>> results(texts.size());
  std::size_t failed = 0;
  try {
    parallel_for(
        texts.size(), threads, [&] { return Session(*this); },
        [&](Session& session, std::size_t i) { session.encode(texts[i], results[i]); }, &failed);
  } catch (const Error& e) {
    throw DataError("document " + std::to_string(failed) + ": " + e.what());
  }
  return results;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
  std::string bytes;
  for (TokenId id : ids) {
    const int added = id >= 0 && id < impl_->vocab_size ? impl_->added_index_of_id[id] : -1;
    if (added >= 0) {
      if (!(skip_special && impl_->added[added].special)) bytes += impl_->added[added].content;
    } else if (const std::string* token = impl_->bpe->bytes_of(id)) {
      bytes += *token;
    } else {
      throw DataError("cannot decode token id " + std::to_string(id) + ": not in the vocabulary of " +
                      impl_->path.string());
    }
  }
  return detail::utf8_lossy(bytes);
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  for (const auto& added : impl_->added) {
    if (added.content == token) return added.id;
  }
  if (auto bytes = detail::unicode_to_bytes(token)) return impl_->bpe->find(*bytes);
  return std::nullopt;
}

int64_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }
const std::filesystem::path& Tokenizer::path() const { return impl_->path; }

}  // namespace curate::data
