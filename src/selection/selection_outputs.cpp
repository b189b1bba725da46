#include "selection/selection_outputs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "curate/data/dataset.h"
#include "curate/data/line_writer.h"
#include "curate/store/hdf5.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/layout.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;

data::Compression output_compression(const RecordSource& source) {
  const std::string& c = source.exported.compress;
  if (c == "gz") return data::Compression::kGzip;
  if (c == "zst") return data::Compression::kZstd;
  if (c == "auto" && fs::exists(source.dataset)) return data::detect_compression(source.dataset);
  return data::Compression::kNone;
}

// `path` relative to the folder of `results` (how the selection's files name each other).
std::string relative_to(const fs::path& path, const fs::path& results) {
  return fs::absolute(path).lexically_normal().lexically_relative(fs::absolute(results).parent_path()).string();
}

// Ids of the selected records, one a line, TSV-escaped, in input order.
std::string ids_text(const std::vector<std::string>& ids, const std::vector<std::size_t>& positions) {
  std::string text;
  for (std::size_t p : positions) text += select::tsv_escape(ids[p]) + "\n";
  return text;
}

// SEL.scores.tsv: a header, then one row per record (input order); text TSV-escaped, NaN as "nan".
std::string scores_table(const SelectionColumns& in, const std::vector<std::string>& checkpoints,
                         const select::SelectResult& result, const std::string& method) {
  const std::size_t n = in.records(), c = static_cast<std::size_t>(in.checkpoints);
  std::vector<uint8_t> chosen(n, 0);
  for (int64_t i : result.selected) chosen[static_cast<std::size_t>(i)] = 1;
  const auto number = [](float v) { return std::isnan(v) ? std::string("nan") : format_float(v); };
  std::string table = "id\tline\tsource\tdomain\tdifficulty\tkept\tcluster\tbrittleness\tscore";
  for (std::size_t k = 0; k < c; ++k) {
    table += "\tloss:" + select::tsv_escape(k < checkpoints.size() ? checkpoints[k] : std::to_string(k));
  }
  table += "\tselected\tmethod\n";
  const std::string method_text = select::tsv_escape(method);
  for (std::size_t i = 0; i < n; ++i) {
    const float first = c ? in.mean_loss[i] : NAN, last = c ? in.mean_loss[(c - 1) * n + i] : NAN;
    table += cat(select::tsv_escape(in.id[i]), "\t", in.line[i], "\t", select::tsv_escape(in.source[i]), "\t",
                 select::tsv_escape(in.domain[i]), "\t", number(in.difficulty[i]), "\t", int{in.candidate[i]}, "\t",
                 result.cluster[i], "\t", number(last - first), "\t", number(result.score[i]));
    for (std::size_t k = 0; k < c; ++k) table += "\t" + number(in.mean_loss[k * n + i]);
    table += cat("\t", int{chosen[i]}, "\t", method_text, "\n");
  }
  return table;
}

// The allocation table's lines, the header first ("clamped": 1 where the score was NaN and counted as 0).
std::vector<std::string> allocation_lines(const SelectionColumns& in, const select::SelectResult& result) {
  std::vector<std::string> lines{"level\tdomain\tsource\texamples\tscore\tshare\tallocated\tclamped"};
  for (const auto& row : result.allocation) {
    lines.push_back(
        cat(row.level, "\t", select::tsv_escape(in.domain.names[static_cast<std::size_t>(row.domain)]), "\t",
            row.source >= 0 ? select::tsv_escape(in.source.names[static_cast<std::size_t>(row.source)]) : "", "\t",
            row.examples, "\t", row.score, "\t", row.share, "\t", row.allocated, "\t", row.clamped ? 1 : 0));
  }
  return lines;
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string read_text(const fs::path& path) {
  if (!fs::exists(path)) return "";
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::optional<select::TrainerShape> write_selected_records(const RecordSource& source,
                                                           const std::vector<std::size_t>& positions,
                                                           const fs::path& path) {
  const data::RecordIndex index = data::load_or_build_index(source.dataset, source.index);
  const data::Compression compression = output_compression(source);
  const bool verbatim = source.exported.format == "input";
  select::ShapeCollector shapes(source.data);
  data::CompressedWriter out(path, compression);
  data::read_raw_records(source.dataset, index, positions, [&](std::size_t position, std::string_view bytes) {
    if (verbatim) {
      out.write(bytes);
      shapes.add(bytes);
    } else {
      const std::string line = select::convert_record(bytes, index.lines[position], source.data, source.exported);
      out.write(line);
      shapes.add(line);
    }
    out.write("\n");
  });
  out.close();
  if (compression != data::Compression::kNone) {
    log::info(
        "dataset_info.json gets no entry for a compressed selection (LLaMA-Factory reads plain .jsonl files); "
        "select.compress = none writes one");
    return std::nullopt;
  }
  if (!shapes.shape())
    log::warn("dataset_info.json gets no entry for " + path.filename().string() + ": " + shapes.why());
  return shapes.shape();
}

void write_selection_outputs(const SelectionFiles& files, const fs::path& results, const SelectionColumns& columns,
                             const std::vector<std::string>& checkpoints, const select::SelectResult& result,
                             const select::SelectOptions& options, const RecordSource& source,
                             const report::ReportData& report) {
  const std::string method = select::select_method_name(options.method);
  std::vector<std::size_t> positions(result.selected.begin(), result.selected.end());
  std::sort(positions.begin(), positions.end());  // input order
  StagedFiles staged;
  const std::optional<select::TrainerShape> shape =
      write_selected_records(source, positions, staged.stage(files.selected));
  staged.write(files.ids, ids_text(columns.id, positions));
  staged.write(files.scores, scores_table(columns, checkpoints, result, method));
  nlohmann::json summary = report::summary_json(report);
  summary["outputs"] = {{"selected", files.selected.string()},  {"ids", files.ids.string()},
                        {"scores", files.scores.string()},      {"results", results.string()},
                        {"report", files.report.string()},      {"examples", files.examples.string()},
                        {"selection", files.selection.string()}};
  staged.write(files.summary, summary.dump(2) + "\n");
  staged.write(files.report, report::html_report(report));
  staged.write(files.examples, report::examples_html(examples_page(source, columns, result, files, results)));

  layout::SelectionFacts facts;
  facts.method = method;
  facts.features = select::select_features_name(options.features);
  facts.budget = options.token_budget > 0 ? options.token_budget : result.budget;  // a fraction: of the candidates
  facts.budget_setting = options.budget.text;                                      // as written: "10%" or "40"
  facts.budget_unit = options.token_budget > 0 ? "tokens" : "examples";
  facts.seed = static_cast<int64_t>(options.seed);
  facts.results = results.filename().string();
  facts.time = utc_now();
  facts.loss_not_rising = result.loss_not_rising;
  facts.allocation = allocation_lines(columns, result);
  for (const fs::path& path : files.listed()) {  // what the selection file vouches for
    facts.outputs.push_back(cat(relative_to(path, results), "\t", file_digest(temporary_path(path))));
  }
  layout::SelectionArrays arrays;
  for (int64_t i : result.selected) arrays.selected_lines.push_back(columns.line[static_cast<std::size_t>(i)]);
  std::sort(arrays.selected_lines.begin(), arrays.selected_lines.end());
  arrays.cluster.assign(result.cluster.begin(), result.cluster.end());
  arrays.score = result.score;
  arrays.candidate = columns.candidate;

  const FolderLock folder(write_target(files.dataset_info).parent_path(),
                          120);  // writers of the file (its link's target) take turns
  staged.write(files.dataset_info, select::merge_dataset_info(read_text(files.dataset_info), files.dataset_name,
                                                              files.selected.filename().string(), shape));
  {
    store::H5File selection = store::H5File::create(staged.stage(files.selection));
    layout::write_selection_file(selection, facts, arrays);
    selection.flush();
  }
  staged.commit();
}

void relink_selection(const fs::path& results, const SelectionFiles& files, const std::string& settings) {
  const std::string target = relative_to(files.selection, results);
  try {
    store::H5File file = store::H5File::open(results, /*writable=*/true);
    layout::link_selection(file, target);
    layout::write_settings(file, settings);
    file.flush();
  } catch (const StoreError& e) {
    const std::string linked = [&] {
      try {
        return layout::linked_selection(store::H5File::open(results, false));
      } catch (const StoreError&) {
        return std::string("?");
      }
    }();
    log::warn(cat("the selection is complete, but ", results.string(), " cannot be written (", e.what(),
                  "): its /selection link still points at ", linked, ", not ", target,
                  "; HDF5 readers following it see that selection"));
  }
}

}  // namespace curate::service
