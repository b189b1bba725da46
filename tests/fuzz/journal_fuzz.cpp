// The journal beside a result file (OUTPUT.h5.journal) as a restart reads it: store::Journal::read
// over the bytes, then every record decoded as the coordinator's replay does ('F' or 'B' header,
// 'U' unit result, 'S' unit as the file stores it, 'C' clean mark). A torn or damaged journal must end at its last
// whole record; a record that passes its CRC but does not decode gives DistError. Reopening for appends cuts the torn
// tail, after which a read must see the same records.
//   input: [mode byte] journal bytes (seeds: corpus/journal). Mode bit 0 set: the harness first gives
//   every whole frame the CRC of its payload, so that mutations reach the record decoder.
#include <zlib.h>

#include <cstring>
#include <string>

#include "curate/store/journal.h"
#include "curate/util/error.h"
#include "fuzz_support.h"
#include "results/journal_records.h"

namespace {

// Rewrites the CRC of every frame that lies wholly inside `bytes` (after the 8-byte magic).
void fix_crcs(std::string& bytes) {
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    uint64_t length = 0;
    std::memcpy(&length, bytes.data() + at, 8);
    if (length > bytes.size() - at - 12) break;
    const auto crc = static_cast<uint32_t>(
        crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data() + at + 12), static_cast<uInt>(length)));
    std::memcpy(bytes.data() + at + 8, &crc, 4);
    at += 12 + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace curate;
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) fix_crcs(bytes);
  size = bytes.size();
  const auto path = fuzz::write_scratch("run.h5.journal", bytes);
  std::size_t records = 0;
  const uint64_t valid = store::Journal::read(path, [&](std::span<const std::byte> record) {
    ++records;
    const auto kind = service::record_kind(record);
    try {
      if (kind == service::JournalRecord::kUnit) {
        const service::UnitResult result = service::unit_of(record);
        for (const auto& e : result.examples) CURATE_FUZZ_CHECK(e.losses.size() * sizeof(float) <= record.size());
      } else if (kind == service::JournalRecord::kStored) {
        const service::StoredUnit unit = service::stored_of(record);
        const std::size_t n = unit.size();
        CURATE_FUZZ_CHECK(unit.mean_loss.size() == n && unit.nan_losses.size() == n && unit.loss_begin.size() == n + 1);
        CURATE_FUZZ_CHECK(unit.loss_begin.back() == unit.losses_f32.size() + unit.losses_f16.size());
        CURATE_FUZZ_CHECK(unit.losses_f32.size() * 4 + unit.losses_f16.size() * 2 <= record.size());
        CURATE_FUZZ_CHECK(stored_record(unit) == std::vector<std::byte>(record.begin(), record.end()));  // one encoding
      }
    } catch (const DistError&) {
    }
  });
  CURATE_FUZZ_CHECK(valid <= size);
  CURATE_FUZZ_CHECK(valid == 0 || valid >= 8);
  if (valid < 8) return 0;
  {
    store::Journal journal(path);  // cuts the torn tail
  }
  CURATE_FUZZ_CHECK(std::filesystem::file_size(path) == valid);
  std::size_t again = 0;
  CURATE_FUZZ_CHECK(store::Journal::read(path, [&](std::span<const std::byte>) { ++again; }) == valid);
  CURATE_FUZZ_CHECK(again == records);
  return 0;
}
