// The records of a run's journal, OUTPUT.journal (store/journal.h frames each record on disk: 8-byte
// length, CRC-32, the bytes; a torn last record is dropped). A record's first byte is its kind, the
// byte values below; the rest of the record:
//   kFresh 'F'  the run's fingerprint, raw bytes to the end of the record: the header of a new journal
//   kBase  'B'  the same, for a run that started from the copy OUTPUT.base of a finished result file
//               (one record, so that a kill cannot keep the copy without the journal saying so)
//   kUnit  'U'  one unit's UnitResult in its kResult message encoding (protocol.h encode(): int32/int64/
//               double in the host's native byte order, u64-length-prefixed strings and vectors; the
//               gradient stage's units, pass code 3, add each example's norm and the settings tag)
//   kStored 'S' one unit of the calibration, difficulty or profile pass as the result file stores it
//               (stored_unit.h), so that the journal holds the file's precision, not the worker's:
//                 u8 format (kStoredFormat), i32 pass, i32 slot, i64 index, f64 measure,
//                 u8 token losses (0 float32, 1 float16, 2 none), u64 n, then per example:
//                 [difficulty: u8 status, i64 line, id, source, domain, i64 prompt, reasoning, full],
//                 f32 mean, [profile: f32 mean over the first tokens], u8 NaN flag,
//                 [float32: u64 count, count f32 | float16: u64 count, count binary16 bits | none: nothing]
//               Written since issue 29; before it, every unit was a kUnit.
//   kClean 'C'  nothing: the result file was flushed and fsync'ed by a run that then ended cleanly
// A journal is header, units (kUnit for the gradient stage, kStored for the other passes; a journal
// of an older curate_dist holds kUnit records for every pass, and they replay as before), and at most
// one kClean at its end. Readers skip records of any other kind and empty records (an older
// curate_dist skips kStored ones: it scores those units again). A kStored record of a format other
// than kStoredFormat is refused (DistError naming both formats). These bytes are the on-disk format:
// existing journals must keep replaying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "results/stored_unit.h"
#include "results/unit_result.h"

namespace curate::service {

enum class JournalRecord : char { kFresh = 'F', kBase = 'B', kUnit = 'U', kStored = 'S', kClean = 'C' };

// The layout of a kStored record after its kind byte; a reader refuses any other.
inline constexpr uint8_t kStoredFormat = 1;

// The kind of `record`, or nothing for an empty record or an unknown kind byte.
inline std::optional<JournalRecord> record_kind(std::span<const std::byte> record) {
  if (record.empty()) return std::nullopt;
  switch (static_cast<char>(record[0])) {
    case 'F':
      return JournalRecord::kFresh;
    case 'B':
      return JournalRecord::kBase;
    case 'U':
      return JournalRecord::kUnit;
    case 'S':
      return JournalRecord::kStored;
    case 'C':
      return JournalRecord::kClean;
    default:
      return std::nullopt;
  }
}

// A header record: kBase when the run started from OUTPUT.base, else kFresh.
inline std::vector<std::byte> header_record(bool base, std::string_view fingerprint) {
  std::vector<std::byte> record{static_cast<std::byte>(base ? JournalRecord::kBase : JournalRecord::kFresh)};
  const auto* text = reinterpret_cast<const std::byte*>(fingerprint.data());
  record.insert(record.end(), text, text + fingerprint.size());
  return record;
}

// The fingerprint of a kFresh or kBase record.
inline std::string header_fingerprint(std::span<const std::byte> record) {
  return std::string(reinterpret_cast<const char*>(record.data()) + 1, record.size() - 1);
}

inline std::vector<std::byte> unit_record(const UnitResult& result) {
  comm::Writer record;
  record.put(static_cast<char>(JournalRecord::kUnit));
  encode(record, result);
  return std::move(record.bytes());
}

// The result of a kUnit record; throws DistError when it is malformed.
inline UnitResult unit_of(std::span<const std::byte> record) {
  comm::Reader reader(record.subspan(1));
  return decode_result(reader);
}

// A kStored record of `unit`.
std::vector<std::byte> stored_record(const StoredUnit& unit);
// The unit of a kStored record; throws DistError when it is malformed or of another format.
StoredUnit stored_of(std::span<const std::byte> record);

inline std::vector<std::byte> clean_record() { return {static_cast<std::byte>(JournalRecord::kClean)}; }

}  // namespace curate::service
