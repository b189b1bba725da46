// The examples of --stage gradients: a seeded sample of the scored examples, stratified over sources
// and (when the result file holds a selection) its clusters. Torch-free; drawn once by rank 0 from the
// result file alone, so it never depends on the rank count (docs/DESIGN.md, "--stage gradients").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/store/hdf5.h"

namespace curate::service {

// What the sample is drawn from: one entry per record ([N] each; cluster empty without a selection).
struct SampleFrame {
  std::vector<uint8_t> status;                           // /examples/status
  std::vector<int64_t> prompt_tokens, reasoning_tokens;  // /examples/*
  std::vector<std::string> source;                       // /examples/source
  std::vector<int64_t> cluster;                          // the selection's /selection/cluster, or empty
};

// Record positions (ascending) of min(examples, eligible) examples. Eligible: status ok with a prompt
// and a response (prompt_tokens, reasoning_tokens >= 1). Strata: (source, cluster; −1 without a
// selection or for a record outside every cluster), ordered by that key. Each stratum gets its share
// floor(examples · n_s / n) and the remaining examples go one each to the strata with the largest
// remainders (ties: the first in key order); within a stratum the examples are the first of a seeded
// Fisher–Yates shuffle (std::mt19937_64 seeded with `seed` and the stratum's index, portable).
std::vector<uint64_t> gradient_sample(const SampleFrame& frame, int64_t examples, uint64_t seed);

// The frame of a result file `f` (a finished difficulty pass), with the clusters of the selection its
// /selection links to when that file exists and has one cluster per record. Throws StoreError naming
// the file when /examples cannot be read.
SampleFrame read_sample_frame(const store::H5File& f);

}  // namespace curate::service
