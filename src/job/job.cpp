#include "curate/job/job.h"

#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>

#include "compare/compare.h"
#include "curate/data/dataset.h"
#include "curate/job/preflight.h"
#include "curate/util/clock.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "job/coordinator.h"
#include "job/worker.h"
#include "results/output_plan.h"
#include "selection/reduce.h"
#include "selection/selection_outputs.h"

namespace curate::service {
namespace {

// What rank 0 learns from indexing the dataset.
struct DatasetFacts {
  uint64_t records = 0;
  ContentHash content;  // rank 0 only: the file's bytes (data::RecordIndex::content), for the fingerprint
};

// Rank 0 checks the inputs and indexes the dataset once (workers read the cache); every rank gets
// its verdict (comm::rank0_attempt). Returns the facts (filled on rank 0 only), or nothing on a rank
// other than 0 when rank 0 failed (it reports). Rank 0 rethrows its own error.
std::optional<DatasetFacts> index_dataset(const Options& options, const comm::Comm& comm) {
  DatasetFacts facts;
  const bool indexed = comm::rank0_attempt(comm, [&] {
    preflight(options);  // before any rank loads a model
    const auto start = SteadyClock::now();
    const data::RecordIndex index = data::load_or_build_index(options.run.dataset, index_cache_path(options));
    facts = {index.size(), index.content};
    log::info(cat("dataset ", options.run.dataset, ": ", facts.records, " records (indexed in ",
                  format_seconds(seconds_since(start)), "); ", comm.size(), " rank(s), ", std::max(1, comm.size() - 1),
                  " worker(s)"));
    if (facts.records == 0) throw DataError("dataset " + options.run.dataset + " has no records");
  });
  if (!indexed) return std::nullopt;
  return facts;
}

// Ranks 1..: score units until rank 0 says stop, then join the selection if it says so.
void serve(const Options& options, const comm::Comm& comm, const Models& models) {
  std::unique_ptr<Worker> worker;
  try {
    worker = std::make_unique<Worker>(options, models);
  } catch (const std::exception& e) {
    comm::Writer message;
    encode(message, Failure{exit_code_of(e), cat("rank ", comm.rank(), " cannot start: ", e.what())});
    comm.send(0, kFailure, message.bytes());
    throw;
  }
  if (worker->serve(comm)) {
    worker.reset();  // frees the model before the selection
    run_selection(options, comm);
  }
}

// After `e` ended the passes: seal the file and stop the workers, or abort the job when they cannot
// be stopped. main reports `e` once the caller rethrows; it is printed here only ahead of a later
// error or an abort.
void wind_down(Coordinator& coordinator, const Error& e, const comm::Comm& comm) {
  bool reported = false;
  auto report = [&] {
    if (!reported) log::error(e.what());
    reported = true;
  };
  try {
    coordinator.seal();
  } catch (const Error& again) {  // e.g. the disk is full: the next run rebuilds from the journal
    report();
    log::error(again.what());
  }
  if (coordinator.workers_busy()) {  // busy workers would wait forever
    report();
    comm.abort(e.exit_code());
  }
  try {
    coordinator.finish();
  } catch (const Error& again) {
    report();
    log::error(again.what());
    comm.abort(e.exit_code());
  }
}

// Rank 0: the scoring passes, then (stage all) the selection.
void coordinate(const Options& options, const comm::Comm& comm, const DatasetFacts& dataset, const Models& models) {
  MpiWorkerLink link(comm);  // outlives the coordinator: its Outbox waits for units in flight
  std::unique_ptr<Worker> local;
  std::unique_ptr<Coordinator> coordinator;
  try {
    LocalScorer scorer;
    if (comm.size() == 1) {  // rank 0 scores itself when it is the only rank
      local = std::make_unique<Worker>(options, models);
      scorer = [&local](const Unit& unit) { return local->score(unit); };
    }
    coordinator = Coordinator::create(options, Crew{link, std::move(scorer)}, dataset.records, dataset.content);
  } catch (const Error&) {
    for (int rank = 1; rank < comm.size(); ++rank) comm.send(rank, kStop, {});  // no unit was handed out yet
    throw;
  }
  try {
    coordinator->run();
    coordinator.reset();                             // closes the HDF5 file cleanly
    local.reset();                                   // frees the model before the selection
    std::filesystem::remove(journal_path(options));  // every requested pass is in the file
    std::filesystem::remove(base_path(options));
  } catch (const Interrupted&) {
    coordinator->seal();
    coordinator->finish();
    throw;
  } catch (const Error& e) {
    wind_down(*coordinator, e, comm);
    throw;
  }
  if (options.run.stage == Stage::kAll) run_selection(options, comm);
}

}  // namespace

void run_job(const Options& given, const comm::Comm& comm, const Models& models) {
  check_result_files(given, comm);  // rank 0's verdict: nothing of the user's is written over, moved or removed
  check_output_paths(given);        // every rank alike: a clash is refused before anything is written
  if (given.run.plan) {             // rank 0 prints what the job would do; nothing is loaded or written
    if (comm.rank() == 0) print_plan(given, comm.size(), std::cout);
    return;
  }
  const bool scores = given.run.stage != Stage::kSelect && given.run.stage != Stage::kCompare;
  if (scores && models.empty() && !given.test.fake_worker) {
    throw ConfigError(cat("--stage ", stage_name(given.run.stage),
                          " computes with a model, but this curate_dist was built without libtorch "
                          "(-DCURATE_WITH_TORCH=OFF): it runs only --stage select, --stage compare and --plan. Score "
                          "with the curate_dist of a build configured with -DCURATE_WITH_TORCH=ON (launch/setup.sh)"));
  }
  Options options = given;
  if (!resolve_data_options(options, comm)) return;                              // rank 0 reports why
  if (options.run.stage == Stage::kSelect) return run_selection(options, comm);  // no model needed
  if (options.run.stage == Stage::kCompare) return compare::run_compare(options, comm);
  const std::optional<DatasetFacts> dataset = index_dataset(options, comm);
  if (!dataset) return;  // rank 0 reports why
  if (comm.rank() != 0) return serve(options, comm, models);
  coordinate(options, comm, *dataset, models);
}

}  // namespace curate::service
