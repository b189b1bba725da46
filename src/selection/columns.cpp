#include "selection/columns.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <type_traits>

#include "curate/comm/wire.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "results/example_status.h"
#include "results/layout.h"

namespace curate::service {
namespace {

// Reads each column from the result file: the columns with a place of their own are named here,
// every other one is /examples/NAME.
class Reader {
 public:
  explicit Reader(const store::H5File& f) : f_(f), records_(f.dims(layout::kStatus).at(0)) {}

  void operator()(std::string_view name, int64_t& value) {  // "checkpoints" or "gradient_dim"
    if (name == "gradient_dim") {
      value = gradients().dim;
      return;
    }
    value = static_cast<int64_t>(f_.dims(layout::path(Pass::kProfile, layout::dataset::kMeanLoss)).at(0));
    checkpoints_ = static_cast<uint64_t>(value);
  }
  void operator()(std::string_view name, std::vector<std::string>& column) {
    column = name == "id" ? layout::read_ids(f_) : f_.read_strings(examples(name));
    check(name, column.size());
  }
  void operator()(std::string_view name, NamedIds& column) {
    std::vector<std::string> values;
    (*this)(name, values);
    column = name_ids(values);
  }
  void operator()(std::string_view name, std::vector<int64_t>& column) {
    if (name == "gradient_row") {
      column.assign(records_, -1);
      const std::vector<int64_t>& example = gradients().example;
      for (std::size_t r = 0; r < example.size(); ++r)
        column[static_cast<std::size_t>(example[r])] = static_cast<int64_t>(r);
      return;
    }
    column = name == "line" ? layout::read_lines(f_) : f_.read_i64(examples(name));
    check(name, column.size());
  }
  void operator()(std::string_view name, std::vector<uint8_t>& column) {
    if (name != "candidate") {
      column = f_.read_u8(examples(name));
      check(name, column.size());
      return;
    }
    // Kept by the difficulty filter, and scored: a record whose status is not ok is never a candidate.
    column = layout::read_filter(f_).value_or(std::vector<uint8_t>());
    const std::vector<uint8_t> status = f_.read_u8(layout::kStatus);
    if (column.size() != status.size()) {
      throw StoreError(cat(f_.path().string(), ": ", layout::kFilterKept,
                           " is missing or has the wrong size; rerun the profile stage"));
    }
    for (std::size_t i = 0; i < status.size(); ++i) column[i] = column[i] && example_ok(status[i]);
  }
  void operator()(std::string_view name, std::vector<float>& column) {
    if (name == "gradients") {
      column = std::move(gradients().projected);
    } else if (name == "difficulty") {
      column = f_.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));  // [1, N]
      check(name, column.size());
    } else {  // a profile table: [C, K] rows spread to [C, N]
      column = layout::read_profile_table(f_, name, records_);
      check(name, column.size(), checkpoints_);
    }
  }

 private:
  static std::string examples(std::string_view name) {
    return std::string(layout::kExamples) + "/" + std::string(name);
  }
  void check(std::string_view name, std::size_t size, uint64_t rows = 1) const {
    if (size != rows * records_) {
      throw StoreError(cat(f_.path().string(), ": the column ", name, " holds ", size, " values for ", records_,
                           " records: the file is damaged; rescore it with --fresh"));
    }
  }
  // The rows of a complete --stage gradients, read once; none (D = 0) when it is absent or incomplete.
  layout::GradientRows& gradients() {
    if (!gradients_) {
      gradients_.emplace();
      if (layout::gradient_state(f_) == layout::GradientState::kComplete) *gradients_ = layout::read_gradients(f_);
    }
    return *gradients_;
  }
  const store::H5File& f_;
  uint64_t records_ = 0, checkpoints_ = 0;
  std::optional<layout::GradientRows> gradients_;
};

// Fills each column of a light copy (light_columns) from the full columns, visited in the same order.
class Lightener {
 public:
  Lightener(const SelectionColumns& full, const select::SelectReads& reads) : reads_(reads) {
    full.for_each([&](std::string_view, const auto& member) { from_.push_back(&member); });
    records_ = full.records();
    for (std::size_t i = 0; i < records_; ++i)
      if (full.candidate[i]) rows_.push_back(i);
  }
  void operator()(std::string_view name, int64_t& value) {
    const int64_t full = next<int64_t>();  // every visit takes its member, sent or not
    value = sent(name) ? full : 0;
  }
  template <typename T>
  void operator()(std::string_view name, std::vector<T>& column) {
    [[maybe_unused]] const std::vector<T>& full = next<std::vector<T>>();
    if (!sent(name)) return;
    if constexpr (std::is_same_v<T, std::string>) {
      throw Error(cat("light_columns: the text column ", name, " is not one select() reads"));
    } else if (name == "gradients") {  // [G, D], not per record
      column = full;
    } else {
      column = candidate_rows(full);
    }
  }
  void operator()(std::string_view, NamedIds& column) {
    const NamedIds& full = next<NamedIds>();
    column.names = full.names;
    column.ids = candidate_rows(full.ids);
  }

 private:
  // Whether select() may read the column: select::SelectReads names the ones it may skip.
  bool sent(std::string_view name) const {
    if (name == "id" || name == "line" || name == "status" || name == "prompt_tokens") return false;
    if (name == "reasoning_tokens") return reads_.reasoning_tokens;
    if (name == "full_length") return reads_.full_length;
    if (name == "difficulty") return reads_.difficulty;
    if (name == "mean_loss") return reads_.mean_loss;
    if (name.starts_with("gradient")) return reads_.gradients;
    return true;  // checkpoints, source, domain, candidate, mean_loss_first (and any new column)
  }
  template <typename M>
  const M& next() {
    return *static_cast<const M*>(from_.at(visited_++));
  }
  // The candidates' rows of `column` ([R, N] row-major: R >= 1 rows of N records).
  template <typename T>
  std::vector<T> candidate_rows(const std::vector<T>& column) const {
    std::vector<T> out;
    if (records_ == 0) return out;
    const std::size_t tables = column.size() / records_;
    out.reserve(tables * rows_.size());
    for (std::size_t t = 0; t < tables; ++t) {
      const T* table = column.data() + t * records_;
      for (std::size_t i : rows_) out.push_back(table[i]);
    }
    return out;
  }
  select::SelectReads reads_;
  std::vector<const void*> from_;  // the full columns' members, in for_each order
  std::size_t visited_ = 0;
  std::size_t records_ = 0;        // N
  std::vector<std::size_t> rows_;  // the candidates
};

// Sends each column from rank 0 to every rank.
class Sharer {
 public:
  explicit Sharer(const comm::Comm& comm) : comm_(comm) {}
  void operator()(std::string_view, int64_t& value) {
    std::vector<int64_t> one{value};
    comm_.broadcast(one);
    value = one.at(0);
  }
  template <typename T>
  void operator()(std::string_view, std::vector<T>& column) {
    static_assert(std::is_trivially_copyable_v<T>);
    comm_.broadcast(column);
  }
  void operator()(std::string_view, std::vector<std::string>& column) {
    comm::Writer writer;
    writer.put<uint64_t>(column.size());
    for (const auto& text : column) writer.put(text);
    std::vector<std::byte> bytes = writer.bytes();
    comm_.broadcast_bytes(bytes);
    comm::Reader reader(bytes);
    column.resize(reader.get<uint64_t>());
    for (auto& text : column) text = reader.get_string();
  }
  void operator()(std::string_view name, NamedIds& column) {
    (*this)(name, column.names);
    (*this)(name, column.ids);
  }

 private:
  const comm::Comm& comm_;
};

}  // namespace

NamedIds name_ids(const std::vector<std::string>& values) {
  NamedIds out;
  const std::set<std::string> distinct(values.begin(), values.end());
  out.names.assign(distinct.begin(), distinct.end());
  out.ids.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out.ids[i] =
        static_cast<int32_t>(std::lower_bound(out.names.begin(), out.names.end(), values[i]) - out.names.begin());
  }
  return out;
}

SelectionColumns read_columns(const store::H5File& f) {
  for (Pass pass : {Pass::kDifficulty, Pass::kProfile}) {
    if (!layout::pass_complete(f, pass)) {
      throw ConfigError(cat("the selection needs a complete ", pass_name(pass), " pass, and ", f.path().string(),
                            " has none: run --stage all (or the missing pass) first"));
    }
  }
  layout::check_readable(f);
  SelectionColumns columns;
  Reader reader(f);
  columns.for_each(reader);
  return columns;
}

SelectionColumns light_columns(const SelectionColumns& columns, const select::SelectReads& reads) {
  SelectionColumns light;
  Lightener lightener(columns, reads);
  light.for_each(lightener);
  return light;
}

void share_columns(const comm::Comm& comm, SelectionColumns& columns, const select::SelectReads& reads) {
  if (comm.size() == 1) return;
  SelectionColumns light;
  if (comm.rank() == 0) light = light_columns(columns, reads);
  Sharer sharer(comm);
  light.for_each(sharer);
  if (comm.rank() != 0) columns = std::move(light);
}

}  // namespace curate::service
