// The scoring passes of a job. The enum values are stable codes: they travel in unit messages and
// journal records (protocol.h, journal_records.h) as int32. The names appear only at the edges: logs,
// HDF5 group names and attributes (layout.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "curate/util/error.h"

namespace curate::service {

// kGradients: --stage gradients (not a scoring pass: its unit results carry projected gradients, and its
// group has its own layout, layout.h); kPasses lists the scoring passes only.
enum class Pass : int32_t { kCalibration = 0, kDifficulty = 1, kProfile = 2, kGradients = 3 };

inline constexpr Pass kPasses[] = {Pass::kCalibration, Pass::kDifficulty, Pass::kProfile};

// "calibration", "difficulty", "profile" or "gradients".
constexpr std::string_view pass_name(Pass pass) {
  switch (pass) {
    case Pass::kCalibration:
      return "calibration";
    case Pass::kDifficulty:
      return "difficulty";
    case Pass::kProfile:
      return "profile";
    case Pass::kGradients:
      return "gradients";
  }
  return "unknown";
}

// The pass of a stable code read from a message or journal; throws DistError for any other value.
inline Pass pass_from_code(int32_t code) {
  if (code < 0 || code > static_cast<int32_t>(Pass::kGradients)) {
    throw DistError("malformed unit: pass code " + std::to_string(code) +
                    " is none of 0 (calibration), 1 (difficulty), 2 (profile), 3 (gradients)");
  }
  return static_cast<Pass>(code);
}

}  // namespace curate::service
