// The selection's per-example columns: read from the result file on rank 0 (read_columns), shared
// with the other ranks as far as select() reads them (share_columns), viewed by select() (select_input)
// and by the report. They are listed once, in SelectionColumns::for_each: a new column is a member and
// a line there (a column stored as /examples/NAME needs nothing else; one that select() reads is also
// a field of select::SelectReads and a line of columns.cpp's Sharer::sent).
#pragma once

#include <algorithm>
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
    visit_all(*this, visit);
  }
  template <typename Visitor>
  void for_each(Visitor&& visit) const {
    visit_all(*this, visit);
  }

  std::size_t records() const { return status.size(); }  // N on rank 0; 0 on the others (share_columns)
  // The views select() reads (valid while these columns live): N rows on rank 0, the candidates' on the others.
  select::SelectInput select_input() const {
    return {checkpoints,
            source.ids,
            domain.ids,
            candidate,
            reasoning_tokens,
            full_length,
            std::span<const float>(difficulty).first(std::min(difficulty.size(), candidate.size())),
            mean_loss,
            mean_loss_first,
            gradient_dim,
            gradient_row,
            gradients};
  }

 private:
  template <typename Self, typename Visitor>
  static void visit_all(Self& self, Visitor& visit) {
    visit("checkpoints", self.checkpoints);
    visit("id", self.id);
    visit("line", self.line);
    visit("source", self.source);
    visit("domain", self.domain);
    visit("status", self.status);
    visit("candidate", self.candidate);
    visit("prompt_tokens", self.prompt_tokens);
    visit("reasoning_tokens", self.reasoning_tokens);
    visit("full_length", self.full_length);
    visit("difficulty", self.difficulty);
    visit("mean_loss", self.mean_loss);
    visit("mean_loss_first", self.mean_loss_first);
    visit("gradient_dim", self.gradient_dim);
    visit("gradient_row", self.gradient_row);
    visit("gradients", self.gradients);
  }
};

// Rank 0: the columns of the result file `f`. Columns not named in columns.cpp are /examples/NAME.
// Throws ConfigError when the difficulty or profile pass is incomplete, StoreError when the file is
// of an unreadable version, or a column is missing or of the wrong length (naming it).
SelectionColumns read_columns(const store::H5File& f);

// What select() reads of `columns` under `reads`, for a rank whose select() only shares k-means rows
// (its result is not used; select.h allows this): the candidates' rows only (candidate all 1,
// `records()` 0) of source and domain (names and ids), candidate, mean_loss_first and the columns
// `reads` names (gradient_dim, gradient_row and the [G, D] gradients under reads.gradients, else
// D = 0), and checkpoints; every other column is empty (id, line, status, prompt_tokens always).
// At 10M records, 4.5M of them candidates, temp on loss features: ~41 bytes a candidate (185 MB)
// instead of ~125 bytes a record (1.25 GB).
SelectionColumns light_columns(const SelectionColumns& columns, const select::SelectReads& reads);

// Collective: light_columns(rank 0's columns, reads) on the other ranks; rank 0 keeps all of its own.
void share_columns(const comm::Comm& comm, SelectionColumns& columns, const select::SelectReads& reads);

// Ids of `values` into their sorted distinct names.
NamedIds name_ids(const std::vector<std::string>& values);

}  // namespace curate::service
