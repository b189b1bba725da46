// Error types of curate_dist. Bad input throws a subclass of curate::Error whose message names the
// file, line, tensor or rank involved and what to do; `main` catches once and exits with exit_code().
// A broken internal invariant (a bug) is any other exception (std::logic_error, std::bad_alloc,
// .at()'s out_of_range): `main` reports it too, with kExitInternal. There are no asserts: they vanish
// in release builds, where a wrong result must still never end with exit 0.
#pragma once

#include <stdexcept>
#include <string>

namespace curate {

// Process exit codes (documented in docs/USAGE.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,      // a bug: unexpected exception
  kExitConfig = 2,        // bad command line or configuration
  kExitData = 3,          // bad dataset or tokenizer input
  kExitModel = 4,         // bad model folder (config.json, safetensors)
  kExitStore = 5,         // output/HDF5 file problem
  kExitDist = 6,          // MPI/NCCL failure, dead or hung rank
  kExitInterrupted = 130  // SIGINT/SIGTERM: work so far is kept, rerun to resume
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  virtual int exit_code() const noexcept { return kExitInternal; }
};

#define CURATE_DEFINE_ERROR(Name, code)                      \
  class Name : public Error {                                \
   public:                                                   \
    explicit Name(const std::string& what) : Error(what) {}  \
    int exit_code() const noexcept override { return code; } \
  }

CURATE_DEFINE_ERROR(ConfigError, kExitConfig);
CURATE_DEFINE_ERROR(DataError, kExitData);
CURATE_DEFINE_ERROR(ModelError, kExitModel);
CURATE_DEFINE_ERROR(StoreError, kExitStore);
CURATE_DEFINE_ERROR(DistError, kExitDist);
#undef CURATE_DEFINE_ERROR

// Throws the Error subclass whose exit_code() is `exit_code` (Error itself, exit 1, for codes without
// one): how rank 0 rethrows a worker's failure with the worker's own exit code.
[[noreturn]] inline void throw_with_exit_code(int exit_code, const std::string& what) {
  switch (exit_code) {
    case kExitConfig:
      throw ConfigError(what);
    case kExitData:
      throw DataError(what);
    case kExitModel:
      throw ModelError(what);
    case kExitStore:
      throw StoreError(what);
    case kExitDist:
      throw DistError(what);
    default:
      throw Error(what);
  }
}

// The exit code an exception stands for: exit_code() of a curate::Error, else kExitInternal.
inline int exit_code_of(const std::exception& e) noexcept {
  const auto* error = dynamic_cast<const Error*>(&e);
  return error != nullptr ? error->exit_code() : kExitInternal;
}

}  // namespace curate
