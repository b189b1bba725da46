// Small string helpers that need no formatting library (torch and spdlog bundle different fmt
// versions, so code that sees torch builds messages with these).
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace curate {

// Concatenates the stream representations of all arguments.
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

// Shortest decimal text that reads back as the same float (std::to_chars round-trip form).
std::string format_float(float value);

// Human-readable byte count ("1.5 GiB").
std::string format_bytes(double bytes);

// Human-readable duration ("1h02m", "3m05s", "4.2s").
std::string format_seconds(double seconds);

}  // namespace curate

namespace curate {

// Replaces the escapes \n, \t, \r and \\ (other backslashes stay), so options given in INI files
// or on a command line can hold control characters.
std::string unescape(std::string_view text);

}  // namespace curate

namespace curate {

// Boost.Program_options (1.74) formats its error messages by replacing %option%, %value% and the
// like until none is left, so an argument or INI text holding one of them makes e.what() loop forever.
// Throws ConfigError naming `where` (an argument, a file) when `text` holds any %name% (lowercase
// letters and underscores); call it on every argument and configuration text before parsing them.
void reject_option_placeholders(std::string_view text, const std::string& where);

}  // namespace curate

namespace curate {

// Refuses (ConfigError) a command line where an option that takes a value is followed by another
// option instead of its value (`--select.output --select.budget 5`, as an empty shell variable
// gives), which parsers read as the value or as a missing one. `takes_value(name)` says whether the
// option `--name` takes a value; `--name=value` and short options are left to the parser.
void reject_options_as_values(int argc, const char* const* argv,
                              const std::function<bool(std::string_view)>& takes_value);

}  // namespace curate
