#include "selection/reduce.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>

#include "curate/comm/wire.h"
#include "curate/data/dataset.h"
#include "curate/report/report.h"
#include "curate/results/fingerprint.h"
#include "curate/select/export.h"
#include "curate/select/filter.h"
#include "curate/select/select.h"
#include "curate/store/journal.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/option_table.h"
#include "curate/util/strings.h"
#include "report/report_gather.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "results/output_plan.h"
#include "results/run_file.h"
#include "selection/selection_outputs.h"

namespace curate::service {
namespace {

// Ids of `values` into their sorted distinct names.
std::vector<int32_t> name_ids(const std::vector<std::string>& values, std::vector<std::string>& names) {
  std::set<std::string> distinct(values.begin(), values.end());
  names.assign(distinct.begin(), distinct.end());
  std::vector<int32_t> ids(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    ids[i] = static_cast<int32_t>(std::lower_bound(names.begin(), names.end(), values[i]) - names.begin());
  }
  return ids;
}

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

// What every rank needs for the selection: per-example arrays of N examples, C profile checkpoints.
struct Inputs {
  int64_t checkpoints = 0;
  std::vector<std::string> source_names, domain_names;
  std::vector<int32_t> source, domain;
  std::vector<uint8_t> kept;
  std::vector<int64_t> reasoning_tokens, full_length;
  std::vector<float> difficulty, mean_loss, mean_loss_first;  // [N], [C, N], [C, N]
};

void broadcast_names(const comm::Comm& comm, std::vector<std::string>& names) {
  comm::Writer writer;
  writer.put<uint64_t>(names.size());
  for (const auto& name : names) writer.put(name);
  std::vector<std::byte> bytes = writer.bytes();
  comm.broadcast_bytes(bytes);
  comm::Reader reader(bytes);
  names.resize(reader.get<uint64_t>());
  for (auto& name : names) name = reader.get_string();
}

void broadcast(const comm::Comm& comm, Inputs& in) {
  std::vector<int64_t> c{in.checkpoints};
  comm.broadcast(c);
  in.checkpoints = c.at(0);
  broadcast_names(comm, in.source_names);
  broadcast_names(comm, in.domain_names);
  comm.broadcast(in.source), comm.broadcast(in.domain), comm.broadcast(in.kept);
  comm.broadcast(in.reasoning_tokens), comm.broadcast(in.full_length);
  comm.broadcast(in.difficulty), comm.broadcast(in.mean_loss), comm.broadcast(in.mean_loss_first);
}

Inputs read_inputs(const store::H5File& f) {
  layout::SelectionColumns columns = layout::read_selection_inputs(f);
  Inputs in;
  in.checkpoints = columns.checkpoints;
  in.source = name_ids(columns.source, in.source_names);
  in.domain = name_ids(columns.domain, in.domain_names);
  in.kept = std::move(columns.candidate);
  in.reasoning_tokens = std::move(columns.reasoning_tokens);
  in.full_length = std::move(columns.full_length);
  in.difficulty = std::move(columns.difficulty);
  in.mean_loss = std::move(columns.mean_loss);
  in.mean_loss_first = std::move(columns.mean_loss_first);
  return in;
}

// Ids of the selected records (/examples/id), one a line, TSV-escaped, in input order.
std::string ids_text(const std::vector<std::string>& ids, const std::vector<std::size_t>& positions) {
  std::string text;
  for (std::size_t p : positions) text += select::tsv_escape(ids[p]) + "\n";
  return text;
}

// STEM.scores.tsv: a header, then one row per record (input order); text TSV-escaped, NaN as "nan".
std::string scores_table(const store::H5File& f, const Options& options, const Inputs& in,
                         const select::SelectResult& result, const std::vector<std::string>& ids) {
  const std::size_t n = in.source.size(), c = static_cast<std::size_t>(in.checkpoints);
  const std::vector<int64_t> lines = layout::read_lines(f);
  const std::vector<std::string> checkpoints = layout::checkpoint_names(f, Pass::kProfile);
  std::vector<uint8_t> chosen(n, 0);
  for (int64_t i : result.selected) chosen[static_cast<std::size_t>(i)] = 1;
  const auto number = [](float v) { return std::isnan(v) ? std::string("nan") : format_float(v); };
  std::string table = "id\tline\tsource\tdomain\tdifficulty\tkept\tcluster\tbrittleness\tscore";
  for (std::size_t k = 0; k < c; ++k) {
    table += "\tloss:" + select::tsv_escape(k < checkpoints.size() ? checkpoints[k] : std::to_string(k));
  }
  table += "\tselected\tmethod\n";
  const std::string method = select::tsv_escape(select::select_method_name(options.select.method));
  for (std::size_t i = 0; i < n; ++i) {
    const float first = c ? in.mean_loss[i] : NAN, last = c ? in.mean_loss[(c - 1) * n + i] : NAN;
    table +=
        cat(select::tsv_escape(ids[i]), "\t", lines[i], "\t",
            select::tsv_escape(in.source_names[static_cast<std::size_t>(in.source[i])]), "\t",
            select::tsv_escape(in.domain_names[static_cast<std::size_t>(in.domain[i])]), "\t", number(in.difficulty[i]),
            "\t", int{in.kept[i]}, "\t", result.cluster[i], "\t", number(last - first), "\t", number(result.score[i]));
    for (std::size_t k = 0; k < c; ++k) table += "\t" + number(in.mean_loss[k * n + i]);
    table += cat("\t", int{chosen[i]}, "\t", method, "\n");
  }
  return table;
}

void write_selection_file(const std::filesystem::path& path, const std::vector<int64_t>& lines, const Options& options,
                          const Inputs& in, const select::SelectResult& result, const std::string& outputs) {
  const auto n = static_cast<uint64_t>(in.source.size());
  store::H5File f = store::H5File::create(path);
  std::vector<int64_t> selected_lines, cluster(in.source.size());
  for (int64_t i : result.selected) selected_lines.push_back(lines[static_cast<std::size_t>(i)]);
  std::transform(result.cluster.begin(), result.cluster.end(), cluster.begin(), [](int32_t c) { return int64_t{c}; });
  const auto s = static_cast<uint64_t>(selected_lines.size());
  f.create_i64(layout::kSelected, {s});
  if (s) f.write(layout::kSelected, {0}, {s}, std::span<const int64_t>(selected_lines));
  f.create_i64(layout::kCluster, {n});
  f.write(layout::kCluster, {0}, {n}, std::span<const int64_t>(cluster));
  f.create_f32(layout::kScore, {n}, {std::max<uint64_t>(n, 1)});
  f.write(layout::kScore, {0}, {n}, std::span<const float>(result.score));
  f.create_u8(layout::kCandidate, {n});
  f.write(layout::kCandidate, {0}, {n}, std::span<const uint8_t>(in.kept));
  // clamped: 1 where the score was NaN (the loss falls) and counts as 0; the reference raises there.
  std::string table = "level\tdomain\tsource\texamples\tscore\tshare\tallocated\tclamped";
  for (const auto& row : result.allocation) {
    table += cat("\n", row.level, "\t", select::tsv_escape(in.domain_names[static_cast<std::size_t>(row.domain)]), "\t",
                 row.source >= 0 ? select::tsv_escape(in.source_names[static_cast<std::size_t>(row.source)]) : "", "\t",
                 row.examples, "\t", row.score, "\t", row.share, "\t", row.allocated, "\t", row.clamped ? 1 : 0);
  }
  f.set_attribute(layout::kSelection, "allocation", table);
  // 1 when the candidates' mean loss at the last checkpoint is not the highest (the reference's assertion).
  f.set_attribute(layout::kSelection, "loss_not_rising", static_cast<int64_t>(result.loss_not_rising ? 1 : 0));
  f.set_attribute(layout::kSelection, "method", select::select_method_name(options.select.method));
  f.set_attribute(layout::kSelection, "budget",
                  result.budget);  // select.budget resolved (a fraction: of the candidates)
  f.set_attribute(layout::kSelection, "budget_setting", options.select.budget.text);  // as written: "10%" or "40"
  f.set_attribute(layout::kSelection, "budget_unit", options.select.token_budget > 0 ? "tokens" : "examples");
  f.set_attribute(layout::kSelection, "seed", static_cast<int64_t>(options.select.seed));
  f.set_attribute(layout::kSelection, "results", std::filesystem::path(options.run.output).filename().string());
  f.set_attribute(layout::kSelection, "outputs", outputs);
  f.flush();
}

// The report's data (report_gather.cpp) from this stage's arrays; `seconds`: the selection's time.
report::ReportData report_data(const store::H5File& f, const Options& options, const Inputs& in,
                               const select::SelectResult& result, const SelectionPaths& paths, double seconds,
                               int ranks) {
  const ReportInputs view{in.checkpoints,
                          in.source_names,
                          in.domain_names,
                          in.source,
                          in.domain,
                          in.kept,
                          std::span<const float>(in.difficulty).first(in.source.size()),
                          in.mean_loss};
  return gather_report(f, options, view, result,
                       {{"selected", paths.selected},
                        {"ids", paths.ids},
                        {"scores", paths.scores},
                        {"summary", paths.summary},
                        {"results", options.run.output},
                        {"selection", paths.selection}},
                       paths.report, seconds, ranks);
}

}  // namespace

void require_scored_examples(const store::H5File& file, const std::string& dataset) {
  const std::vector<uint8_t> status = file.read_u8(layout::kStatus);
  const std::vector<float> difficulty = file.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  std::map<uint8_t, std::pair<int64_t, std::size_t>> skips;  // status -> count, first row
  int64_t scored = 0;
  for (std::size_t i = 0; i < status.size(); ++i) {
    if (example_ok(status[i]) && i < difficulty.size() && std::isfinite(difficulty[i])) {
      ++scored;
      continue;
    }
    auto& [count, first] = skips[status[i]];
    if (count++ == 0) first = i;
  }
  if (skips.empty()) return;
  const std::vector<int64_t> lines = layout::read_lines(file);
  std::string reasons;
  for (const auto& [code, skip] : skips) {
    const std::string why = example_ok(code) ? "nothing_scored (no reasoning token, or a NaN loss)" : skip_name(code);
    reasons += cat(reasons.empty() ? "" : ", ", why, " ", skip.first, " (first: line ", lines.at(skip.second), ")");
  }
  if (scored > 0) {
    log::info(cat("difficulty pass: ", scored, " of ", status.size(), " records scored; not scored: ", reasons));
    return;
  }
  throw DataError(
      cat("the difficulty pass scored none of the ", status.size(), " records of ", dataset, "; why: ", reasons,
          "\ncheck the data options (curate_tool check --config) and that model.tokenizer belongs to model.path"));
}

std::vector<uint8_t> run_difficulty_filter(const store::H5File& file, const select::FilterOptions& options,
                                           uint64_t records) {
  if (!layout::pass_complete(file, Pass::kDifficulty)) {
    throw ConfigError("the profile pass scores the examples the difficulty filter keeps, and " + file.path().string() +
                      " has no complete difficulty pass: run --stage difficulty (or all) first");
  }
  const std::vector<uint8_t> status = file.read_u8(layout::kStatus);
  std::vector<float> difficulty = file.read_f32(layout::path(Pass::kDifficulty, layout::dataset::kMeanLoss));
  difficulty.resize(records);
  for (std::size_t i = 0; i < records; ++i) {
    if (!example_ok(status[i])) difficulty[i] = std::nanf("");
  }
  std::vector<std::string> names;
  const std::vector<int32_t> source = name_ids(file.read_strings(layout::kSource), names);
  std::vector<uint8_t> kept = select::difficulty_filter(difficulty, source, options);
  const int64_t count = std::count(kept.begin(), kept.end(), uint8_t{1});
  int64_t scored = 0;
  std::set<int32_t> sources;
  for (std::size_t i = 0; i < records; ++i) {
    if (std::isfinite(difficulty[i])) ++scored, sources.insert(source[i]);
  }
  log::info(cat("difficulty filter (", select::filter_method_name(options.method), "): the profile pass scores ", count,
                " of ", scored, " scored examples in ", sources.size(), " source(s)"));
  return kept;
}

void run_selection(const Options& options, const comm::Comm& comm) {
  Inputs in;
  std::exception_ptr error;
  std::string failure;
  std::optional<store::H5File> file;
  std::optional<store::RunLock> lock;
  if (comm.rank() == 0) {
    try {
      lock.emplace(options.run.output + ".lock");
      file.emplace(store::H5File::open(options.run.output, /*writable=*/false));
      // The selection reads the stored scores: how they were computed (device, dtype, threads) and the
      // models behind them do not matter here, so a CPU node (or a build without torch, where "auto"
      // stays unresolved, or a node without the models) may select. The dataset must be the one scored:
      // the export copies its records byte for byte.
      InputContent content;
      content.dataset = data::load_or_build_index(options.run.dataset, index_cache_path(options)).content;
      std::vector<std::string> ignored = kModelContentKeys;
      ignored.insert(ignored.end(), {"score.device", "score.dtype", "score.threads"});
      const std::string differs = explain_difference(file->string_attribute(layout::kRoot, "fingerprint"), "",
                                                     fingerprint(options, content), "", ignored);
      if (!differs.empty()) {
        throw ConfigError(options.run.output + " was scored with a different configuration: " + differs);
      }
      in = read_inputs(*file);
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
  broadcast(comm, in);
  select::SelectInput input{in.checkpoints,
                            in.source,
                            in.domain,
                            in.kept,
                            in.reasoning_tokens,
                            in.full_length,
                            std::span<const float>(in.difficulty).first(in.source.size()),
                            in.mean_loss,
                            in.mean_loss_first};
  const MpiRowSharing sharing(comm);
  const auto select_start = std::chrono::steady_clock::now();
  const select::SelectResult result =
      select::select(input, in.source_names, in.domain_names, options.select, comm.size() > 1 ? &sharing : nullptr);
  if (comm.rank() != 0) return;

  // Every output goes to a temporary first; all are renamed together at the end, STEM.selection.h5
  // (what inspect and /selection show) last, so a failure leaves the previous selection whole.
  const SelectionPaths paths = selection_paths(options);
  std::vector<std::size_t> positions(result.selected.begin(), result.selected.end());
  std::sort(positions.begin(), positions.end());  // input order
  const std::vector<std::string> ids = layout::read_ids(*file);
  StagedFiles staged;
  const std::optional<select::TrainerShape> shape =
      write_selected_records(options, positions, staged.stage(paths.selected));
  staged.write(paths.ids, ids_text(ids, positions));
  staged.write(paths.scores, scores_table(*file, options, in, result, ids));
  const double select_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - select_start).count();
  const report::ReportData report = report_data(*file, options, in, result, paths, select_seconds, comm.size());
  nlohmann::json summary = report::summary_json(report);
  summary["outputs"] = {{"selected", paths.selected.string()}, {"ids", paths.ids.string()},
                        {"scores", paths.scores.string()},     {"results", options.run.output},
                        {"report", paths.report.string()},     {"selection", paths.selection.string()}};
  staged.write(paths.summary, summary.dump(2) + "\n");
  staged.write(paths.report, report::html_report(report));
  std::string
      outputs;  // what STEM.selection.h5 vouches for: "path\tbytes\thash" lines, paths relative to the result file
  const std::filesystem::path folder = std::filesystem::absolute(options.run.output).parent_path();
  for (const auto& path : {paths.selected, paths.ids, paths.scores, paths.summary, paths.report}) {
    outputs += cat(std::filesystem::absolute(path).lexically_relative(folder).string(), "\t",
                   file_digest(temporary_path(path)), "\n");
  }
  const WaitingLock info_lock(paths.dataset_info.string() + ".lock", 120);  // other selections in this folder wait
  std::string name = paths.selected.filename().string();
  for (const char* suffix : {".gz", ".zst", ".jsonl"}) {
    if (name.ends_with(suffix)) name.resize(name.size() - std::string_view(suffix).size());
  }
  std::string existing;
  if (std::filesystem::exists(paths.dataset_info)) {
    std::ifstream in_info(paths.dataset_info, std::ios::binary);
    existing.assign(std::istreambuf_iterator<char>(in_info), std::istreambuf_iterator<char>());
  }
  staged.write(paths.dataset_info,
               select::merge_dataset_info(existing, name, paths.selected.filename().string(), shape));
  write_selection_file(staged.stage(paths.selection), layout::read_lines(*file), options, in, result, outputs);
  staged.commit();
  log::info(cat("selection (", select::select_method_name(options.select.method), "): ", result.selected.size(), " of ",
                report.kept, " candidates -> ", paths.selected.string(), " (",
                options.exported.format == "input" ? "the records as they are" : options.exported.format, "); ids ",
                paths.ids.string(), ", scores ", paths.scores.string(), ", report ", paths.report.string()));
}

}  // namespace curate::service
