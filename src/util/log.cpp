#include "curate/util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>

#include "curate/util/error.h"
#include "curate/util/terminal.h"

namespace curate::log {
namespace {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto created = spdlog::stderr_color_mt("curate");
    created->set_pattern("[%H:%M:%S] %^%l%$ %v");
    return created;
  }();
  return *instance;
}

}  // namespace

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  throw ConfigError("unknown log level '" + std::string(name) + "': use debug, info, warn, error or off");
}

void set_level(Level level) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
                                                       spdlog::level::err, spdlog::level::off};
  logger().set_level(kMap[static_cast<int>(level)]);
}

Level level() {
  switch (logger().level()) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return Level::kError;
    default:
      return Level::kOff;
  }
}

void set_rank(int rank) { logger().set_pattern("[%H:%M:%S] [rank " + std::to_string(rank) + "] %^%l%$ %v"); }

// Messages quote data (sources, ids, paths, records): escape_control keeps their control characters
// from acting on the terminal; the newlines messages are written with stay.
void debug(std::string_view message) { logger().debug("{}", escape_control(message)); }
void info(std::string_view message) { logger().info("{}", escape_control(message)); }
void warn(std::string_view message) { logger().warn("{}", escape_control(message)); }
void error(std::string_view message) { logger().error("{}", escape_control(message)); }

int exit_code_logged(const std::exception& e, bool quiet) {
  std::string message = e.what();
  int code = exit_code_of(e);
  if (dynamic_cast<const std::filesystem::filesystem_error*>(&e) != nullptr) {
    message += ": check that the folder exists, is writable and has free space";
    code = kExitStore;
  } else if (dynamic_cast<const Error*>(&e) == nullptr) {
    message = "unexpected error: " + message;
  }
  if (!quiet) error(message);
  return code;
}

}  // namespace curate::log
