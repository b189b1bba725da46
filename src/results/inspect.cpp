#include "curate/results/inspect.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "curate/data/record.h"
#include "curate/store/hdf5.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/terminal.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "results/output_files.h"

namespace curate::service {

namespace {

constexpr std::size_t kAllocationLines = 24;  // of the latest selection's allocation table; the rest counted

// "path: ok | missing | changed since the selection wrote it" for each file a selection vouches for.
void inspect_outputs(const std::filesystem::path& folder, const layout::SelectionFacts& facts, std::ostream& out) {
  for (const std::string& line : facts.outputs) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string digest = file_digest(folder / line.substr(0, tab));
    out << "    " << line.substr(0, tab) << ": "
        << (digest.empty()                   ? "missing"
            : digest == line.substr(tab + 1) ? "ok"
                                             : "changed since the selection wrote it")
        << "\n";
  }
}

// Every selection made from the result file at `path`: the selection files it lists (/selections),
// the one /selection points to and SEL.selection.h5 of its current name, each checked to have been
// made from this file (by its current name) and to match the outputs it lists. A selection file of
// another result file (this one was moved or copied) is said plainly, never shown as this file's.
void inspect_selections(const store::H5File& file, const std::filesystem::path& path, std::ostream& out) {
  const std::filesystem::path folder = path.parent_path();
  const std::string own = default_selection_file(path.filename().string()).string();
  const std::string latest = layout::linked_selection(file);
  std::vector<std::string> candidates = layout::read_selection_list(file);
  for (const std::string& extra : {latest, own}) {
    if (!extra.empty() && std::find(candidates.begin(), candidates.end(), extra) == candidates.end())
      candidates.push_back(extra);
  }
  std::vector<std::pair<std::string, layout::SelectionFacts>> mine;
  std::string foreign;  // why a candidate is not this file's
  for (const std::string& name : candidates) {
    if (!std::filesystem::exists(folder / name)) continue;
    layout::SelectionFacts facts;
    try {
      facts = layout::read_selection_facts(store::H5File::open(folder / name, false));
    } catch (const StoreError& e) {
      out << "selection file " << name << " cannot be read: " << e.what() << "\n";
      continue;
    }
    if (!facts.results.empty() && facts.results != path.filename().string()) {
      if (name == own || foreign.empty())
        foreign = name + " was made from " + facts.results + " (the result file was moved or copied)";
      continue;
    }
    mine.emplace_back(name, facts);
  }
  if (mine.empty()) {
    if (std::filesystem::exists(folder / own) && !foreign.empty()) {
      out << "selection: missing for this file: " << foreign << "; run --stage select\n";
    } else {
      out << "selection: none for this file (no " << own << "; run --stage select to make one)"
          << (foreign.empty() ? "" : "; " + foreign) << "\n";
    }
    return;
  }
  out << "selections: " << mine.size() << " made from this file\n";
  for (const auto& [name, facts] : mine) {
    const bool current = name == latest || mine.size() == 1;
    out << "selection: " << facts.selected << " examples by " << facts.method
        << (facts.features == "loss" ? "" : " on " + facts.features) << " (budget " << facts.budget << " "
        << facts.budget_unit << ", seed " << facts.seed << ")" << (facts.time.empty() ? "" : " at " + facts.time)
        << ", " << name << (current ? " (latest: /selection points here)" : "") << "\n";
    if (current) {
      const std::size_t shown = std::min(facts.allocation.size(), kAllocationLines);
      for (std::size_t k = 0; k < shown; ++k) out << facts.allocation[k] << "\n";
      if (shown < facts.allocation.size())
        out << "... " << facts.allocation.size() - shown << " more allocation rows (" << name << ":"
            << layout::kAllocation << ")\n";
    }
    inspect_outputs(folder, facts, out);
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
      << file.int_attribute(group, layout::attr::kTokens) << " tokens, checkpoints "
      << file.string_attribute(group, layout::attr::kCheckpoints) << "\n";
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

void write_inspection(const std::filesystem::path& path, std::ostream& out) {
  const store::H5File file = store::H5File::open(path, false);
  if (!layout::is_result_file(file)) throw StoreError(path.string() + ": not a curate_dist result file");
  out << path.string() << ": " << file.string_attribute(layout::kRoot, layout::attr::kFormat) << " v"
      << layout::version(file) << "\n";
  inspect_examples(file, out);
  if (const std::optional<int> chosen = layout::read_chosen_checkpoint(file)) {
    out << "calibration: done, chosen gaussian " << *chosen << "\n"
        << file.string_attribute(layout::group(Pass::kCalibration), layout::attr::kTable) << "\n";
    if (const std::string warning = layout::read_calibration_warning(file); !warning.empty()) out << warning << "\n";
    if (const auto search = layout::read_noise_search(file)) {
      out << "noise search (perturb.gaussian_max_std = auto): found " << search->found << "; tried";
      for (std::size_t k = 0; k < search->stds.size() && k < search->ratios.size(); ++k)
        out << (k ? ", " : " ") << search->stds[k] << " -> " << search->ratios[k];
      out << "\n";
    }
    inspect_nan_losses(file, Pass::kCalibration, out);
  } else if (file.exists(layout::path(Pass::kCalibration, layout::dataset::kDone))) {
    out << "calibration: in progress\n";
  }
  const uint64_t records = file.dims(layout::kStatus).at(0);
  for (Pass pass : {Pass::kDifficulty, Pass::kProfile}) {
    if (pass == Pass::kProfile && file.exists(layout::kFilterKept)) {
      out << "filter: " << file.string_attribute(layout::kFilter, layout::attr::kMethod) << ", the profile pass scores "
          << file.int_attribute(layout::kFilter, layout::attr::kKept) << " examples\n";
    }
    if (file.exists(layout::path(pass, layout::dataset::kDone))) inspect_pass(file, pass, records, out);
  }
  if (const std::optional<layout::GradientAttrs> g = layout::read_gradient_attrs(file)) {
    const std::vector<uint8_t> done = file.read_u8(layout::kGradientDone);
    out << "gradients: " << std::count(done.begin(), done.end(), uint8_t{1}) << "/" << done.size() << " units, "
        << file.dims(layout::kGradientExample).at(0) << " examples, dim " << g->dim << ", params " << g->params << ", "
        << g->tokens << " tokens, " << g->projection << " projection, seed " << g->seed << "\n";
  }
  inspect_selections(file, path, out);
}

}  // namespace

void inspect(const std::filesystem::path& path, std::ostream& terminal) {
  std::ostringstream out;  // file names and stored texts reach a terminal: shown through escape_control
  write_inspection(path, out);
  terminal << escape_control(out.str());
}

}  // namespace curate::service
