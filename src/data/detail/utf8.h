// UTF-8 validation and repair.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace curate::data::detail {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid; `bad` is then
// the number of bytes forming the maximal invalid subpart (at least 1) to replace with U+FFFD.
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::size_t& bad);

// `bytes` with each maximal invalid subpart replaced by U+FFFD (like Rust's from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);

// Decodes the code point at text[i] (valid UTF-8 assumed) and its length.
char32_t utf8_decode(std::string_view text, std::size_t i, std::size_t& length);

}  // namespace curate::data::detail
