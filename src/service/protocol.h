// Messages between rank 0 (coordinator) and workers. Every message is a comm::Writer buffer (native
// byte order: see wire.h). A UnitResult's encoding is also the payload of the journal's unit records
// (journal_records.h), so changing it changes the journal format.
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
#include "curate/model/checkpoint_scorer.h"
#include "curate/util/error.h"
#include "example_status.h"
#include "pass.h"

namespace curate::service {

enum Tag : int { kRequest = 1, kUnit = 2, kResult = 3, kStop = 4, kFailure = 5 };

struct Unit {
  Pass pass = Pass::kDifficulty;  // sent as its int32 code
  int32_t slot = 0;               // checkpoint slot within the pass
  int64_t index = 0;              // unit number within the pass
  model::CheckpointKey checkpoint;
  int64_t tokens = 0;               // reasoning tokens to score per example
  std::vector<uint64_t> positions;  // record index positions, ascending
};

struct ExampleResult {
  uint8_t status = kStatusOk;  // kStatusOk, or skip_status(reason) for a skipped record (example_status.h)
  int64_t line = 0;
  std::string id, source, domain;
  int64_t prompt_tokens = 0, reasoning_tokens = 0, full_length = 0;
  std::vector<float> losses;  // first min(tokens, reasoning_tokens) reasoning-token losses
};

struct UnitResult {
  Pass pass = Pass::kDifficulty;  // sent as its int32 code
  int32_t slot = 0;
  int64_t index = 0;
  double measure = 0;                   // checkpoint distance (directional) or noise std (Gaussian)
  std::vector<ExampleResult> examples;  // in the order of Unit::positions
};

inline void encode(comm::Writer& w, const Unit& u) {
  w.put(static_cast<int32_t>(u.pass))
      .put(u.slot)
      .put(u.index)
      .put(static_cast<int32_t>(u.checkpoint.family))
      .put(u.checkpoint.index);
  w.put(u.tokens).put(u.positions);
}

inline Unit decode_unit(comm::Reader& r) {
  Unit u;
  u.pass = pass_from_code(r.get<int32_t>());
  u.slot = r.get<int32_t>();
  u.index = r.get<int64_t>();
  u.checkpoint.family = static_cast<model::Family>(r.get<int32_t>());
  u.checkpoint.index = r.get<int32_t>();
  u.tokens = r.get<int64_t>();
  u.positions = r.get_vector<uint64_t>();
  return u;
}

inline void encode(comm::Writer& w, const UnitResult& u) {
  w.put(static_cast<int32_t>(u.pass)).put(u.slot).put(u.index).put(u.measure).put<uint64_t>(u.examples.size());
  for (const auto& e : u.examples) {
    w.put(e.status).put(e.line).put(e.id).put(e.source).put(e.domain);
    w.put(e.prompt_tokens).put(e.reasoning_tokens).put(e.full_length).put(e.losses);
  }
}

inline UnitResult decode_result(comm::Reader& r) {
  UnitResult u;
  u.pass = pass_from_code(r.get<int32_t>());
  u.slot = r.get<int32_t>();
  u.index = r.get<int64_t>();
  u.measure = r.get<double>();
  const auto n = r.get<uint64_t>();
  constexpr std::size_t kMinExampleBytes = 1 + 8 * 8;  // status, line, 3 string and 1 vector lengths, 3 counts
  if (n > (1u << 24) || n > r.remaining() / kMinExampleBytes) {  // checked before the examples are allocated
    throw DistError("malformed result: " + std::to_string(n) + " examples in one unit");
  }
  u.examples.resize(n);
  for (auto& e : u.examples) {
    e.status = r.get<uint8_t>();
    e.line = r.get<int64_t>();
    e.id = r.get_string();
    e.source = r.get_string();
    e.domain = r.get_string();
    e.prompt_tokens = r.get<int64_t>();
    e.reasoning_tokens = r.get<int64_t>();
    e.full_length = r.get<int64_t>();
    e.losses = r.get_vector<float>();
  }
  return u;
}

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
