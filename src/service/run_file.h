// The HDF5 result file of a run: layout, resume check and storage of unit results (rank 0 only).
//
//   /                      attrs format, version, fingerprint
//   /examples/{status,line,prompt_tokens,reasoning_tokens,full_length}  [N]; {id,source,domain} strings [N]
//   /calibration/loss      f32 [S, C]  per-example mean loss of the first T reasoning tokens, C = base + Gaussian
//   /calibration/{mean_loss,ratio} f32 [C], attr chosen
//   /passes/difficulty/loss f32 [N, T] per-token losses at the chosen Gaussian checkpoint (NaN = none)
//   /passes/profile/{mean_loss,mean_loss_first} f32 [N, C]; scored_tokens i64 [N]; measure f64 [C]
//   /<pass>/done           u8 [C, U]   unit u of checkpoint slot c is stored
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "curate/model/checkpoint_scorer.h"
#include "curate/store/hdf5.h"
#include "protocol.h"

namespace curate::service {

struct PassPlan {
  std::string name;                          // calibration, difficulty or profile
  std::string group;                         // HDF5 group of its datasets
  std::vector<model::CheckpointKey> slots;   // checkpoints, in slot order
  int64_t tokens = 0;                        // reasoning tokens scored per example
  int64_t first_tokens = 0;                  // profile: also the mean over this many first tokens
  std::vector<uint64_t> positions;           // record index positions = dataset rows
  int64_t unit_examples = 64;

  int64_t units() const { return (static_cast<int64_t>(positions.size()) + unit_examples - 1) / unit_examples; }
};

class RunFile {
 public:
  // Opens `path` when it exists (its fingerprint must equal `fingerprint`, else ConfigError), or
  // creates it for `records` examples.
  RunFile(const std::filesystem::path& path, const std::string& fingerprint, uint64_t records);

  // Creates the pass's datasets when missing; returns its done flags [slots × units].
  std::vector<uint8_t> open_pass(const PassPlan& plan);
  void store(const PassPlan& plan, const UnitResult& result);
  void flush() { file_.flush(); }
  store::H5File& file() { return file_; }

 private:
  void store_examples(const PassPlan& plan, const UnitResult& result);
  store::H5File file_;
  uint64_t records_;
};

}  // namespace curate::service
