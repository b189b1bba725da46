// What curate_dist does without a model: --plan and --stage select. This is all a build without
// libtorch (CURATE_WITH_TORCH=OFF) runs, so the selection can run on CPU-only nodes.
#pragma once

#include "curate/comm/mpi.h"
#include "curate/config/options.h"

namespace curate::service {

// Every rank (collective). --plan: rank 0 prints the plan; --stage select: the selection from the
// finished result file. Any other stage throws ConfigError (exit 2) saying that scoring needs a
// curate_dist built with libtorch.
void run_select_job(const Options& options, const comm::Comm& comm);

}  // namespace curate::service
