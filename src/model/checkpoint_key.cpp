// model::describe(CheckpointKey) without libtorch: the result file and the selection stage name
// checkpoints with it on CPU-only builds too.
#include "curate/model/checkpoint_scorer.h"
#include "curate/util/strings.h"

namespace curate::model {

std::string describe(const CheckpointKey& key) {
  switch (key.family) {
    case Family::kBase:
      return "base";
    case Family::kGaussian:
      return key.max_std > 0 ? cat("gaussian ", key.index, " (max std ", key.max_std, ")")
                             : cat("gaussian ", key.index);
    case Family::kDirectional:
      return cat("directional ", key.index);
  }
  return "?";
}

}  // namespace curate::model
