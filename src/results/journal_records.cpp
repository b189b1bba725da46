#include "results/journal_records.h"

#include <string>

namespace curate::service {

std::vector<std::byte> stored_record(const StoredUnit& unit) {
  comm::Writer w;
  w.put(static_cast<char>(JournalRecord::kStored)).put(kStoredFormat);
  w.put(static_cast<int32_t>(unit.pass)).put(unit.slot).put(unit.index).put(unit.measure);
  w.put(static_cast<uint8_t>(unit.token_losses)).put<uint64_t>(unit.size());
  for (std::size_t i = 0; i < unit.size(); ++i) {
    if (unit.pass == Pass::kDifficulty) put_example_facts(w, unit.examples[i]);
    w.put(unit.mean_loss[i]);
    if (unit.pass == Pass::kProfile) w.put(unit.mean_loss_first[i]);
    w.put(unit.nan_losses[i]);
    const auto begin = static_cast<std::ptrdiff_t>(unit.loss_begin[i]),
               end = static_cast<std::ptrdiff_t>(unit.loss_begin[i + 1]);
    if (unit.token_losses == TokenLosses::kFloat32) {
      w.put(std::vector<float>(unit.losses_f32.begin() + begin, unit.losses_f32.begin() + end));
    } else if (unit.token_losses == TokenLosses::kFloat16) {
      w.put(std::vector<uint16_t>(unit.losses_f16.begin() + begin, unit.losses_f16.begin() + end));
    }
  }
  return std::move(w.bytes());
}

StoredUnit stored_of(std::span<const std::byte> record) {
  comm::Reader r(record.subspan(1));
  const auto format = r.get<uint8_t>();
  if (format != kStoredFormat) {
    throw DistError("journal unit record of format " + std::to_string(format) + ": this curate_dist reads format " +
                    std::to_string(kStoredFormat) +
                    " (a newer curate_dist wrote the journal: resume with it, or rerun with --fresh)");
  }
  StoredUnit u;
  u.pass = pass_from_code(r.get<int32_t>());
  if (u.pass == Pass::kGradients) throw DistError("malformed journal record: a stored unit of the gradient stage");
  u.slot = r.get<int32_t>();
  u.index = r.get<int64_t>();
  u.measure = r.get<double>();
  const auto type = r.get<uint8_t>();
  if (type > static_cast<uint8_t>(TokenLosses::kNone)) {
    throw DistError("malformed journal record: token loss type " + std::to_string(type));
  }
  u.token_losses = static_cast<TokenLosses>(type);
  const auto n = r.get<uint64_t>();
  constexpr std::size_t kMinExampleBytes = 4 + 1;                // mean, NaN flag
  if (n > (1u << 24) || n > r.remaining() / kMinExampleBytes) {  // checked before the examples are allocated
    throw DistError("malformed journal record: " + std::to_string(n) + " examples in one unit");
  }
  u.examples.resize(n);
  u.loss_begin.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (u.pass == Pass::kDifficulty) get_example_facts(r, u.examples[i]);
    u.mean_loss.push_back(r.get<float>());
    if (u.pass == Pass::kProfile) u.mean_loss_first.push_back(r.get<float>());
    u.nan_losses.push_back(r.get<uint8_t>());
    if (u.token_losses == TokenLosses::kFloat32) {
      const std::vector<float> losses = r.get_vector<float>();
      u.losses_f32.insert(u.losses_f32.end(), losses.begin(), losses.end());
    } else if (u.token_losses == TokenLosses::kFloat16) {
      const std::vector<uint16_t> losses = r.get_vector<uint16_t>();
      u.losses_f16.insert(u.losses_f16.end(), losses.begin(), losses.end());
    }
    u.loss_begin[i + 1] = u.losses_f32.size() + u.losses_f16.size();
  }
  if (!r.done())
    throw DistError("malformed journal record: " + std::to_string(r.remaining()) + " bytes after the unit");
  return u;
}

}  // namespace curate::service
