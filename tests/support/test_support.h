// Helpers shared by the tests: where the reference data lives, scratch folders, file helpers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace curate::testing {

// tests/data/reference (README.md there: provenance and licences), read in place.
inline std::filesystem::path reference_dir() { return CURATE_REFERENCE_DIR; }

// A tiny golden model folder: reference/golden/models/<name> (config.json, safetensors, golden.json).
inline std::filesystem::path golden_model(const std::string& name) {
  return reference_dir() / "golden" / "models" / name;
}

// Hugging Face reference encodings: reference/golden/tokenizers/<name>_golden.jsonl.
inline std::filesystem::path golden_encodings(const std::string& name) {
  return reference_dir() / "golden" / "tokenizers" / (name + "_golden.jsonl");
}

// A real tokenizer folder (qwen3, llama3_1: tokenizer.json + tokenizer_config.json), unpacked by
// CMake from reference/tokenizers/<name>.tar.zst into the build folder.
inline std::filesystem::path tokenizer_dir(const std::string& name) {
  return std::filesystem::path(CURATE_TOKENIZERS_DIR) / name;
}

// A fresh folder under the system temp dir, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "scratch";
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = std::filesystem::temp_directory_path() / ("curate_test_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Copies a model folder (read-only sources become writable copies).
inline void copy_model(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::create_directories(to);
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    write_file(to / entry.path().filename(), read_file(entry.path()));
  }
}

// Runs `expression`, expecting an exception of type E whose message contains every `needles` entry.
#define EXPECT_THROW_WITH(expression, E, ...)                                             \
  do {                                                                                    \
    try {                                                                                 \
      (void)(expression);                                                                 \
      ADD_FAILURE() << "expected " #E " from " #expression;                               \
    } catch (const E& error) {                                                            \
      for (const std::string& needle : std::initializer_list<std::string>{__VA_ARGS__}) { \
        EXPECT_NE(std::string(error.what()).find(needle), std::string::npos)              \
            << "message \"" << error.what() << "\" lacks \"" << needle << "\"";           \
      }                                                                                   \
    }                                                                                     \
  } while (0)

}  // namespace curate::testing
