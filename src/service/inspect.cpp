#include "curate/service/inspect.h"

#include <cmath>
#include <map>
#include <sstream>

#include "curate/data/record.h"
#include "curate/store/hdf5.h"
#include "curate/util/error.h"
#include "curate/util/atomic_file.h"
#include "run_file.h"

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
  if (!file.exists("/selection/selected")) {
    out << "selection: " << selection.string() << " holds no selection; run --stage select\n";
    return;
  }
  const std::vector<uint64_t> selected = file.dims("/selection/selected");
  if (selected.size() != 1) throw StoreError(selection.string() + ": /selection/selected is not a list: the file is damaged");
  if (file.has_attribute("/selection", "results") &&
      file.string_attribute("/selection", "results") != path.filename().string()) {
    out << "selection: missing for this file: " << selection.filename().string() << " was made from "
        << file.string_attribute("/selection", "results") << " (the result file was moved or copied); run --stage select\n";
    return;
  }
  out << "selection: " << selected[0] << " examples by " << file.string_attribute("/selection", "method") << " (budget "
      << file.int_attribute("/selection", "budget") << " " << file.string_attribute("/selection", "budget_unit") << ", seed "
      << file.int_attribute("/selection", "seed") << ")\n"
      << file.string_attribute("/selection", "allocation") << "\n";
  if (!file.has_attribute("/selection", "outputs")) return;
  std::istringstream outputs(file.string_attribute("/selection", "outputs"));
  for (std::string line; std::getline(outputs, line);) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::filesystem::path output = path.parent_path() / line.substr(0, tab);
    const std::string digest = file_digest(output);
    out << "  " << line.substr(0, tab) << ": "
        << (digest.empty() ? "missing" : digest == line.substr(tab + 1) ? "ok" : "changed since the selection wrote it") << "\n";
  }
}

}  // namespace

void inspect(const std::filesystem::path& path, std::ostream& out) {
  const store::H5File file = store::H5File::open(path, false);
  if (!file.exists("/examples/status")) throw StoreError(path.string() + ": not a curate_dist result file");
  out << path.string() << ": " << file.string_attribute("/", "format") << " v" << file.int_attribute("/", "version") << "\n";
  const auto status = file.read_u8("/examples/status");
  const auto full = file.read_i64("/examples/full_length");
  const auto damaged = [&](const std::string& what) { return StoreError(path.string() + ": " + what + ": the file is damaged"); };
  if (full.size() != status.size()) throw damaged("/examples/full_length and /examples/status differ in length");
  std::map<std::string, int64_t> counts;
  int64_t kept = 0, unseen = 0, tokens = 0;
  for (std::size_t i = 0; i < status.size(); ++i) {
    if (status[i] == 0 && full[i] > 0) {
      if (__builtin_add_overflow(tokens, full[i], &tokens)) throw damaged("/examples/full_length holds impossible token counts");
      ++kept;
    } else if (status[i] == 0) {
      ++unseen;
    } else {
      ++counts[std::string(data::skip_reason_name(static_cast<data::SkipReason>(status[i] - 1)))];
    }
  }
  out << "examples: " << status.size() << " records, " << kept << " kept (" << tokens << " tokens)";
  for (const auto& [reason, n] : counts) out << ", " << n << " " << reason;
  if (unseen) out << ", " << unseen << " not read yet";
  out << "\n";
  if (file.exists("/calibration/done")) {
    out << "calibration: " << (file.exists("/calibration/ratio") ? "done, chosen gaussian " +
                                                                       std::to_string(file.int_attribute("/calibration", "chosen"))
                                                                 : std::string("in progress"))
        << "\n";
    if (file.exists("/calibration/ratio")) out << file.string_attribute("/calibration", "table") << "\n";
  }
  for (const char* pass : {"/difficulty", "/profile"}) {
    if (std::string(pass) == "/profile" && file.exists("/filter/kept")) {
      out << "filter: " << file.string_attribute("/filter", "method") << ", the profile pass scores "
          << file.int_attribute("/filter", "kept") << " examples\n";
    }
    if (!file.exists(std::string(pass) + "/done")) continue;
    const auto done = file.read_u8(std::string(pass) + "/done");
    int64_t finished = 0;
    for (uint8_t d : done) finished += d;
    out << (pass + 1) << ": " << finished << "/" << done.size() << " units (" << (done.empty() ? 0 : 100 * finished / static_cast<int64_t>(done.size()))
        << "%), " << file.int_attribute(pass, "tokens") << " tokens, checkpoints " << file.string_attribute(pass, "checkpoints") << "\n";
    const std::string losses = std::string(pass) + "/losses";
    out << "  rows: " << (file.exists(std::string(pass) + "/example") ? file.dims(std::string(pass) + "/example").at(0) : status.size())
        << (std::string(pass) == "/profile" ? " examples (/profile/example)" : " records") << "; token losses: ";
    if (file.exists(losses)) {
      const auto dims = file.dims(losses);
      out << (file.dtype(losses) == "f16" ? "float16" : "float32") << " [";
      for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
      out << "]\n";
    } else {
      out << "none (per-example means only)\n";
    }
    for (const char* measure : {"/distance", "/noise_std"}) {
      if (!file.exists(std::string(pass) + measure)) continue;
      out << "  " << (measure + 1) << ":";
      for (float v : file.read_f32(std::string(pass) + measure)) out << " " << (std::isnan(v) ? std::string("-") : std::to_string(v));
      out << "\n";
    }
  }
  inspect_selection(path, out);
}

}  // namespace curate::service
