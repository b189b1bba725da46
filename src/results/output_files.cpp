#include "results/output_files.h"

#include <string_view>

namespace curate::service {
namespace {

std::string without_suffix(std::string name, std::string_view suffix) {
  if (name.size() > suffix.size() && name.ends_with(suffix)) name.resize(name.size() - suffix.size());
  return name;
}

}  // namespace

RunFiles RunFiles::of(const std::string& output) {
  RunFiles f;
  std::filesystem::path stem(output);
  if (stem.extension() == ".h5" || stem.extension() == ".hdf5") stem.replace_extension();
  f.stem = stem.string();
  f.result = output;
  f.journal = output + ".journal";
  f.lock = output + ".lock";
  f.base = output + ".base";
  f.index = output + ".index";
  f.hashes = output + ".hashes";
  return f;
}

std::vector<std::pair<std::string, std::filesystem::path>> RunFiles::companions() const {
  return {{"the run's journal", journal},
          {"the run's lock file", lock},
          {"the run's base copy", base},
          {"the run's record index", index},
          {"the run's hash cache", hashes}};
}

SelectionFiles SelectionFiles::of(const std::string& selected) {
  SelectionFiles f;
  const std::filesystem::path path(selected);
  std::string name = path.filename().string();
  for (const char* compressed : {".gz", ".zst"}) name = without_suffix(name, compressed);
  name = without_suffix(name, ".jsonl");
  f.dataset_name = name;
  const std::string stem = (path.parent_path() / without_suffix(name, ".selected")).string();
  f.stem = stem;
  f.selected = selected;
  f.ids = stem + ".selected_ids.txt";
  f.scores = stem + ".scores.tsv";
  f.summary = stem + ".summary.json";
  f.report = stem + ".report.html";
  f.examples = stem + ".examples.html";
  f.selection = stem + ".selection.h5";
  f.dataset_info = path.parent_path() / "dataset_info.json";
  return f;
}

std::vector<std::pair<std::string, std::filesystem::path>> SelectionFiles::named() const {
  return {{"select.output", selected},
          {"the selected ids", ids},
          {"the scores table", scores},
          {"the summary", summary},
          {"the report", report},
          {"the examples page", examples},
          {"the selection file", selection},
          {"dataset_info.json", dataset_info}};
}

std::vector<std::filesystem::path> SelectionFiles::listed() const {
  return {selected, ids, scores, summary, report, examples};
}

OutputFiles OutputFiles::of(const Options& options) {
  return {RunFiles::of(options.run.output), SelectionFiles::of(options.run.selected)};
}

std::filesystem::path default_selection_file(const std::string& output) {
  return SelectionFiles::of(RunFiles::of(output).stem + ".selected.jsonl").selection;
}

}  // namespace curate::service
