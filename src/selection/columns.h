// The selection's per-example columns: read from the result file on rank 0 (read_columns), shared
// with every rank (share_columns), viewed by select() (select_input) and by the report. They are
// listed once, in SelectionColumns::for_each: a new column is a member and a line there (a column
// stored as /examples/NAME needs nothing else).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "curate/comm/mpi.h"
#include "curate/select/select.h"
#include "curate/store/hdf5.h"

namespace curate::service {

// A text column as its sorted distinct values and the index of each record's value among them.
struct NamedIds {
  std::vector<std::string> names;
  std::vector<int32_t> ids;  // [N]
  const std::string& operator[](std::size_t i) const { return names[static_cast<std::size_t>(ids[i])]; }
};

// N records, C profile checkpoints. [C, N] tables are row-major: record i at checkpoint c is c * N + i.
struct SelectionColumns {
  int64_t checkpoints = 0;                                            // C
  std::vector<std::string> id;                                        // [N] data.id_field (or the line)
  std::vector<int64_t> line;                                          // [N] 1-based line in the dataset
  NamedIds source, domain;                                            // [N]
  std::vector<uint8_t> status;                                        // [N] example_status.h
  std::vector<uint8_t> candidate;                                     // [N] kept by the filter, status ok
  std::vector<int64_t> prompt_tokens, reasoning_tokens, full_length;  // [N]
  std::vector<float> difficulty;                                      // [N] the difficulty pass's mean loss
  std::vector<float> mean_loss, mean_loss_first;                      // [C, N] profile means, NaN: not profiled
  // A complete --stage gradients (layout.h /gradients), else D = 0 and both empty.
  int64_t gradient_dim = 0;           // D
  std::vector<int64_t> gradient_row;  // [N] row of `gradients` of each record, -1: not sampled
  std::vector<float> gradients;       // [G, D] projected gradients

  // visit(name, member) for every column, in this order (the order columns are read and sent).
  template <typename Visitor>
  void for_each(Visitor&& visit) {
    visit("checkpoints", checkpoints);
    visit("id", id);
    visit("line", line);
    visit("source", source);
    visit("domain", domain);
    visit("status", status);
    visit("candidate", candidate);
    visit("prompt_tokens", prompt_tokens);
    visit("reasoning_tokens", reasoning_tokens);
    visit("full_length", full_length);
    visit("difficulty", difficulty);
    visit("mean_loss", mean_loss);
    visit("mean_loss_first", mean_loss_first);
    visit("gradient_dim", gradient_dim);
    visit("gradient_row", gradient_row);
    visit("gradients", gradients);
  }

  std::size_t records() const { return status.size(); }
  // The views select() reads (valid while these columns live).
  select::SelectInput select_input() const {
    return {checkpoints,
            source.ids,
            domain.ids,
            candidate,
            reasoning_tokens,
            full_length,
            std::span<const float>(difficulty).first(records()),
            mean_loss,
            mean_loss_first,
            gradient_dim,
            gradient_row,
            gradients};
  }
};

// Rank 0: the columns of the result file `f`. Columns not named in columns.cpp are /examples/NAME.
// Throws ConfigError when the difficulty or profile pass is incomplete, StoreError when the file is
// of an unreadable version, or a column is missing or of the wrong length (naming it).
SelectionColumns read_columns(const store::H5File& f);

// Collective: rank 0's columns on every rank. The gradient columns ([G, D] floats: 64 MiB at the default
// 2,000 x 8,192) only with `gradients` (select.features = gradients clusters on them); without, the other
// ranks get none (D = 0) and rank 0 keeps its own for the report.
void share_columns(const comm::Comm& comm, SelectionColumns& columns, bool gradients = true);

// Ids of `values` into their sorted distinct names.
NamedIds name_ids(const std::vector<std::string>& values);

}  // namespace curate::service
