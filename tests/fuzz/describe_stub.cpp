// model::describe without the model library (it lives in checkpoint_scorer.cpp, which needs
// libtorch): run_file.cpp names the checkpoints of a pass with it. Same text as the real one.
#include "curate/model/checkpoint_scorer.h"

namespace curate::model {

std::string describe(const CheckpointKey& key) {
  switch (key.family) {
    case Family::kBase:
      return "base";
    case Family::kGaussian:
      return "gaussian " + std::to_string(key.index);
    case Family::kDirectional:
      return "directional " + std::to_string(key.index);
  }
  return "?";
}

}  // namespace curate::model
