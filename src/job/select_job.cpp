#include "curate/job/select_job.h"

#include <iostream>

#include "compare/compare.h"
#include "curate/job/preflight.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "results/output_plan.h"
#include "selection/reduce.h"
#include "selection/selection_outputs.h"

namespace curate::service {

void run_select_job(const Options& options, const comm::Comm& comm) {
  check_result_files(options, comm);  // rank 0's verdict: nothing of the user's is written over, moved or removed
  check_output_paths(options);        // every rank alike, as run_job does
  if (options.run.plan) {
    if (comm.rank() == 0) print_plan(options, comm.size(), std::cout);
    return;
  }
  if (options.run.stage == Stage::kCompare) return compare::run_compare(options, comm);
  if (options.run.stage != Stage::kSelect) {
    throw ConfigError(cat("--stage ", stage_name(options.run.stage),
                          " scores with a model, but this curate_dist was built without libtorch "
                          "(-DCURATE_WITH_TORCH=OFF): it runs only --stage select and --plan. Score with the "
                          "curate_dist of a build configured with -DCURATE_WITH_TORCH=ON (launch/setup.sh)"));
  }
  Options resolved = options;
  if (!resolve_data_options(resolved, comm)) return;  // rank 0 reports why
  run_selection(resolved, comm);
}

}  // namespace curate::service
