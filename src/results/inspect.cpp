#include "curate/results/inspect.h"

#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "curate/data/record.h"
#include "curate/store/hdf5.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "results/run_file.h"

namespace curate::service {

namespace {

// The selection of the result file at `path`: STEM.selection.h5 of its current name (not the /selection
// link, which keeps the name the file was created with), checked to belong to this file and to match
// the outputs it lists. Anything else is said plainly, never shown as this file's selection.
void inspect_selection(const std::filesystem::path& path, std::ostream& out) {
  const std::filesystem::path selection = selection_path(path.string());
  if (!std::filesystem::exists(selection)) {
    out << "selection: none for this file (no " << selection.filename().string()
        << "; run --stage select to make one)\n";
    return;
  }
  const store::H5File file = store::H5File::open(selection, false);
  if (!file.exists(layout::kSelected)) {
    out << "selection: " << selection.string() << " holds no selection; run --stage select\n";
    return;
  }
  const std::vector<uint64_t> selected = file.dims(layout::kSelected);
  if (selected.size() != 1)
    throw StoreError(selection.string() + ": " + layout::kSelected + " is not a list: the file is damaged");
  if (file.has_attribute(layout::kSelection, "results") &&
      file.string_attribute(layout::kSelection, "results") != path.filename().string()) {
    out << "selection: missing for this file: " << selection.filename().string() << " was made from "
        << file.string_attribute(layout::kSelection, "results")
        << " (the result file was moved or copied); run --stage select\n";
    return;
  }
  out << "selection: " << selected[0] << " examples by " << file.string_attribute(layout::kSelection, "method")
      << " (budget " << file.int_attribute(layout::kSelection, "budget") << " "
      << file.string_attribute(layout::kSelection, "budget_unit") << ", seed "
      << file.int_attribute(layout::kSelection, "seed") << ")\n"
      << file.string_attribute(layout::kSelection, "allocation") << "\n";
  if (!file.has_attribute(layout::kSelection, "outputs")) return;
  std::istringstream outputs(file.string_attribute(layout::kSelection, "outputs"));
  for (std::string line; std::getline(outputs, line);) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::filesystem::path output = path.parent_path() / line.substr(0, tab);
    const std::string digest = file_digest(output);
    out << "  " << line.substr(0, tab) << ": "
        << (digest.empty()                   ? "missing"
            : digest == line.substr(tab + 1) ? "ok"
                                             : "changed since the selection wrote it")
        << "\n";
  }
}

// The example counts: records, ok (scored) with their tokens, skipped by reason, not read yet.
void inspect_examples(const store::H5File& file, std::ostream& out) {
  const auto status = file.read_u8(layout::kStatus);
  const auto full = file.read_i64(layout::kFullLength);
  const auto damaged = [&](const std::string& what) {
    return StoreError(file.path().string() + ": " + what + ": the file is damaged");
  };
  if (full.size() != status.size())
    throw damaged(std::string(layout::kFullLength) + " and " + layout::kStatus + " differ in length");
  std::map<std::string, int64_t> counts;
  int64_t ok = 0, unread = 0, tokens = 0;
  for (std::size_t i = 0; i < status.size(); ++i) {
    if (example_unread(status[i], full[i])) {
      ++unread;
    } else if (example_ok(status[i])) {
      if (__builtin_add_overflow(tokens, full[i], &tokens))
        throw damaged(std::string(layout::kFullLength) + " holds impossible token counts");
      ++ok;
    } else {
      ++counts[skip_name(status[i])];
    }
  }
  out << "examples: " << status.size() << " records, " << ok << " ok (" << tokens << " tokens)";
  for (const auto& [reason, n] : counts) out << ", " << n << " " << reason;
  if (unread) out << ", " << unread << " not read yet";
  out << "\n";
}

// "  NaN losses: 3 example(s) at gaussian 2" (or "none") for a pass whose file records them.
void inspect_nan_losses(const store::H5File& file, Pass pass, std::ostream& out) {
  const std::vector<std::vector<uint64_t>> rows = layout::read_nan_rows(file, pass);
  if (rows.empty()) return;  // a file from before the count
  const std::vector<std::string> names = layout::checkpoint_names(file, pass);
  std::string counts;
  for (std::size_t c = 0; c < rows.size(); ++c) {
    if (rows[c].empty()) continue;
    counts += (counts.empty() ? "" : ", ") + std::to_string(rows[c].size()) + " example(s) at " +
              (c < names.size() ? names[c] : "checkpoint " + std::to_string(c));
  }
  out << "  NaN losses: " << (counts.empty() ? std::string("none") : counts + " (counted as not scored)") << "\n";
}

// One scoring pass: units done, tokens, checkpoints, rows, token-loss storage, distances.
void inspect_pass(const store::H5File& file, Pass pass, uint64_t records, std::ostream& out) {
  const std::vector<uint8_t> done = layout::read_done(file, pass);
  const std::string group = layout::group(pass);
  int64_t finished = 0;
  for (uint8_t d : done) finished += d;
  out << pass_name(pass) << ": " << finished << "/" << done.size() << " units ("
      << (done.empty() ? 0 : 100 * finished / static_cast<int64_t>(done.size())) << "%), "
      << file.int_attribute(group, "tokens") << " tokens, checkpoints " << file.string_attribute(group, "checkpoints")
      << "\n";
  const std::string example = layout::path(pass, layout::dataset::kExample),
                    losses = layout::path(pass, layout::dataset::kLosses);
  out << "  rows: " << (file.exists(example) ? file.dims(example).at(0) : records)
      << (pass == Pass::kProfile ? " examples (" + example + ")" : std::string(" records")) << "; token losses: ";
  if (file.exists(losses)) {
    const auto dims = file.dims(losses);
    out << (file.dtype(losses) == "f16" ? "float16" : "float32") << " [";
    for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
    out << "]\n";
  } else {
    out << "none (per-example means only)\n";
  }
  for (const char* measure : {layout::dataset::kDistance, layout::dataset::kNoiseStd}) {
    if (!file.exists(layout::path(pass, measure))) continue;
    out << "  " << measure << ":";
    for (float v : file.read_f32(layout::path(pass, measure)))
      out << " " << (std::isnan(v) ? std::string("-") : std::to_string(v));
    out << "\n";
  }
  inspect_nan_losses(file, pass, out);
}

}  // namespace

void inspect(const std::filesystem::path& path, std::ostream& out) {
  const store::H5File file = store::H5File::open(path, false);
  if (!layout::is_result_file(file)) throw StoreError(path.string() + ": not a curate_dist result file");
  out << path.string() << ": " << file.string_attribute(layout::kRoot, "format") << " v" << layout::version(file)
      << "\n";
  inspect_examples(file, out);
  if (const std::optional<int> chosen = layout::read_chosen_checkpoint(file)) {
    out << "calibration: done, chosen gaussian " << *chosen << "\n"
        << file.string_attribute(layout::group(Pass::kCalibration), "table") << "\n";
    if (const std::string warning = layout::read_calibration_warning(file); !warning.empty()) out << warning << "\n";
    inspect_nan_losses(file, Pass::kCalibration, out);
  } else if (file.exists(layout::path(Pass::kCalibration, layout::dataset::kDone))) {
    out << "calibration: in progress\n";
  }
  const uint64_t records = file.dims(layout::kStatus).at(0);
  for (Pass pass : {Pass::kDifficulty, Pass::kProfile}) {
    if (pass == Pass::kProfile && file.exists(layout::kFilterKept)) {
      out << "filter: " << file.string_attribute(layout::kFilter, "method") << ", the profile pass scores "
          << file.int_attribute(layout::kFilter, "kept") << " examples\n";
    }
    if (file.exists(layout::path(pass, layout::dataset::kDone))) inspect_pass(file, pass, records, out);
  }
  inspect_selection(path, out);
}

}  // namespace curate::service
