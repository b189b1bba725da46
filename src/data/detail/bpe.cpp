#include "detail/bpe.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <queue>

#include "curate/util/error.h"

namespace curate::data::detail {
namespace {

constexpr std::size_t kSmallPiece = 48;       // quadratic merging below this many symbols, a heap above
constexpr std::size_t kCacheLimit = 1 << 16;  // cached pieces per session before the cache is reset

uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct ByteAlphabet {
  std::array<char32_t, 256> to_unicode{};
  std::unordered_map<char32_t, unsigned char> to_byte;
  ByteAlphabet() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_unicode[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_unicode[b]] = static_cast<unsigned char>(b);
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet instance;
  return instance;
}

}  // namespace

char32_t byte_to_unicode(unsigned char byte) { return alphabet().to_unicode[byte]; }

std::optional<std::string> unicode_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    char32_t cp;
    int length;
    if (c < 0x80)
      cp = c, length = 1;
    else if ((c >> 5) == 0x6)
      cp = c & 0x1f, length = 2;
    else if ((c >> 4) == 0xe)
      cp = c & 0x0f, length = 3;
    else
      cp = c & 0x07, length = 4;
    if (i + length > text.size()) return std::nullopt;
    for (int k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    auto it = alphabet().to_byte.find(cp);
    if (it == alphabet().to_byte.end()) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
    i += length;
  }
  return out;
}

Bpe::Bpe(const nlohmann::json& model, const std::string& source) {
  auto fail = [&](const std::string& message) { throw DataError(source + ": model: " + message); };
  if (!model.is_object() || model.value("type", "") != "BPE") {
    fail("type " + (model.is_object() && model.contains("type") ? model["type"].dump() : "?") +
         " is not supported; supported: BPE (byte-level)");
  }
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() != 0.0) {
    fail("BPE dropout makes encoding random; set \"dropout\": null");
  }
  if (model.value("byte_fallback", false)) fail("byte_fallback BPE (SentencePiece style) is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty()) {
      fail(std::string(key) + " is not supported for byte-level BPE");
    }
  }
  ignore_merges_ = model.value("ignore_merges", false);

  const auto& vocab = model.contains("vocab") ? model["vocab"] : nlohmann::json();
  if (!vocab.is_object() || vocab.empty()) fail("missing \"vocab\" object");
  TokenId max_id = -1;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
      fail("vocab entry \"" + token + "\" has invalid id " + id.dump() + " (ids go from 0 to " +
           std::to_string(kMaxTokenId) + ")");
    }
    max_id = std::max(max_id, id.get<TokenId>());
  }
  id_to_bytes_.resize(static_cast<std::size_t>(max_id) + 1);
  has_id_.resize(id_to_bytes_.size());
  for (const auto& [token, id] : vocab.items()) {
    auto bytes = unicode_to_bytes(token);
    if (!bytes) continue;  // not representable in the byte alphabet: can never be produced by merges
    vocab_.emplace(*bytes, id.get<TokenId>());
    id_to_bytes_[id.get<std::size_t>()] = *bytes;
    has_id_[id.get<std::size_t>()] = true;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(std::string(1, static_cast<char>(b)));
    if (it == vocab_.end()) fail("vocab lacks the byte-level token for byte " + std::to_string(b));
    byte_ids_[b] = it->second;
  }

  const auto& merges = model.contains("merges") ? model["merges"] : nlohmann::json();
  if (!merges.is_array()) fail("missing \"merges\" array");
  merges_.reserve(merges.size());
  int32_t rank = 0;
  for (const auto& merge : merges) {
    std::string left, right;
    if (merge.is_string()) {  // "a b"
      const auto& text = merge.get_ref<const std::string&>();
      auto space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        fail("merge " + std::to_string(rank) + " \"" + text + "\" is not two tokens separated by one space");
      }
      left = text.substr(0, space), right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>(), right = merge[1].get<std::string>();
    } else {
      fail("merge " + std::to_string(rank) + " must be \"a b\" or [\"a\", \"b\"], got " + merge.dump());
    }
    auto l = unicode_to_bytes(left), r = unicode_to_bytes(right);
    if (!l || !r) fail("merge " + std::to_string(rank) + " uses characters outside the byte-level alphabet");
    auto li = vocab_.find(*l), ri = vocab_.find(*r), mi = vocab_.find(*l + *r);
    if (li == vocab_.end() || ri == vocab_.end() || mi == vocab_.end()) {
      fail("merge " + std::to_string(rank) + " (" + left + " " + right + ") refers to a token missing from the vocab");
    }
    merges_.emplace(pair_key(li->second, ri->second), Merge{rank, mi->second});  // first (lowest) rank wins
    ++rank;
  }
}

std::optional<TokenId> Bpe::find(std::string_view bytes) const {
  auto it = vocab_.find(bytes);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::bytes_of(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= id_to_bytes_.size() || !has_id_[id]) return nullptr;
  return &id_to_bytes_[id];
}

const Bpe::Merge* Bpe::merge_of(TokenId left, TokenId right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void Bpe::merge_small(std::vector<TokenId>& ids) const {
  while (ids.size() > 1) {
    int32_t best_rank = std::numeric_limits<int32_t>::max();
    std::size_t best = 0;
    TokenId merged = 0;
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
      const Merge* m = merge_of(ids[i], ids[i + 1]);
      if (m != nullptr && m->rank < best_rank) best_rank = m->rank, best = i, merged = m->merged;
    }
    if (best_rank == std::numeric_limits<int32_t>::max()) return;
    ids[best] = merged;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

// Lowest (rank, position) first over a doubly linked list of symbols, as `tokenizers` does.
void Bpe::merge_large(std::vector<TokenId>& ids) const {
  const auto n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int32_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank, pos;
    TokenId merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const Merge* m = merge_of(ids[pos], ids[next[pos]])) queue.push({m->rank, pos, m->merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] < 0) continue;
    const Merge* current = merge_of(ids[top.pos], ids[next[top.pos]]);
    if (current == nullptr || current->merged != top.merged || current->rank != top.rank) continue;  // stale
    const int32_t right = next[top.pos];
    ids[top.pos] = top.merged;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    push(prev[top.pos]);
    push(top.pos);
  }
  std::size_t out = 0;
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) ids[out++] = ids[i];
  ids.resize(out);
}

void Bpe::encode(std::string_view piece, std::vector<TokenId>& out, PieceCache& cache) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (piece.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (auto it = cache.find(piece); it != cache.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<TokenId> ids(piece.size());
  for (std::size_t i = 0; i < piece.size(); ++i) ids[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  if (ids.size() <= kSmallPiece) {
    merge_small(ids);
  } else {
    merge_large(ids);
  }
  out.insert(out.end(), ids.begin(), ids.end());
  if (cache.size() >= kCacheLimit) cache.clear();
  cache.emplace(std::string(piece), std::move(ids));
}

}  // namespace curate::data::detail
