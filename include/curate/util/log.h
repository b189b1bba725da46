// Logging interface. spdlog lives behind it (in curate_util), so translation units that include
// torch headers, which bundle a different fmt, can log too. Thread-safe.
#pragma once

#include <exception>
#include <string_view>

namespace curate::log {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug", "info", "warn", "error", "off"; throws ConfigError otherwise.
Level parse_level(std::string_view name);
void set_level(Level level);
Level level();

// Raises the level to at least `least` while alive, then restores the level it found: ranks that
// repeat rank 0's computation (the selection) keep its warnings from printing once per rank.
class LevelScope {
 public:
  explicit LevelScope(Level least) : saved_(level()) {
    if (least > saved_) set_level(least);
  }
  ~LevelScope() { set_level(saved_); }
  LevelScope(const LevelScope&) = delete;
  LevelScope& operator=(const LevelScope&) = delete;

 private:
  Level saved_;
};
// Prefix every line with "[rank N]" (set once MPI is up).
void set_rank(int rank);

void debug(std::string_view message);
void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);

// A main's one catch: the exit code `e` stands for (Error::exit_code(); a std::filesystem error, from
// creating, renaming or removing an output: kExitStore; anything else: kExitInternal), logging it
// (with what to check, or as unexpected) unless `quiet`.
int exit_code_logged(const std::exception& e, bool quiet = false);

}  // namespace curate::log
