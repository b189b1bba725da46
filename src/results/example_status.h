// The status byte of an example (ExampleResult::status in messages and journal records,
// /examples/status u8 [N] in the result file): kStatusOk for a record that was read and scored,
// 1 + data::SkipReason for a record that was skipped (data/record.h order). The result file also
// holds 0 in rows the difficulty pass has not written yet (the dataset's fill value); such a row is
// told apart by its /examples/full_length of 0, which no scored record has (example_unread()).
#pragma once

#include <cstdint>
#include <string>

#include "curate/data/record.h"

namespace curate::service {

constexpr uint8_t kStatusOk = 0;

constexpr uint8_t skip_status(data::SkipReason reason) { return static_cast<uint8_t>(1 + static_cast<int>(reason)); }
constexpr bool example_ok(uint8_t status) { return status == kStatusOk; }
// A row of the result file that no unit has written yet: status and full length are fill values.
constexpr bool example_unread(uint8_t status, int64_t full_length) { return status == kStatusOk && full_length <= 0; }
// The skip reason's name of a status other than kStatusOk.
inline std::string skip_name(uint8_t status) {
  return std::string(data::skip_reason_name(static_cast<data::SkipReason>(status - 1)));
}

}  // namespace curate::service
