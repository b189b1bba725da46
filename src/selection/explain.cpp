#include "curate/selection/explain.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/data/detect.h"
#include "curate/select/export.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "curate/util/terminal.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "results/output_files.h"
#include "results/output_plan.h"
#include "selection/columns.h"

namespace curate::service {
namespace {

// The row of /examples the query names; throws ConfigError when it names none.
std::size_t find_row(const SelectionColumns& c, const ExplainOptions& which, const std::string& result) {
  if (which.id.empty() == (which.line == 0))
    throw ConfigError("explain needs exactly one of --id ID and --line N (the example's 1-based line in the dataset)");
  for (std::size_t i = 0; i < c.records(); ++i) {
    if (which.line != 0 ? c.line[i] == which.line : c.id[i] == which.id) return i;
  }
  throw ConfigError(cat(result, " has no example with ", which.line != 0 ? "line " : "id '",
                        which.line != 0 ? std::to_string(which.line) : escape_control(which.id) + "'", " (",
                        c.records(),
                        " examples; ids are data.id_field's values, or the line numbers when it is empty)"));
}

// The selection file the result file links (the latest selection), else the configured one; none
// when neither exists.
std::optional<std::filesystem::path> selection_file(const store::H5File& result, const OutputFiles& files) {
  const std::string linked = layout::linked_selection(result);
  const std::filesystem::path folder = std::filesystem::path(files.run.result).parent_path();
  if (!linked.empty() && std::filesystem::exists(folder / linked)) return folder / linked;
  if (std::filesystem::exists(files.selection.selection)) return files.selection.selection;
  return std::nullopt;
}

void print_text(const Options& job, std::size_t row, std::ostream& out) {
  data::DataOptions data = job.data;
  const data::RecordIndex index = data::load_or_build_index(job.run.dataset, index_cache_path(job));
  if (data::needs_resolution(data)) data::resolve_auto(data, job.run.dataset, index);
  const std::size_t position[] = {row};
  const data::ParseResult parsed = data::read_records(job.run.dataset, index, position, data).at(0);
  if (!parsed.example) {
    out << "text: not readable as an example (" << data::skip_reason_name(parsed.reason)
        << (parsed.detail.empty() ? "" : ": " + escape_control(parsed.detail)) << ")\n";
    return;
  }
  const data::Example& e = *parsed.example;
  for (const data::Message& m : e.context) out << "--- " << m.role << "\n" << escape_control(m.content) << "\n";
  out << "--- reasoning (scored)\n" << escape_control(e.reasoning) << "\n";
  if (!e.answer.empty()) out << "--- answer\n" << escape_control(e.answer) << "\n";
  out << "---\n";
}

}  // namespace

Options recorded_settings(const std::filesystem::path& result, int argc, char** argv) {
  std::string settings;
  {
    const store::H5File file = store::H5File::open(result, /*writable=*/false);
    if (!layout::is_result_file(file))
      throw ConfigError(cat(result.string(), " is not a curate_dist result file (it has no ", layout::kStatus, ")"));
    settings = layout::read_settings(file);
  }
  if (settings.empty()) {
    throw ConfigError(cat(result.string(),
                          " records no settings (it was last written by a curate_dist older than the settings "
                          "attribute): give the run's settings instead, curate_tool explain --config run.ini "
                          "--output.path ",
                          result.string(), " --id ID"));
  }
  Options job;
  parse_options(argc, argv, job, settings, result.string() + "'s recorded settings");
  job.run.output = result.string();
  validate(job);
  const std::string& dataset = job.run.dataset;
  const bool pattern = dataset.find_first_of("*?[") != std::string::npos;  // a glob: its files are checked later
  if (!pattern && !std::filesystem::exists(dataset)) {
    throw DataError(cat("the dataset ", dataset, " that ", result.string(),
                        " was scored from is missing (moved or deleted): give its new place with --data.path PATH, "
                        "e.g. curate_tool explain ",
                        result.string(),
                        " ID --data.path PATH, or use curate_tool explain --config run.ini "
                        "--data.path PATH --id ID"));
  }
  return job;
}

void explain(const Options& job, const ExplainOptions& which, std::ostream& out) {
  const OutputFiles files = OutputFiles::of(job);
  const store::H5File result = store::H5File::open(files.run.result, /*writable=*/false);
  const SelectionColumns c = read_columns(result);
  const std::size_t i = find_row(c, which, files.run.result.string());
  const std::size_t n = c.records();
  out << "example " << escape_control(c.id[i]) << ": line " << c.line[i] << " of " << job.run.dataset << ", source "
      << escape_control(c.source[i]) << ", domain " << escape_control(c.domain[i]) << "\n";
  print_text(job, i, out);
  if (c.status[i] != kStatusOk) {
    out << "status: skipped (" << skip_name(c.status[i]) << "): never scored, never selected\n";
    return;
  }
  out << "tokens: prompt " << c.prompt_tokens[i] << ", after the prompt " << c.reasoning_tokens[i] << ", whole "
      << c.full_length[i] << "\n";
  out << "difficulty loss: " << c.difficulty[i] << " (mean over the first " << job.pass.difficulty_tokens
      << " scored tokens)\n";
  std::string profile;
  for (int64_t k = 0; k < c.checkpoints; ++k) {
    const float mean = c.mean_loss[static_cast<std::size_t>(k) * n + i];
    if (!std::isnan(mean)) profile += cat(profile.empty() ? "" : ", ", k + 1, ": ", mean);
  }
  out << "profile means per checkpoint: " << (profile.empty() ? "not profiled" : profile) << "\n";
  const std::optional<std::filesystem::path> selection = selection_file(result, files);
  if (!selection) {
    out << "selection: none made yet (--stage select)\n";
    return;
  }
  const store::H5File sel = store::H5File::open(*selection, /*writable=*/false);
  const layout::SelectionFacts facts = layout::read_selection_facts(sel);
  const std::vector<int64_t> selected = sel.read_i64(layout::kSelected), cluster = sel.read_i64(layout::kCluster);
  const std::vector<float> score = sel.read_f32(layout::kScore);
  const std::vector<uint8_t> candidate = sel.read_u8(layout::kCandidate);
  if (cluster.size() != n || score.size() != n || candidate.size() != n)
    throw StoreError(cat(selection->string(), " does not hold one value per example of ", files.run.result.string(),
                         ": made from another result file? run --stage select again"));
  const auto chosen = [&](std::size_t row) {
    return std::binary_search(selected.begin(), selected.end(), c.line[row]);
  };
  out << "selection: " << selection->string() << " (" << facts.method << ", " << facts.selected << " selected, "
      << facts.time << ")\n";
  // The allocation rows of the example's domain and source, the header first.
  const std::string domain_row = "domain\t" + select::tsv_escape(c.domain[i]) + "\t\t",
                    source_row = "\t" + select::tsv_escape(c.domain[i]) + "\t" + select::tsv_escape(c.source[i]) + "\t";
  for (std::size_t k = 0; k < facts.allocation.size(); ++k) {
    const std::string& line = facts.allocation[k];
    if (k == 0 || line.starts_with(domain_row) || line.find(source_row) != std::string::npos)
      out << "  allocation: " << escape_control(line) << "\n";
  }
  const bool is_selected = chosen(i);
  if (!candidate[i]) {
    out << "cluster: none (not a candidate)\n";
    out << "verdict: " << (is_selected ? "selected" : "not selected")
        << ": the difficulty filter (filter.method) did not keep it, so the profile pass never scored it\n";
    return;
  }
  int64_t rank = 1, members = 0, taken = 0;
  for (std::size_t r = 0; r < n; ++r) {
    if (!candidate[r] || cluster[r] != cluster[i] || c.source.ids[r] != c.source.ids[i]) continue;
    ++members;
    taken += chosen(r) ? 1 : 0;
    if (r != i && (score[r] > score[i] || (score[r] == score[i] && r < i))) ++rank;
  }
  out << "cluster: " << cluster[i] << " of source " << escape_control(c.source[i]) << ", score " << score[i]
      << ", rank " << rank << " of " << members << " by score, " << taken << " of them selected\n";
  out << "verdict: ";
  if (is_selected)
    out << "selected\n";
  else if (cluster[i] < 0)
    out << "not selected: its source was not clustered (its allocation took none or all of it)\n";
  else if (taken == 0)
    out << "not selected: its cluster got none of the source's allocation\n";
  else
    out << "not selected: below its cluster's cut (" << taken << " taken of " << members << ")\n";
}

}  // namespace curate::service
