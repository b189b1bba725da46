// A curate_dist job: rank 0 indexes the dataset, plans the passes, hands out work units and writes
// the HDF5 file; every other rank is a worker holding one checkpoint at a time. With one rank, rank 0
// also does the work. Rerunning the same configuration resumes from the file.
// Torch-free (curate_job_core): the model comes in through Models (factories), so that a build
// without libtorch runs --plan, --stage select/compare and the whole job with test.fake_worker ranks,
// each a few MiB (docs/PERFORMANCE.md, "Coordinator under fan-in").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/model/gradient_engine.h"
#include "curate/util/error.h"

namespace curate::service {

// What a worker scores with: one checkpoint of the model at a time, as model::CheckpointScorer
// (whose contract each function follows; torch_scorer.h adapts it).
class ModelScorer {
 public:
  virtual ~ModelScorer() = default;
  virtual double use_checkpoint(const model::CheckpointKey& key) = 0;  // returns the checkpoint's measure
  virtual int64_t vocab_size() const = 0;
  virtual std::vector<std::vector<float>> score(std::span<const model::ScoreRequest> requests) = 0;
};

// What a worker computes --stage gradients with: one example's projected SFT-loss gradient at the base
// model, as model::GradientEngine (whose contract each function follows; torch_scorer.h adapts it).
class ModelGradients {
 public:
  virtual ~ModelGradients() = default;
  virtual int64_t vocab_size() const = 0;
  virtual model::ProjectedGradient compute(std::span<const int64_t> ids, int64_t prompt_length) = 0;
};

// Makes a scoring rank's ModelScorer (collective over the scoring ranks when the weights are
// broadcast: make_weight_broadcaster) or ModelGradients (--stage gradients).
using ModelScorerFactory = std::function<std::unique_ptr<ModelScorer>(const Options&)>;
using ModelGradientsFactory = std::function<std::unique_ptr<ModelGradients>(const Options&)>;

// The model side of a worker. Empty in a build without libtorch: then run_job refuses every stage
// that computes with a model, unless test.fake_worker (whose workers load no model).
struct Models {
  ModelScorerFactory scorer;
  ModelGradientsFactory gradients;
  bool empty() const { return !scorer || !gradients; }
};

// Runs the job on this rank (collective); returns when all passes are stored or after a requested
// stop (then throws Interrupted). Failures throw curate::Error subclasses. Throws ConfigError (exit 2),
// before anything is read or written, when the stage computes with a model and `models` is empty
// without test.fake_worker.
void run_job(const Options& options, const comm::Comm& comm, const Models& models);

// Asks the job to stop at the next unit boundary (async-signal-safe: sets a flag).
void request_stop() noexcept;

// Thrown when the job stopped on request; the file holds every finished unit and resumes.
class Interrupted : public Error {
 public:
  Interrupted() : Error("stopped on request; finished work is saved, rerun the same command to resume") {}
  int exit_code() const noexcept override { return kExitInterrupted; }
};

}  // namespace curate::service
