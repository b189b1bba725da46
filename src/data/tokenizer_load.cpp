// Loading tokenizer.json: every component is checked here, so encoding never meets an unsupported one.
#include <utf8proc.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "curate/data/tokenizer.h"
#include "curate/util/error.h"
#include "detail/tokenizer_impl.h"

namespace curate::data {
namespace {

using nlohmann::json;

// The GPT-2 pattern that ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string type_of(const json& node) {
  return node.is_object() && node.contains("type") && node["type"].is_string() ? node["type"].get<std::string>() : "?";
}

void add_normalizer(const json& node, std::vector<NormalizerKind>& out, const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node);
  if (type == "Sequence") {
    if (!node.contains("normalizers") || !node["normalizers"].is_array()) {
      throw DataError(source + ": normalizer Sequence lacks a \"normalizers\" array");
    }
    for (const auto& child : node["normalizers"]) add_normalizer(child, out, source);
  } else if (type == "NFC") {
    out.push_back(NormalizerKind::kNFC);
  } else if (type == "NFD") {
    out.push_back(NormalizerKind::kNFD);
  } else if (type == "NFKC") {
    out.push_back(NormalizerKind::kNFKC);
  } else if (type == "NFKD") {
    out.push_back(NormalizerKind::kNFKD);
  } else {
    throw DataError(source + ": normalizer type '" + type +
                    "' is not supported; supported: NFC, NFD, NFKC, NFKD, Sequence");
  }
}

SplitBehavior parse_behavior(const json& node, const std::string& source) {
  const std::string name = node.value("behavior", "Isolated");
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw DataError(source + ": pre_tokenizer Split behavior '" + name + "' is not supported");
}

std::string escape_literal(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void add_pre_tokenizer(const json& node, std::vector<PreTokenizerStep>& out, bool& byte_level,
                       const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node);
  if (type == "Sequence") {
    if (!node.contains("pretokenizers") || !node["pretokenizers"].is_array()) {
      throw DataError(source + ": pre_tokenizer Sequence lacks a \"pretokenizers\" array");
    }
    for (const auto& child : node["pretokenizers"]) add_pre_tokenizer(child, out, byte_level, source);
  } else if (type == "Split") {
    PreTokenizerStep step;
    const json& pattern = node.contains("pattern") ? node["pattern"] : json();
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      regex = escape_literal(pattern["String"].get<std::string>());
    } else {
      throw DataError(source + ": pre_tokenizer Split needs a pattern {\"Regex\": ...} or {\"String\": ...}");
    }
    step.regex = std::make_unique<detail::Regex>(regex, source + ": pre_tokenizer Split");
    step.behavior = parse_behavior(node, source);
    step.invert = node.value("invert", false);
    out.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::kByteLevel;
    step.add_prefix_space = node.value("add_prefix_space", false);
    if (node.value("use_regex", true)) step.regex = std::make_unique<detail::Regex>(kGpt2Pattern, "ByteLevel");
    byte_level = true;
    out.push_back(std::move(step));
  } else {
    throw DataError(source + ": pre_tokenizer type '" + type +
                    "' is not supported; supported: Split, ByteLevel, Sequence (byte-level BPE tokenizers)");
  }
}

void check_decoder(const json& node, const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node);
  if (type == "ByteLevel") return;
  if (type == "Sequence" && node.contains("decoders") && node["decoders"].is_array()) {
    for (const auto& child : node["decoders"]) check_decoder(child, source);
    return;
  }
  throw DataError(source + ": decoder type '" + type + "' is not supported; supported: ByteLevel");
}

}  // namespace

std::string Tokenizer::Impl::normalize(std::string_view text) const {
  std::string current(text);
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return current;  // every Unicode normal form leaves ASCII unchanged
  for (NormalizerKind kind : normalizers) {
    int options = UTF8PROC_STABLE;
    if (kind == NormalizerKind::kNFC || kind == NormalizerKind::kNFKC) options |= UTF8PROC_COMPOSE;
    if (kind == NormalizerKind::kNFD || kind == NormalizerKind::kNFKD) options |= UTF8PROC_DECOMPOSE;
    if (kind == NormalizerKind::kNFKC || kind == NormalizerKind::kNFKD) options |= UTF8PROC_COMPAT;
    utf8proc_uint8_t* mapped = nullptr;
    utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(current.data()),
                     static_cast<utf8proc_ssize_t>(current.size()), &mapped, static_cast<utf8proc_option_t>(options));
    if (n < 0) throw DataError(std::string("unicode normalization failed: ") + utf8proc_errmsg(n));
    current.assign(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
    std::free(mapped);
  }
  return current;
}

namespace {

// Every component of a parsed tokenizer.json, checked (nlohmann exceptions for mistyped fields escape).
std::shared_ptr<Tokenizer::Impl> build(const json& root, const std::filesystem::path& path) {
  const std::string source = path.string();
  auto impl = std::make_shared<Tokenizer::Impl>();
  impl->path = path;
  add_normalizer(root.value("normalizer", json()), impl->normalizers, source);
  bool byte_level = false;
  add_pre_tokenizer(root.value("pre_tokenizer", json()), impl->pre_tokenizers, byte_level, source);
  if (!byte_level) {
    throw DataError(
        source + ": no ByteLevel pre_tokenizer; only byte-level BPE tokenizers (GPT-2, Qwen, Llama-3) are supported");
  }
  check_decoder(root.value("decoder", json()), source);
  impl->bpe = std::make_unique<detail::Bpe>(root.value("model", json()), source);
  int64_t max_id = impl->bpe->max_id();

  const json& added = root.value("added_tokens", json::array());
  if (!added.is_array()) throw DataError(source + ": \"added_tokens\" must be an array");
  for (const auto& node : added) {
    if (!node.is_object() || !node.contains("id") || !node["id"].is_number_integer() || !node.contains("content") ||
        !node["content"].is_string() || node["content"].get<std::string>().empty() || node["id"].get<int64_t>() < 0 ||
        node["id"].get<int64_t>() > detail::kMaxTokenId) {
      throw DataError(source + ": malformed added token " + node.dump());
    }
    AddedToken token{node["content"].get<std::string>(), node["id"].get<TokenId>(),
                     node.value("lstrip", false),        node.value("rstrip", false),
                     node.value("single_word", false),   node.value("normalized", false),
                     node.value("special", false)};
    if (find_invalid_utf8(token.content))
      throw DataError(source + ": added token id " + std::to_string(token.id) + " is not UTF-8");
    impl->added_match.push_back(token.normalized ? impl->normalize(token.content) : token.content);
    max_id = std::max<int64_t>(max_id, token.id);
    impl->added.push_back(std::move(token));
  }
  impl->vocab_size = max_id + 1;
  impl->added_index_of_id.assign(static_cast<std::size_t>(impl->vocab_size), -1);
  for (int norm = 0; norm < 2; ++norm) impl->by_first_byte[norm].resize(256);
  for (std::size_t i = 0; i < impl->added.size(); ++i) {
    impl->added_index_of_id[impl->added[i].id] = static_cast<int>(i);
    const std::string& match = impl->added_match[i];
    impl->by_first_byte[impl->added[i].normalized][static_cast<unsigned char>(match[0])].push_back(static_cast<int>(i));
  }
  for (auto& table : impl->by_first_byte) {
    for (auto& candidates : table) {
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](int a, int b) { return impl->added_match[a].size() > impl->added_match[b].size(); });
    }
  }
  impl->word_char = std::make_unique<detail::Regex>(R"(^\w)", "word character");
  impl->space_char = std::make_unique<detail::Regex>(R"(^\s)", "space character");
  return impl;
}

}  // namespace

std::filesystem::path tokenizer_folder(const std::filesystem::path& tokenizer) {
  return std::filesystem::is_directory(tokenizer) ? tokenizer : tokenizer.parent_path();
}

Tokenizer Tokenizer::load(const std::filesystem::path& given) {
  const std::filesystem::path path = std::filesystem::is_directory(given) ? given / "tokenizer.json" : given;
  const std::string source = path.string();
  std::ifstream in(path);
  if (!in) throw DataError("cannot read tokenizer '" + source + "': give a tokenizer.json or a folder holding one");
  std::stringstream text;
  text << in.rdbuf();
  json root = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) throw DataError(source + ": not a JSON object");
  try {
    return Tokenizer(build(root, path));
  } catch (const json::exception& e) {  // a field of the wrong type ("add_prefix_space": "yes")
    throw DataError(source + ": a field has the wrong type (" + e.what() + ")");
  }
}

}  // namespace curate::data
