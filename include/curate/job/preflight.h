// What rank 0 checks before any rank loads a model, and `curate_dist --plan`. Torch-free: reads
// config.json, the tokenizer and the dataset, never the weights.
#pragma once

#include <ostream>

#include "curate/comm/mpi.h"
#include "curate/config/options.h"
#include "curate/data/check.h"
#include "curate/model/config.h"

namespace curate::service {

// The data check with the job's options: data.path, model.tokenizer (or model.path), data.*,
// pass.difficulty_tokens / profile_tokens as the marked windows, data.check_records, select.budget
// when it is a count of examples (the gate of `curate_tool check --config` and --plan).
data::CheckOptions check_options(const Options& options);

// The data settings left "auto" (data/detect.h: reasoning markers, id field) resolved on rank 0 from
// the dataset and its index (built and cached beside the output), logged, and given to every rank, so
// that every rank parses alike and the fingerprint holds what was detected. Collective. Returns false
// on a rank other than 0 when rank 0 failed (rank 0 rethrows its error, and reports it).
bool resolve_data_options(Options& options, const comm::Comm& comm);

// The gates that read config.json but no weights (also check --config's): model.path is a model
// folder whose context holds the scored window, and perturb.target (when set) is neither model.path
// itself (the same folder, or the same safetensors bytes) nor of another shape (config.json's sizes).
// Returns model.path's config. Throws ConfigError (exit 2), ModelError for an unreadable folder.
model::ModelConfig require_model_gates(const Options& options);

// Rank 0 at the start of a job: model folders exist (a hub id gets its download command), the
// profile family is announced, the dataset is checked and the report logged. Throws ModelError for
// a missing folder, ConfigError for an unknown chat template, a tokenizer with ids outside the model's
// vocabulary or a failed require_model_gates, DataError when no record is usable.
void preflight(const Options& options);

// What the job will do, without loading a model (refused, exit 2, when a count select.budget exceeds
// the usable records: data::require_budget): examples, tokens per pass (prompt + window after
// truncation, from a sample), units, result file size and the scoring hours from the [plan] table.
// `ranks`: the ranks of this run (the estimate of the wall time divides by its scoring ranks).
void print_plan(const Options& options, int ranks, std::ostream& out);

}  // namespace curate::service
