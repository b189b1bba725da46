// The HDF5 result file of a run: layout, resume check and storage of unit results (rank 0 only).
// N records, K examples the profile pass scores (kept by the difficulty filter), C checkpoints of a
// pass, T scored tokens, U units, S calibration samples. Rows of a pass's datasets are the pass's
// examples in record order: every record for the difficulty pass, /profile/example for the profile.
//   /                         attrs format, version (2: compact profile), fingerprint (every setting that changes results)
//   /examples/id              i64 [N]  stable example id: the record's 1-based line number
//   /examples/key             str [N]  the data.id_field value (or the line number as text)
//   /examples/{source,domain} str [N]
//   /examples/{prompt_tokens,reasoning_tokens,full_length} i64 [N]; /examples/status u8 [N] (0 kept, 1+ skip reason)
//   /selection                external link to STEM.selection.h5:/selection (written by the selection stage)
//   /filter/kept              u8 [N]  the profile pass scores these (difficulty filter); attrs method, kept
//   /calibration/loss         f32 [C, S] mean loss of the first T reasoning tokens; C = base + Gaussian 1..n
//   /calibration/sample       i64 [S]  record positions of the sample
//   /calibration/{mean_loss,ratio} f32 [C]; attrs chosen (Gaussian index), table (text)
//   /difficulty/losses        f32|f16 [1, N, T] per-token losses at the chosen Gaussian checkpoint, NaN past the end
//   /profile/example          i64 [K]  record position (row of /examples/*) of each profile row, ascending
//   /profile/losses           f32|f16 [C, K, T] per-token losses at every profile checkpoint
//   /<pass>/losses            absent when store.token_losses = none
//   /<pass>/mean_loss         f32 [C, rows] mean over the scored tokens (of the float32 losses);
//                             /profile/mean_loss_first f32 [C, K] over the first pass.difficulty_tokens
//   /<pass>/distance          f32 [C] achieved ‖θ_j − θ₀‖ (directional) or /<pass>/noise_std (Gaussian)
//   /<pass>/done              u8 [C, U] unit u of checkpoint c is stored (written after its data)
//   /<pass>                   attrs tokens, checkpoints, token_losses (float32, float16 or none)
//                             and, once a run completes the pass, wall_ms, worker_ms, scored_examples,
//                             scored_tokens (summed over such runs), ranks (the report's pass costs)
// Chunks: losses [1, loss_chunk_rows, T] (at most 64 KiB: one example across checkpoints reads C
// small chunks); means [1, 4096] (one checkpoint's means are few chunks); both written a unit at a time.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "curate/model/checkpoint_scorer.h"
#include "curate/service/options.h"
#include "curate/store/hdf5.h"
#include "protocol.h"

namespace curate::service {

struct PassPlan {
  std::string name;                          // calibration, difficulty or profile
  std::string group;                         // HDF5 group of its datasets
  std::vector<model::CheckpointKey> slots;   // checkpoints, in slot order
  int64_t tokens = 0;                        // reasoning tokens scored per example
  int64_t first_tokens = 0;                  // profile: also the mean over this many first tokens
  std::vector<uint64_t> positions;           // record index positions (ascending) = dataset rows
  int64_t unit_examples = 64;                // chunk rows of the datasets
  std::vector<int64_t> bounds;               // unit u covers positions[bounds[u], bounds[u + 1])
  TokenLosses token_losses = TokenLosses::kFloat32;  // per-token tensor: float32, float16 or not stored

  int64_t units() const { return static_cast<int64_t>(bounds.size()) - 1; }
  // Splits positions into units of `unit_examples` each (the last may be shorter).
  void cut_evenly();
  // Splits positions into units of about equal cost (cost[i] for positions[i]): a unit closes once
  // it reaches unit_examples times the mean cost, so units of long examples hold fewer of them.
  void cut_by_cost(std::span<const int64_t> cost);
};

// Whether an existing result file can be resumed under `fingerprint`.
struct ResumeCheck {
  enum Kind { kMissing, kResumable, kOtherConfiguration, kDamaged } kind = kMissing;
  std::string detail;  // what differs or what is wrong
};
ResumeCheck check_resume(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records);

// OUTPUT without its .h5/.hdf5 extension: the stem of every file written beside it.
std::string output_stem(const std::string& output);
// The selection stage's own HDF5 file, STEM.selection.h5; the result file links /selection to it, so
// that the selection (rewritten by every --stage select) never writes into the result file.
std::filesystem::path selection_path(const std::string& output);

// Renames `path` to PATH.discarded-<unix time> and returns the new name.
std::filesystem::path move_aside(const std::filesystem::path& path);

// Rows per chunk of a [C, rows, T] loss tensor of `type_size`-byte values: a unit's rows, but at most
// 64 KiB a chunk (so that one example across the checkpoints reads C small chunks).
uint64_t loss_chunk_rows(uint64_t tokens, uint64_t type_size, int64_t unit_examples);
// Rows per chunk of the [C, rows] means (16 KiB): a unit's write rewrites at most two such chunks, and
// one checkpoint's means over a million rows are 245 chunks.
constexpr uint64_t kMeanChunkRows = 4096;

// The profile pass's per-example table `name` (/profile/mean_loss or /profile/mean_loss_first,
// f32 [C, K]) spread over all records by /profile/example: [C, records], NaN where the pass scored
// nothing. Throws StoreError naming the dataset when the rows do not fit the records (damaged file).
std::vector<float> read_profile_table(const store::H5File& file, const std::string& name, uint64_t records);

class RunFile {
 public:
  // Opens `path` (which check_resume found resumable) or creates it for `records` examples.
  RunFile(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records);

  // Creates the pass's datasets when missing; returns its done flags [slots × units].
  std::vector<uint8_t> open_pass(const PassPlan& plan);
  void store(const PassPlan& plan, const UnitResult& result);
  void flush() { file_.flush(); }
  store::H5File& file() { return file_; }

 private:
  void store_examples(std::span<const uint64_t> rows, const UnitResult& result);
  store::H5File file_;
  uint64_t records_;
};

}  // namespace curate::service
