// A curate_dist job: rank 0 indexes the dataset, plans the passes, hands out work units and writes
// the HDF5 file; every other rank is a worker holding one checkpoint at a time. With one rank, rank 0
// also does the work. Rerunning the same configuration resumes from the file.
#pragma once

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/util/error.h"

namespace curate::service {

// Runs the job on this rank; returns when all passes are stored or after a requested stop
// (then throws Interrupted). Failures throw curate::Error subclasses.
void run_job(const Options& options, const comm::Comm& comm);

// Asks the job to stop at the next unit boundary (async-signal-safe: sets a flag).
void request_stop() noexcept;

// Thrown when the job stopped on request; the file holds every finished unit and resumes.
class Interrupted : public Error {
 public:
  Interrupted() : Error("stopped on request; finished work is saved, rerun the same command to resume") {}
  int exit_code() const noexcept override { return kExitInterrupted; }
};

}  // namespace curate::service
