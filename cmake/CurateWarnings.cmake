# curate_warnings: an interface target carrying the project's warning flags (and sanitizers when enabled).
add_library(curate_warnings INTERFACE)
# (clang, used for the fuzzers, lacks -Wshadow=local; the gcc command line stays as it was)
target_compile_options(curate_warnings INTERFACE -Wall -Wextra -Wpedantic
  $<IF:$<CXX_COMPILER_ID:GNU>,-Wshadow=local,-Wshadow-uncaptured-local> -Wnon-virtual-dtor)
if(CURATE_WERROR)
  target_compile_options(curate_warnings INTERFACE -Werror)
endif()
# CURATE_ENABLE_SANITIZERS instruments every target (tests included) with CURATE_SANITIZE:
# "address,undefined" (default; launch/test_sanitizers.sh) or "thread" (a separate build: TSan and
# ASan do not mix). Undefined behaviour aborts instead of printing and going on, so tests fail on it.
set(CURATE_SANITIZE "address,undefined" CACHE STRING
    "Sanitizers for CURATE_ENABLE_SANITIZERS: address,undefined or thread")
if(CURATE_ENABLE_SANITIZERS)
  target_compile_options(curate_warnings INTERFACE -fsanitize=${CURATE_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(curate_warnings INTERFACE -fsanitize=${CURATE_SANITIZE})
  if(CURATE_SANITIZE MATCHES "undefined")
    target_compile_options(curate_warnings INTERFACE -fno-sanitize-recover=undefined)
  endif()
  message(STATUS "Sanitizers: ${CURATE_SANITIZE}")
endif()
