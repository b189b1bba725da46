// The passes of the h5_restart seed file (h5_seed.cpp writes it, h5_restart_fuzz.cpp resumes it):
// a difficulty pass at Gaussian checkpoint 1 and a profile pass at two directional checkpoints, two
// records per unit, four tokens per example.
#pragma once

#include <numeric>
#include <vector>

#include "results/run_file.h"

namespace curate::fuzz {

inline std::vector<service::PassPlan> seed_plans(uint64_t records) {
  using model::CheckpointKey;
  using model::Family;
  std::vector<service::PassPlan> plans(2);
  plans[0].pass = service::Pass::kDifficulty, plans[0].slots = {CheckpointKey{Family::kGaussian, 1}};
  plans[1].pass = service::Pass::kProfile;
  plans[1].slots = {CheckpointKey{Family::kDirectional, 1}, CheckpointKey{Family::kDirectional, 2}};
  for (auto& plan : plans) {
    plan.tokens = 4, plan.first_tokens = 2, plan.unit_examples = 2;
    plan.positions.resize(records);
    std::iota(plan.positions.begin(), plan.positions.end(), uint64_t{0});
    plan.cut_evenly();
  }
  return plans;
}

}  // namespace curate::fuzz
