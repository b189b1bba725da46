// The torch build's Models (curate_job; not in a build without libtorch).
#pragma once

#include "curate/job/job.h"

namespace curate::service {

// scorer: a model::CheckpointScorer of options.engine, its weights from disk or through
// make_weight_broadcaster(options) (collective over the scoring ranks when broadcast);
// gradients: a model::GradientEngine of options.engine and options.gradients.numerics.
Models torch_models();

}  // namespace curate::service
