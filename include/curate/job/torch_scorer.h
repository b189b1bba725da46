// The torch build's ModelScorerFactory (curate_job; not in a build without libtorch).
#pragma once

#include "curate/job/job.h"

namespace curate::service {

// Makes a model::CheckpointScorer of options.engine, its weights from disk or through
// make_weight_broadcaster(options) (collective over the scoring ranks when broadcast).
ModelScorerFactory checkpoint_scorers();

}  // namespace curate::service
