#include "curate/data/dataset_files.h"

#include <glob.h>

#include <algorithm>
#include <array>
#include <set>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::data {
namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 6> kDataSuffixes = {".jsonl",  ".jsonl.gz", ".jsonl.zst",
                                                      ".ndjson", ".json",     ".parquet"};
constexpr std::array<const char*, 5> kSplits = {"train", "validation", "valid", "dev", "test"};

// Metadata that `datasets` and curate_dist's own exports leave beside the records.
constexpr std::array<const char*, 4> kMetadata = {"dataset_info.json", "dataset_infos.json", "dataset_dict.json",
                                                  "state.json"};

bool is_data_file(const std::string& name) {
  if (std::find(kMetadata.begin(), kMetadata.end(), name) != kMetadata.end()) return false;
  return std::any_of(kDataSuffixes.begin(), kDataSuffixes.end(), [&](const char* s) { return name.ends_with(s); });
}

// The split a relative path names: a folder called so, or a file name starting "split-", "split_",
// "split." ("" when none).
std::string split_of(const fs::path& relative) {
  for (const fs::path& part : relative.parent_path()) {
    for (const char* split : kSplits) {
      if (part == split) return split;
    }
  }
  const std::string name = relative.filename().string();
  for (const char* split : kSplits) {
    const std::string s = split;
    if (name.size() > s.size() && name.starts_with(s) && std::string("-_.").find(name[s.size()]) != std::string::npos)
      return s;
  }
  return "";
}

Shard shard_of(const fs::path& path, std::string name) {
  Shard shard{path, std::move(name), FileFormat::kJsonLines};
  shard.format = detect_format(path);
  return shard;
}

std::string list_names(const std::vector<Shard>& shards) {
  std::string out;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (i == 3 && shards.size() > 4) return out + ", ... " + shards.back().name;
    out += (i ? ", " : "") + shards[i].name;
  }
  return out;
}

// The data files under `root` (recursive, hidden entries skipped), by relative name; only the train
// split when the names carry splits.
std::vector<Shard> folder_shards(const fs::path& root, const std::string& given, std::string& split_note) {
  std::vector<std::pair<std::string, fs::path>> found;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_data_file(name))
      found.emplace_back(fs::relative(it->path(), root).string(), it->path());
  }
  if (error) throw DataError(cat("cannot list the dataset folder '", given, "': ", error.message()));
  std::sort(found.begin(), found.end());
  std::set<std::string> splits;
  for (const auto& [name, path] : found) splits.insert(split_of(name));
  if (splits.size() > 1 || (splits.size() == 1 && !splits.count(""))) {
    if (!splits.count("train")) {
      std::string names;
      for (const std::string& s : splits) names += (names.empty() ? "" : ", ") + (s.empty() ? "(none)" : s);
      throw DataError(cat("the dataset folder '", given, "' has the splits ", names,
                          " but no train split: give the files to read as data.path (a file, folder or glob)"));
    }
    std::erase_if(found, [](const auto& f) { return split_of(f.first) != "train"; });
    split_note = " (train split)";
  }
  std::vector<Shard> shards;
  for (const auto& [name, path] : found) shards.push_back(shard_of(path, name));
  return shards;
}

}  // namespace

DatasetFiles resolve_dataset(const std::string& given) {
  DatasetFiles files;
  std::error_code error;
  const fs::path path(given);
  if (fs::is_regular_file(path, error)) {
    files.shards.push_back(shard_of(path, path.filename().string()));
    files.description = cat("one ", format_name(files.shards[0].format), " file");
    return files;
  }
  files.several = true;
  std::string split_note;
  if (fs::is_directory(path, error)) {
    const fs::path root = fs::is_directory(path / "data", error) ? path / "data" : path;
    files.shards = folder_shards(root, given, split_note);
    files.description = cat(root == path ? "the folder" : "data/ of the folder", split_note);
  } else if (given.find_first_of("*?[") != std::string::npos) {
    glob_t matches{};
    const int rc = ::glob(given.c_str(), GLOB_ERR, nullptr, &matches);
    std::vector<std::string> names;
    for (std::size_t i = 0; rc == 0 && i < matches.gl_pathc; ++i) names.emplace_back(matches.gl_pathv[i]);
    ::globfree(&matches);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (fs::is_regular_file(name, error)) files.shards.push_back(shard_of(name, fs::path(name).filename().string()));
    }
    files.description = "the glob";
  } else {
    throw DataError(cat("the dataset '", given,
                        "' does not exist: data.path is a file (JSON Lines, .gz/.zst, a JSON array, Parquet), a "
                        "folder of such files, a glob, or a folder from `hf download --repo-type dataset`"));
  }
  if (files.shards.empty()) {
    throw DataError(cat("no data file in '", given,
                        "': looked for *.jsonl, *.jsonl.gz, *.jsonl.zst, *.ndjson, *.json "
                        "and *.parquet (hidden files skipped)"));
  }
  files.description = cat(files.shards.size(), " file(s) of ", files.description, ": ", list_names(files.shards));
  return files;
}

DatasetLines::DatasetLines(DatasetFiles files, std::size_t max_line_bytes)
    : files_(std::move(files)), max_line_bytes_(max_line_bytes) {
  if (!files_.shards.empty()) reader_ = std::make_unique<LineReader>(files_.shards[0].path, max_line_bytes_);
}

bool DatasetLines::next(Line& line) {
  while (reader_) {
    if (reader_->next(line)) {
      shard_lines_ = line.number;
      shard_bytes_ = line.offset + line.length;
      line.shard = shard_;
      line.shard_line = line.number;
      line.number += line_base_;
      line.offset += offset_base_;
      return true;
    }
    line_base_ += shard_lines_;
    offset_base_ += shard_bytes_;
    shard_lines_ = 0;
    shard_bytes_ = 0;
    reader_.reset();
    if (++shard_ < files_.shards.size())
      reader_ = std::make_unique<LineReader>(files_.shards[shard_].path, max_line_bytes_);
  }
  return false;
}

}  // namespace curate::data
