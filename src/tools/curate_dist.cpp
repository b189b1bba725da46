// curate_dist: the distributed scoring job. `mpirun -np N curate_dist --config run.ini`.
// Built without libtorch (no CURATE_HAVE_TORCH) it scores only with test.fake_worker (no model):
// otherwise --stage select, --stage compare and --plan.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/job/job.h"
#ifdef CURATE_HAVE_TORCH
#include "curate/job/torch_scorer.h"
#endif
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace {

extern "C" void on_signal(int) { curate::service::request_stop(); }  // the selection has no stop point: it finishes

// The job under `comm`: its exit code, the error (if any) logged once: by rank 0, or by the rank that
// failed when it is not a configuration error every rank meets alike.
int run(int argc, char** argv, const curate::comm::Comm& comm, curate::service::Options& options) {
  using namespace curate;
  try {
    if (!service::parse_options(argc, argv, options)) return kExitOk;
    service::validate(options);
#ifdef CURATE_HAVE_TORCH
    model::resolve_auto_device(options.engine);  // score.device/dtype = auto: what this rank's node has
    const service::Models models = service::torch_models();
#else
    const service::Models models;  // no model: test.fake_worker ranks only
#endif
    log::set_level(log::parse_level(options.run.log_level));
    if (comm.rank() != 0 && options.run.log_level == "info") log::set_level(log::Level::kWarn);  // workers stay quiet
    if (comm.size() > 1) log::set_rank(comm.rank());
    service::run_job(options, comm, models);
    return kExitOk;
  } catch (const std::exception& e) {
    return log::exit_code_logged(e, /*quiet=*/comm.rank() != 0 && exit_code_of(e) == kExitConfig);  // rank 0 says it
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace curate;
  comm::Environment mpi(argc, argv);
  const comm::Comm comm = comm::Comm::world();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGUSR1, on_signal);  // Slurm's --signal before the time limit
  std::signal(SIGXFSZ, SIG_IGN);    // a file-size limit fails the write (reported, exit 5) instead of killing
  service::Options options;
  const int code = run(argc, argv, comm, options);
  if (comm.size() == 1) return code;
  // Every rank leaves with the job's code through MPI_Finalize (mpirun then reports no abort); only a
  // rank that never arrives (dead or hung) makes rank 0 abort the job. The other ranks wait for rank 0
  // without a limit: it may still print a --plan or write the selection's files and report.
  const double timeout = comm.rank() == 0 ? std::max(options.run.worker_timeout, 600.0) : 0.0;
  const std::optional<int> agreed = comm::agree_exit_code(comm, code, timeout);
  if (!agreed) {
    log::error(cat("rank ", comm.rank(), ": not every rank reached the end of the job within ", timeout,
                   " s (max(run.worker_timeout, 600)): a dead or hung rank; aborting the job"));
    comm.abort(code != kExitOk ? code : kExitDist);
  }
  return *agreed;
}
