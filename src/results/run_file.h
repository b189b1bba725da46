// The HDF5 result file of a run: resume check and storage of unit results (rank 0 only). Its
// layout (paths, shapes, chunks, versions) is declared in layout.h.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "curate/config/options.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/store/hdf5.h"
#include "results/layout.h"
#include "results/pass.h"
#include "results/stored_unit.h"
#include "results/unit_result.h"

namespace curate::service {

struct PassPlan {
  Pass pass = Pass::kDifficulty;                     // its datasets are under layout::group(pass)
  std::vector<model::CheckpointKey> slots;           // checkpoints, in slot order
  int64_t tokens = 0;                                // reasoning tokens scored per example
  int64_t first_tokens = 0;                          // profile: also the mean over this many first tokens
  std::vector<uint64_t> positions;                   // record index positions (ascending) = dataset rows
  int64_t unit_examples = 64;                        // chunk rows of the datasets
  std::vector<int64_t> bounds;                       // unit u covers positions[bounds[u], bounds[u + 1])
  TokenLosses token_losses = TokenLosses::kFloat32;  // per-token tensor: float32, float16 or not stored
  layout::GradientAttrs gradient;                    // kGradients: the settings /gradients records (dim: row width)
  uint64_t settings = 0;                             // kGradients: the tag its units carry (Unit::settings)

  int64_t units() const { return static_cast<int64_t>(bounds.size()) - 1; }
  // Splits positions into units of `unit_examples` each (the last may be shorter).
  void cut_evenly();
  // Splits positions into units of about equal cost (cost[i] for positions[i]): a unit closes once
  // it reaches unit_examples times the mean cost, so units of long examples hold fewer of them.
  void cut_by_cost(std::span<const int64_t> cost);
};

// Whether an example's scored losses hold a NaN: the model gave some scored token no loss. Counted
// per pass and checkpoint (/<pass>/nan_losses); an example with no scored token has none.
bool has_nan(std::span<const float> losses);

// Whether an existing result file can be resumed under `fingerprint`.
struct ResumeCheck {
  enum Kind { kMissing, kResumable, kOtherConfiguration, kDamaged } kind = kMissing;
  std::string detail;           // what differs or what is wrong
  bool stored_nothing = false;  // kOtherConfiguration of a curate_dist file of this version in which no
                                // unit of any pass is done: a run that failed before storing anything
};
// `files` (input_files_text of this run, may be '') lets the detail name the input files that changed.
ResumeCheck check_resume(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records,
                         const std::string& files = "");

// OUTPUT without its .h5/.hdf5 extension: the stem of every file written beside it.
std::string output_stem(const std::string& output);
// The selection file of the run's default selection, STEM.selection.h5 (output_files.h), which a new
// result file links /selection to; every selection points the link at its own file.
std::filesystem::path selection_path(const std::string& output);

// Renames `path` to PATH.discarded-<unix time> (-2, -3, ... when that exists) and returns the new name.
std::filesystem::path move_aside(const std::filesystem::path& path);

// Rows per chunk of a [C, rows, T] loss tensor of `type_size`-byte values: a unit's rows, but at most
// 64 KiB a chunk (so that one example across the checkpoints reads C small chunks).
uint64_t loss_chunk_rows(uint64_t tokens, uint64_t type_size, int64_t unit_examples);
// Rows per chunk of the [C, rows] means (16 KiB): a unit's write rewrites at most two such chunks, and
// one checkpoint's means over a million rows are 245 chunks.
constexpr uint64_t kMeanChunkRows = 4096;

class RunFile {
 public:
  // Opens `path` (which check_resume found resumable) or creates it for `records` examples, storing
  // `fingerprint` and `files` (input_files_text) in a new file.
  RunFile(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records,
          const std::string& files = "");

  // Creates the pass's datasets when missing; returns its done flags [slots × units].
  std::vector<uint8_t> open_pass(const PassPlan& plan);
  // Stores a unit of `plan` (kGradients: gradient_store.cpp; other passes: store(prepare(...))),
  // its data first, then its done flag. Throws DistError for a unit that does not fit the plan.
  void store(const PassPlan& plan, const UnitResult& result);
  // Stores a prepared unit of `plan` (not kGradients), whose token losses must be of plan.token_losses
  // (kNone for kCalibration): the float16 bits are written as they are.
  void store(const PassPlan& plan, const StoredUnit& unit);
  void flush() { file_.flush(); }
  store::H5File& file() { return file_; }

 private:
  void store_examples(std::span<const uint64_t> rows, std::span<const ExampleResult> examples);
  // open_pass and store of Pass::kGradients (gradient_store.cpp): /gradients/{example, projected, norm, done}.
  std::vector<uint8_t> open_gradients(const PassPlan& plan);
  void store_gradients(const PassPlan& plan, const UnitResult& result);
  store::H5File file_;
  uint64_t records_;
};

}  // namespace curate::service
