// How a worker gets the base and fine-tuned weights (score.weight_broadcast): each rank from disk, or
// from the node's first scoring rank over NCCL (model::WeightBroadcaster implemented with comm::NcclComm).
#pragma once

#include <memory>

#include "curate/config/options.h"
#include "curate/model/weight_broadcast.h"

namespace curate::service {

// nullptr when the weights come from disk. Otherwise a broadcaster over the scoring ranks of this
// node (world ranks 1..P−1, since rank 0 coordinates; rank 0 itself in a one-rank job), rooted at the
// lowest of them; its operations time out after run.worker_timeout seconds.
// Collective over the scoring ranks (MPI, then NCCL) when score.device is CUDA and the mode is auto
// or nccl: every worker calls it at the same point; otherwise it decides alone. Throws ConfigError
// for a mode that cannot work here, DistError when the communicators cannot be made.
std::unique_ptr<model::WeightBroadcaster> make_weight_broadcaster(const Options& options);

}  // namespace curate::service
