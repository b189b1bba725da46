#include "selection/output_checks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "curate/store/hdf5.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"
#include "results/layout.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;

bool inside(const fs::path& file, const fs::path& folder) {
  if (folder.empty()) return false;
  const fs::path f = fs::weakly_canonical(file), d = fs::weakly_canonical(folder);
  auto fi = f.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++fi) {
    if (di->empty()) continue;  // a trailing separator
    if (fi == f.end() || *fi != *di) return false;
  }
  return fi != f.end();
}

}  // namespace

void check_output_paths(const Options& options) {
  const OutputFiles files = OutputFiles::of(options);
  const std::string& out = options.run.output;
  std::vector<std::pair<std::string, fs::path>> inputs = {{"the dataset (data.path)", options.run.dataset},
                                                          {"the result file (output.path)", out}};
  for (const auto& companion : files.run.companions()) inputs.push_back(companion);
  const std::vector<std::pair<std::string, fs::path>> folders = {
      {"the model folder (model.path)", options.engine.model},
      {"the tokenizer folder (model.tokenizer)", options.run.tokenizer},
      {"the fine-tuned model folder (perturb.target)", options.engine.target}};
  for (std::size_t i = 1; i < inputs.size(); ++i) {  // the result file and its companions (all beside it)
    for (const auto& [folder, folder_path] : folders) {
      if (!folder_path.empty() && inside(inputs[i].second, folder_path)) {
        throw ConfigError(cat(inputs[i].first, " '", inputs[i].second.string(), "' lies inside ", folder, " '",
                              folder_path.string(),
                              "': outputs never go into a model folder; choose another output.path"));
      }
    }
  }
  const auto outputs = files.selection.named();
  std::error_code error;
  if (fs::is_directory(options.run.dataset, error)) {  // a folder of shards: an output there would be read as one
    std::vector<std::pair<std::string, fs::path>> written(inputs.begin() + 1, inputs.end());
    written.insert(written.end(), outputs.begin(), outputs.end());
    for (const auto& [what, path] : written) {
      if (inside(path, options.run.dataset)) {
        throw ConfigError(cat(what, " '", path.string(), "' lies inside the dataset folder (data.path) '",
                              options.run.dataset,
                              "': a later run would read it as data; choose another output.path or select.output"));
      }
    }
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& [what, path] = outputs[i];
    for (const auto& [input, input_path] : inputs) {
      if (!input_path.empty() && same_file(path, input_path)) {
        throw ConfigError(cat(what, " '", path.string(), "' is ", input, " '", input_path.string(),
                              "': writing it would destroy that file; choose another select.output or output.path"));
      }
    }
    for (const auto& [folder, folder_path] : folders) {
      if (!folder_path.empty() && inside(path, folder_path)) {
        throw ConfigError(cat(what, " '", path.string(), "' lies inside ", folder, " '", folder_path.string(),
                              "': outputs never go into a model folder; choose another select.output or output.path"));
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (same_file(path, outputs[j].second)) {
        throw ConfigError(cat(what, " '", path.string(), "' is also ", outputs[j].first, " '",
                              outputs[j].second.string(), "': give select.output another name"));
      }
    }
  }
  // A records file named like another selection's companion (x.summary.json is the summary of the
  // selection x) would overwrite that selection's file.
  for (const auto& [what, companion] : SelectionFiles::of("x.jsonl").named()) {
    const std::string suffix = companion.filename().string().substr(1);  // ".summary.json", ...
    const std::string name = files.selection.selected.filename().string();
    if (what == "select.output" || what == "dataset_info.json" || !name.ends_with(suffix) || name == suffix) continue;
    const fs::path owner = files.selection.selected.parent_path() / name.substr(0, name.size() - suffix.size());
    throw ConfigError(cat(what, " of the selection '", owner.string(), "' ('", files.selection.selected.string(),
                          "') is also select.output '", files.selection.selected.string(),
                          "': give select.output another name"));
  }
  const std::string& stem = files.run.stem;
  for (const std::string& sibling : {stem, stem + ".h5", stem + ".hdf5"}) {
    if (fs::is_regular_file(sibling) && !same_file(sibling, out)) {
      throw ConfigError(cat("output.path '", out, "' and '", sibling, "' in one folder would share the output names ",
                            stem, ".selected.jsonl, ", stem, ".selection.h5, ", stem,
                            ".summary.json, ...: rename one of them (e.g. ", stem, "-2",
                            fs::path(out).extension().string(), ")"));
    }
  }
}

void check_selection_owner(const SelectionFiles& files) {
  if (!fs::exists(files.selection)) return;
  std::vector<std::string> outputs;
  try {
    outputs = layout::read_selection_facts(store::H5File::open(files.selection, false)).outputs;
  } catch (const StoreError&) {
    return;  // a damaged or foreign file: the selection replaces it, as before
  }
  if (outputs.empty()) return;
  const std::string listed = outputs.front().substr(0, outputs.front().find('\t'));
  if (fs::path(listed).filename() == files.selected.filename()) return;
  throw ConfigError(cat(files.selection.string(), " belongs to the selection whose records are ", listed, ", not ",
                        files.selected.string(), ": both are named '", fs::path(files.stem).filename().string(),
                        "'; give select.output another name (e.g. ", fs::path(files.stem).filename().string(),
                        "-2.jsonl)"));
}

FolderLock::FolderLock(const fs::path& folder, double seconds) {
  const fs::path path = folder.empty() ? fs::path(".") : folder;
  fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw StoreError(path.string() + ": cannot open the output folder: " + std::strerror(errno));
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::close(fd_);
      throw StoreError(cat(path.string(), ": another selection has been writing into this folder for ", seconds,
                           " s; wait for it to finish and rerun"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace curate::service
