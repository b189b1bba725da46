#include "selection/selection_outputs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <cstdio>
#include <fstream>

#include "curate/data/dataset.h"
#include "curate/data/line_writer.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/output_plan.h"
#include "results/run_file.h"

namespace curate::service {
namespace {

namespace fs = std::filesystem;

data::Compression output_compression(const Options& options) {
  const std::string& c = options.exported.compress;
  if (c == "gz") return data::Compression::kGzip;
  if (c == "zst") return data::Compression::kZstd;
  if (c == "auto" && fs::exists(options.run.dataset)) return data::detect_compression(options.run.dataset);
  return data::Compression::kNone;
}

bool same_file(const fs::path& a, const fs::path& b) {
  struct stat sa {
  }, sb{};
  if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  return fs::weakly_canonical(a) == fs::weakly_canonical(b);
}

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

SelectionPaths selection_paths(const Options& options) {
  const std::string stem = output_stem(options.run.output);
  SelectionPaths p;
  p.selected = options.run.selected;  // validate() filled the default
  p.ids = stem + ".selected_ids.txt";
  p.scores = stem + ".scores.tsv";
  p.summary = stem + ".summary.json";
  p.report = stem + ".report.html";
  p.selection = selection_path(options.run.output);
  p.dataset_info = p.selected.parent_path() / "dataset_info.json";
  return p;
}

std::vector<std::pair<std::string, fs::path>> SelectionPaths::named() const {
  return {{"select.output", selected},        {"the selected ids", ids}, {"the scores table", scores},
          {"the summary", summary},           {"the report", report},    {"the selection file", selection},
          {"dataset_info.json", dataset_info}};
}

void check_output_paths(const Options& options) {
  const SelectionPaths paths = selection_paths(options);
  const std::string& out = options.run.output;
  const std::vector<std::pair<std::string, fs::path>> inputs = {
      {"the dataset (data.path)", options.run.dataset}, {"the result file (output.path)", out},
      {"the run's journal", out + ".journal"},          {"the run's lock file", out + ".lock"},
      {"the run's base copy", out + ".base"},           {"the run's record index", out + ".index"},
      {"the run's hash cache", out + ".hashes"}};
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
  const auto outputs = paths.named();
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
  const std::string stem = output_stem(out);
  for (const std::string& sibling : {stem, stem + ".h5", stem + ".hdf5"}) {
    if (fs::is_regular_file(sibling) && !same_file(sibling, out)) {
      throw ConfigError(cat("output.path '", out, "' and '", sibling, "' in one folder would share the output names ",
                            stem, ".selected.jsonl, ", stem, ".selection.h5, ", stem,
                            ".summary.json, ...: rename one of them "
                            "(e.g. ",
                            stem, "-2", fs::path(out).extension().string(), ")"));
    }
  }
}

std::optional<select::TrainerShape> write_selected_records(const Options& options,
                                                           const std::vector<std::size_t>& positions,
                                                           const fs::path& path) {
  const data::RecordIndex index = data::load_or_build_index(options.run.dataset, index_cache_path(options));
  const data::Compression compression = output_compression(options);
  const bool verbatim = options.exported.format == "input";
  select::ShapeCollector shapes(options.data);
  data::CompressedWriter out(path, compression);
  data::read_raw_records(options.run.dataset, index, positions, [&](std::size_t position, std::string_view bytes) {
    if (verbatim) {
      out.write(bytes);
      shapes.add(bytes);
    } else {
      const std::string line = select::convert_record(bytes, index.lines[position], options.data, options.exported);
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
    log::warn("dataset_info.json gets no entry for " + fs::path(options.run.selected).filename().string() + ": " +
              shapes.why());
  return shapes.shape();
}

WaitingLock::WaitingLock(const fs::path& path, double seconds) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw StoreError(path.string() + ": cannot create the lock file: " + std::strerror(errno));
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::close(fd_);
      throw StoreError(cat(path.string(), ": another selection has held this lock for ", seconds,
                           " s; if none is running, remove the file and rerun"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

WaitingLock::~WaitingLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace curate::service
