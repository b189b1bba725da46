#define PCRE2_CODE_UNIT_WIDTH 8
#include "detail/regex.h"

#include <pcre2.h>

#include <new>
#include <utility>

#include "curate/util/error.h"

namespace curate::data::detail {

Regex::Regex(const std::string& pattern, const std::string& context) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw DataError(context + ": cannot compile regex at offset " + std::to_string(offset) + ": " +
                    reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

Regex::Regex(Regex&& other) noexcept : code_(std::exchange(other.code_, nullptr)) {}

Matcher::Matcher(const Regex& regex)
    : regex_(&regex),
      data_(pcre2_match_data_create_from_pattern(static_cast<const pcre2_code*>(regex.code()), nullptr)),
      stack_(pcre2_jit_stack_create(32 << 10, 16 << 20, nullptr)),
      context_(pcre2_match_context_create(nullptr)) {
  if (data_ == nullptr || stack_ == nullptr || context_ == nullptr) throw std::bad_alloc();
  pcre2_jit_stack_assign(static_cast<pcre2_match_context*>(context_), nullptr, stack_);
}

Matcher::~Matcher() {
  pcre2_match_context_free(static_cast<pcre2_match_context*>(context_));
  pcre2_jit_stack_free(static_cast<pcre2_jit_stack*>(stack_));
  pcre2_match_data_free(static_cast<pcre2_match_data*>(data_));
}

Matcher::Matcher(Matcher&& other) noexcept
    : regex_(other.regex_),
      data_(std::exchange(other.data_, nullptr)),
      stack_(std::exchange(other.stack_, nullptr)),
      context_(std::exchange(other.context_, nullptr)) {}

bool Matcher::find(std::string_view subject, std::size_t offset, std::size_t& begin, std::size_t& end) {
  auto* data = static_cast<pcre2_match_data*>(data_);
  int rc = pcre2_match(static_cast<const pcre2_code*>(regex_->code()), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                       subject.size(), offset, PCRE2_NO_UTF_CHECK, data, static_cast<pcre2_match_context*>(context_));
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    throw DataError(std::string("regex match failed: ") + reinterpret_cast<const char*>(message));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

}  // namespace curate::data::detail
