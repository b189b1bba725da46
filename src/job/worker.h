// The worker role: holds one checkpoint at a time and scores units of records; in --stage gradients it
// holds the base model built for autograd instead and returns projected gradients (Pass::kGradients).
#pragma once

#include <memory>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/data/dataset.h"
#include "curate/data/prompt.h"
#include "curate/data/tokenizer.h"
#include "curate/job/job.h"
#include "curate/model/checkpoint_scorer.h"
#include "curate/model/gradient_engine.h"
#include "job/fake_losses.h"  // test.fake_worker
#include "job/protocol.h"

namespace curate::service {

class Worker {
 public:
  // Loads the model (models.scorer, or models.gradients in --stage gradients), tokenizer and the record
  // index (built by rank 0 beforehand). With test.fake_worker no model is made: see fake_losses()
  // (gradients: fake_losses of gradients.dim values).
  Worker(const Options& options, const Models& models);

  // Scores one unit. Deterministic: the result depends only on the unit and the options. Throws
  // ModelError when every scored token's loss is ln(vocab) (model::all_losses_uniform): the
  // checkpoint predicts the uniform distribution and its scores would mean nothing.
  UnitResult process(const Unit& unit);
  // process(unit), and when it throws, its records one at a time: a record that fails alone is
  // skipped as score_failed (logged with its line and the reason), the others are kept. Rethrows the
  // unit's error when it is a model, configuration or store error, or when every record fails alone
  // (the fault is not a record's: the unit would fail on any rerun too).
  UnitResult score(const Unit& unit);

  // Serves rank 0 until it says stop; returns true when the job goes on to the selection stage (the
  // stop message says so). Failures are reported to rank 0 (kFailure) and rethrown. Logs (debug) its
  // units, seconds scoring and seconds waiting for a unit at the end.
  bool serve(const comm::Comm& comm);

 private:
  UnitResult process_one_by_one(const Unit& unit, const std::exception& error);
  void require_not_uniform(const UnitResult& result, const model::CheckpointKey& checkpoint) const;
  // Fills the projected gradients of the requested examples (Pass::kGradients).
  void compute_gradients(UnitResult& result, const std::vector<std::size_t>& requested,
                         const std::vector<model::ScoreRequest>& requests);

  const Options& options_;
  data::Tokenizer tokenizer_;
  data::Tokenizer::Session session_;
  data::ChatTemplate chat_;
  data::RecordIndex index_;
  std::unique_ptr<ModelScorer> scorer_;        // null with test.fake_worker and in --stage gradients
  std::unique_ptr<ModelGradients> gradients_;  // --stage gradients without test.fake_worker
  int64_t max_prompt_tokens_ = 0;  // data.max_prompt_tokens resolved (data::resolve_max_prompt_tokens); 0 = no limit
};

}  // namespace curate::service
