#include "curate/util/strings.h"

#include "curate/util/error.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace curate {

std::string format_float(float value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buffer;
}

std::string format_seconds(double seconds) {
  char buffer[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600) {
    auto s = static_cast<long>(seconds);
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  } else {
    auto m = static_cast<long>(seconds / 60);
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", m / 60, m % 60);
  }
  return buffer;
}

}  // namespace curate

namespace curate {

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      const char* mapped = next == 'n' ? "\n" : next == 't' ? "\t" : next == 'r' ? "\r" : next == '\\' ? "\\" : nullptr;
      if (mapped != nullptr) {
        out += mapped;
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace curate

namespace curate {

void reject_option_placeholders(std::string_view text, const std::string& where) {
  // Any %name% (Boost 1.74 substitutes option, canonical_option, original_token, value, prefix and
  // invalid_line; later versions may add names).
  for (std::size_t open = text.find('%'); open != std::string_view::npos; open = text.find('%', open + 1)) {
    std::size_t end = open + 1;
    while (end < text.size() && ((text[end] >= 'a' && text[end] <= 'z') || text[end] == '_')) ++end;
    if (end > open + 1 && end < text.size() && text[end] == '%') {
      throw ConfigError(where + " holds '" + std::string(text.substr(open, end - open + 1)) +
                        "', which the option parser cannot report errors about: remove it");
    }
  }
}

}  // namespace curate

namespace curate {

void reject_options_as_values(int argc, const char* const* argv,
                              const std::function<bool(std::string_view)>& takes_value) {
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string_view arg = argv[i], next = argv[i + 1];
    if (!arg.starts_with("--") || arg.find('=') != std::string_view::npos || !next.starts_with("--")) continue;
    if (takes_value(arg.substr(2))) {
      throw ConfigError(std::string(arg) + " has no value: the next argument '" + std::string(next) +
                        "' is an option (an empty shell variable?); give the value, or write " + std::string(arg) +
                        "=VALUE");
    }
  }
}

}  // namespace curate
