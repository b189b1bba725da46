#include "curate/util/terminal.h"

#include <cstdint>
#include <cstdio>

namespace curate {
namespace {

void append_hex(std::string& out, const char* format, unsigned value) {
  char buffer[12];
  std::snprintf(buffer, sizeof buffer, format, value);
  out += buffer;
}

// The length of the valid UTF-8 sequence at `text[i]` and its code point; 0 when it is not one.
std::size_t utf8_sequence(std::string_view text, std::size_t i, uint32_t& code) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  code = length == 1 ? lead : length == 2 ? lead & 0x1Fu : length == 3 ? lead & 0x0Fu : lead & 0x07u;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3Fu);
  }
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

bool shown_as_code(uint32_t code) {
  return (code >= 0x80 && code <= 0x9F) ||      // C1 controls (0x9B is CSI for some terminals)
         (code >= 0x202A && code <= 0x202E) ||  // bidirectional embeddings and overrides
         (code >= 0x2066 && code <= 0x2069);    // bidirectional isolates
}

}  // namespace

std::string escape_control(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || (c == '\n' && keep_newlines) || (c >= 0x20 && c < 0x7F)) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t code = 0;
    const std::size_t length = c < 0x80 ? 0 : utf8_sequence(text, i, code);
    if (length == 0) {  // a control character, DEL or a byte that is not UTF-8
      append_hex(out, "\\x%02x", c);
      ++i;
    } else if (shown_as_code(code)) {
      append_hex(out, "\\u%04x", code);
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace curate
