#include "detail/utf8.h"

#include "curate/data/tokenizer.h"

namespace curate::data::detail {

std::size_t utf8_sequence(std::string_view text, std::size_t i, std::size_t& bad) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  bad = 1;
  if (c < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;   // no overlongs
    if (c == 0xed) high = 0x9f;  // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;  // <= U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size()) return 0;
    const unsigned char b = byte(i + k);
    const bool ok = k == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xbf);
    if (!ok) return 0;
    bad = k + 1;
  }
  return length;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t bad = 0;
    std::size_t length = utf8_sequence(bytes, i, bad);
    if (length > 0) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      out.append("\xEF\xBF\xBD");
      i += bad;
    }
  }
  return out;
}

char32_t utf8_decode(std::string_view text, std::size_t i, std::size_t& length) {
  auto c = static_cast<unsigned char>(text[i]);
  char32_t cp;
  if (c < 0x80) return length = 1, c;
  if ((c >> 5) == 0x6)
    cp = c & 0x1f, length = 2;
  else if ((c >> 4) == 0xe)
    cp = c & 0x0f, length = 3;
  else
    cp = c & 0x07, length = 4;
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  return cp;
}

}  // namespace curate::data::detail

namespace curate::data {

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t bad = 0;
    std::size_t length = detail::utf8_sequence(text, i, bad);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

}  // namespace curate::data
