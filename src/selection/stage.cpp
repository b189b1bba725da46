// The selection stage: rank 0 checks and reads the result file, the other ranks get the candidates' rows
// of the columns select() reads (share_columns), every rank selects (the others only to share the k-means
// rows: their result is not used), rank 0 writes.
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/results/fingerprint.h"
#include "curate/select/select.h"
#include "curate/store/journal.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "report/report_gather.h"
#include "results/layout.h"
#include "results/output_files.h"
#include "selection/columns.h"
#include "selection/reduce.h"
#include "selection/selection_outputs.h"

namespace curate::service {
namespace {

class MpiRowSharing final : public select::RowSharing {
 public:
  explicit MpiRowSharing(const comm::Comm& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void allgather(std::span<int32_t> assign) const override {
    std::vector<int64_t> first;
    for (int r = 0; r < comm_.size(); ++r)
      first.push_back(select::row_range(static_cast<int64_t>(assign.size()), r, comm_.size()).first);
    first.push_back(static_cast<int64_t>(assign.size()));
    comm_.allgather(assign, first);
  }

 private:
  const comm::Comm& comm_;
};

// Throws ConfigError when `file` was scored with another configuration than `options`. The selection
// reads the stored scores: how they were computed (device, dtype, threads) and the models behind them
// do not matter here, so a CPU node (or a build without torch, where "auto" stays unresolved, or a
// node without the models) may select. The dataset must be the one scored: the export copies its
// records byte for byte.
void check_configuration(const store::H5File& file, const Options& options, const RunFiles& run) {
  InputContent content;
  content.dataset = data::load_or_build_index(options.run.dataset, run.index).content;
  std::vector<std::string> ignored = kModelContentKeys;
  ignored.insert(ignored.end(), {"score.device", "score.dtype", "score.threads"});
  const std::string differs = explain_difference(file.string_attribute(layout::kRoot, layout::attr::kFingerprint), "",
                                                 fingerprint(options, content), "", ignored);
  if (!differs.empty()) {
    throw ConfigError(options.run.output + " was scored with a different configuration: " + differs);
  }
}

// select.features = gradients clusters on /gradients: refused on rank 0, naming the file, when it is
// absent or incomplete, or when a candidate has no row (naming the first by id and line).
void check_gradient_features(const store::H5File& file, const select::SelectOptions& options,
                             const SelectionColumns& columns) {
  const bool clusters = options.method == select::SelectMethod::kTemp || options.method == select::SelectMethod::kS2l;
  if (!clusters || options.features != select::SelectFeatures::kGradients) return;
  const layout::GradientState state = layout::gradient_state(file);
  if (state != layout::GradientState::kComplete) {
    throw ConfigError(cat("select.features = gradients clusters on the projected gradients, and ", file.path().string(),
                          state == layout::GradientState::kAbsent ? " has none: run --stage gradients first"
                                                                  : "'s --stage gradients is incomplete: resume it",
                          " (gradients.examples at least the number of candidates), or select with "
                          "select.features = loss"));
  }
  int64_t candidates = 0, missing = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < columns.records(); ++i) {
    if (!columns.candidate[i]) continue;
    ++candidates;
    if (columns.gradient_row[i] < 0 && missing++ == 0) first = i;
  }
  if (missing > 0) {
    throw ConfigError(cat("select.features = gradients: ", missing, " of ", candidates, " candidates of ",
                          file.path().string(), " have no projected gradient (the first: id '", columns.id[first],
                          "', line ", columns.line[first], "; --stage gradients sampled ",
                          columns.gradients.size() / static_cast<std::size_t>(columns.gradient_dim),
                          " examples); clustering them by gradient needs every candidate: rerun --stage gradients "
                          "with gradients.examples >= ",
                          candidates, ", or select with select.features = loss"));
  }
}

}  // namespace

void run_selection(const Options& options, const comm::Comm& comm) {
  const OutputFiles files = OutputFiles::of(options);
  SelectionColumns columns;
  std::exception_ptr error;
  std::string failure;
  std::optional<store::H5File> file;
  std::optional<store::RunLock> lock;
  if (comm.rank() == 0) {
    try {
      lock.emplace(files.run.lock);
      file.emplace(store::H5File::open(files.run.result, /*writable=*/false));
      check_configuration(*file, options, files.run);
      check_selection_owner(files.selection);
      columns = read_columns(*file);
      check_gradient_features(*file, options.select, columns);
    } catch (const Error& e) {
      error = std::current_exception();
      failure = e.what();
    }
  }
  failure = comm.broadcast(failure);
  if (!failure.empty()) {
    if (error) std::rethrow_exception(error);
    return;  // rank 0 reports it
  }
  share_columns(comm, columns, select::select_reads(options.select));
  const MpiRowSharing sharing(comm);
  const auto start = std::chrono::steady_clock::now();
  // Every rank runs the same k-means steps on the same candidates: its warnings are rank 0's to print.
  std::optional<log::LevelScope> quiet;
  if (comm.rank() != 0) quiet.emplace(log::Level::kError);
  const select::SelectResult result = select::select(columns.select_input(), columns.source.names, columns.domain.names,
                                                     options.select, comm.size() > 1 ? &sharing : nullptr);
  if (comm.rank() != 0) return;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const report::ReportData report = gather_report(*file, report_settings(options, files.run), columns, result,
                                                  files.selection, files.run.result, seconds, comm.size());
  const RecordSource source{options.run.dataset, files.run.index, options.data, options.exported};
  write_selection_outputs(files.selection, files.run.result, columns, layout::checkpoint_names(*file, Pass::kProfile),
                          result, options.select, source, report);
  file.reset();  // the result file is reopened for writing, to point /selection at this selection
  relink_selection(files.run.result, files.selection, settings_ini(options));
  log::info(cat("selection (", select::select_method_name(options.select.method),
                options.select.features == select::SelectFeatures::kGradients ? " on gradients" : "", "): ",
                result.selected.size(), " of ", report.kept, " candidates -> ", files.selection.selected.string(), " (",
                options.exported.format == "input" ? "the records as they are" : options.exported.format, "); ids ",
                files.selection.ids.string(), ", scores ", files.selection.scores.string(), ", report ",
                files.selection.report.string(), ", every selected example ", files.selection.examples.string()));
}

}  // namespace curate::service
