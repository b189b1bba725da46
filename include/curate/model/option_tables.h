// The model component's option tables (util/option_table.h), shared by curate_dist and curate_tool
// nll. Torch-free. Each binds the fields of the struct it is given; the defaults are the struct's.
#pragma once

#include "curate/model/checkpoint_scorer.h"
#include "curate/model/gradient_options.h"
#include "curate/model/perturb_options.h"
#include "curate/util/option_table.h"

namespace curate::model {

// [perturb]: the checkpoint families' shape (perturb.gaussian_*, directional_checkpoints, radii,
// direction_excludes_embeddings), all results-affecting. perturb.target and the seed are added by the
// program (curate_dist: run.seed; curate_tool nll: perturb.seed).
options::Group perturb_table(PerturbOptions& options);

// [score]: device, dtype and threads (results-affecting: they change the computed bits) and the
// batching and weight-loading settings that never change results.
options::Group score_table(EngineOptions& options);

// [gradients]: the per-example gradients of issue 28 (tokens, params, dim, projection), all
// results-affecting. The seed is added by the program (curate_dist: gradients.seed, with gradients.examples).
options::Group gradient_table(GradientOptions& options);

}  // namespace curate::model
