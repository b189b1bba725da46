// Messages between rank 0 (coordinator) and workers. Every message is a comm::Writer buffer (native
// byte order: see wire.h). Unit and UnitResult are declared, with
// their encodings, in results/unit_result.h (also the journal's payload).
//   worker -> 0  kRequest  (empty)                       "I am idle" (once, at start)
//   0 -> worker  kUnit     Unit                          "score these records at this checkpoint"
//   worker -> 0  kResult   UnitResult                    results of the unit; also asks for the next
//   0 -> worker  kStop     1 byte: 1 then select, 0 exit  "no more work": exit, or join the selection
//                          (empty when rank 0 failed before handing out any unit: exit)
//   worker -> 0  kFailure  Failure (i32 exit code, string) the worker cannot continue and exits; rank 0
//                                                        ends the job with that exit code and message
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/comm/wire.h"
#include "curate/util/error.h"
#include "results/unit_result.h"

namespace curate::service {

enum Tag : int { kRequest = 1, kUnit = 2, kResult = 3, kStop = 4, kFailure = 5 };

// A worker's last message: why it cannot continue, as the exit code its error stands for (3 data,
// 4 model, ...) and the message (naming the rank, the unit and the file or tensor).
struct Failure {
  int32_t exit_code = kExitInternal;
  std::string message;
};

inline void encode(comm::Writer& w, const Failure& f) { w.put(f.exit_code).put(f.message); }

inline Failure decode_failure(comm::Reader& r) {
  Failure f;
  f.exit_code = r.get<int32_t>();
  f.message = r.get_string();
  return f;
}

// Throws the failure as rank 0's own error: the same exit code and message.
[[noreturn]] inline void rethrow(const Failure& f) { throw_with_exit_code(f.exit_code, f.message); }

}  // namespace curate::service
