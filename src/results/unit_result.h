// One work unit and its results: what rank 0 asks a worker to score (Unit) and what comes back
// (UnitResult, one ExampleResult per record). A UnitResult's encoding is both the payload of the
// kResult message (job/protocol.h) and of the journal's unit records (journal_records.h), so changing
// it changes the journal format. Byte order: comm/wire.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/comm/wire.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/util/error.h"
#include "results/example_status.h"
#include "results/pass.h"

namespace curate::service {

struct Unit {
  Pass pass = Pass::kDifficulty;  // sent as its int32 code
  int32_t slot = 0;               // checkpoint slot within the pass
  int64_t index = 0;              // unit number within the pass
  model::CheckpointKey checkpoint;
  int64_t tokens = 0;               // reasoning tokens to score per example
  std::vector<uint64_t> positions;  // record index positions, ascending
  uint64_t settings = 0;            // kGradients only (encoded only then): the stage's tag, echoed in the result
};

struct ExampleResult {
  uint8_t status = kStatusOk;  // kStatusOk, or skip_status(reason) for a skipped record (example_status.h)
  int64_t line = 0;
  std::string id, source, domain;
  int64_t prompt_tokens = 0, reasoning_tokens = 0, full_length = 0;
  std::vector<float> losses;  // first min(tokens, reasoning_tokens) reasoning-token losses; kGradients: the
                              // projected gradient [gradients.dim] (empty for a skipped example)
  float norm = 0;             // kGradients only (encoded only then): ‖gradient‖ before the projection
};

struct UnitResult {
  Pass pass = Pass::kDifficulty;  // sent as its int32 code
  int32_t slot = 0;
  int64_t index = 0;
  double measure = 0;                   // checkpoint distance (directional) or noise std (Gaussian)
  std::vector<ExampleResult> examples;  // in the order of Unit::positions
  uint64_t settings = 0;                // kGradients only (encoded only then): Unit::settings, so that a
                                        // journal's units of other gradient settings are never replayed
};

inline void encode(comm::Writer& w, const Unit& u) {
  w.put(static_cast<int32_t>(u.pass))
      .put(u.slot)
      .put(u.index)
      .put(static_cast<int32_t>(u.checkpoint.family))
      .put(u.checkpoint.index)
      .put(u.checkpoint.max_std);
  w.put(u.tokens).put(u.positions);
  if (u.pass == Pass::kGradients) w.put(u.settings);
}

inline Unit decode_unit(comm::Reader& r) {
  Unit u;
  u.pass = pass_from_code(r.get<int32_t>());
  u.slot = r.get<int32_t>();
  u.index = r.get<int64_t>();
  u.checkpoint.family = static_cast<model::Family>(r.get<int32_t>());
  u.checkpoint.index = r.get<int32_t>();
  u.checkpoint.max_std = r.get<double>();
  u.tokens = r.get<int64_t>();
  u.positions = r.get_vector<uint64_t>();
  if (u.pass == Pass::kGradients) u.settings = r.get<uint64_t>();
  return u;
}

// An example's record facts (status, line, id, source, domain, token counts), the part every
// message and journal record of an example shares, in this order.
inline void put_example_facts(comm::Writer& w, const ExampleResult& e) {
  w.put(e.status).put(e.line).put(e.id).put(e.source).put(e.domain);
  w.put(e.prompt_tokens).put(e.reasoning_tokens).put(e.full_length);
}
inline void get_example_facts(comm::Reader& r, ExampleResult& e) {
  e.status = r.get<uint8_t>();
  e.line = r.get<int64_t>();
  e.id = r.get_string();
  e.source = r.get_string();
  e.domain = r.get_string();
  e.prompt_tokens = r.get<int64_t>();
  e.reasoning_tokens = r.get<int64_t>();
  e.full_length = r.get<int64_t>();
}

inline void encode(comm::Writer& w, const UnitResult& u) {
  w.put(static_cast<int32_t>(u.pass)).put(u.slot).put(u.index).put(u.measure).put<uint64_t>(u.examples.size());
  for (const auto& e : u.examples) {
    put_example_facts(w, e);
    w.put(e.losses);
    if (u.pass == Pass::kGradients) w.put(e.norm);
  }
  if (u.pass == Pass::kGradients) w.put(u.settings);
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
    get_example_facts(r, e);
    e.losses = r.get_vector<float>();
    if (u.pass == Pass::kGradients) e.norm = r.get<float>();
  }
  if (u.pass == Pass::kGradients) u.settings = r.get<uint64_t>();
  return u;
}

}  // namespace curate::service
