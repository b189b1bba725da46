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

// Sends each column from rank 0 to every rank.
class Sharer {
 public:
  Sharer(const comm::Comm& comm, bool gradients) : comm_(comm), gradients_(gradients) {}
  void operator()(std::string_view name, int64_t& value) {
    if (skipped(name)) {
      if (comm_.rank() != 0) value = 0;
      return;
    }
    std::vector<int64_t> one{value};
    comm_.broadcast(one);
    value = one.at(0);
  }
  template <typename T>
  void operator()(std::string_view name, std::vector<T>& column) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (skipped(name)) {
      if (comm_.rank() != 0) column.clear();
      return;
    }
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
  bool skipped(std::string_view name) const { return !gradients_ && name.starts_with("gradient"); }
  const comm::Comm& comm_;
  bool gradients_ = true;
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

void share_columns(const comm::Comm& comm, SelectionColumns& columns, bool gradients) {
  Sharer sharer(comm, gradients);
  columns.for_each(sharer);
}

}  // namespace curate::service
