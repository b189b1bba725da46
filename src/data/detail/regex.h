// PCRE2 (UTF + Unicode properties, JIT when available) wrapped once: owning, move-only handles.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace curate::data::detail {

class Regex {
 public:
  // Compiles `pattern`; throws DataError with PCRE2's message and the offset, prefixed by `context`.
  Regex(const std::string& pattern, const std::string& context);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) = delete;
  Regex(const Regex&) = delete;

  const void* code() const { return code_; }

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

// Per-thread match state for one Regex.
class Matcher {
 public:
  explicit Matcher(const Regex& regex);
  ~Matcher();
  Matcher(Matcher&&) noexcept;
  Matcher(const Matcher&) = delete;
  Matcher& operator=(const Matcher&) = delete;

  // Finds the first match in subject[offset..] (subject must be valid UTF-8, offset on a character
  // boundary). Sets [begin, end) and returns true, or returns false when there is none.
  bool find(std::string_view subject, std::size_t offset, std::size_t& begin, std::size_t& end);

 private:
  const Regex* regex_;
  void* data_ = nullptr;     // pcre2_match_data_8*
  void* stack_ = nullptr;    // pcre2_jit_stack_8*: room for long whitespace runs and the like
  void* context_ = nullptr;  // pcre2_match_context_8*
};

}  // namespace curate::data::detail
