// The files of a dataset as users have them: one file (JSON Lines plain/.gz/.zst, a JSON array, a
// Parquet file), a folder or glob of such shards, or a dataset folder as `hf download --repo-type
// dataset` leaves it (its data/ folder, train split). The records of all files read as one stream of
// JSON Lines, file after file (line_reader.h says how an array or Parquet file becomes lines).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "curate/data/line_reader.h"

namespace curate::data {

struct Shard {
  std::filesystem::path path;
  std::string name;  // relative to the folder given (or the glob's folder); the file name for one file
  FileFormat format = FileFormat::kJsonLines;
};

struct DatasetFiles {
  std::vector<Shard> shards;  // reading order: byte order of the names
  bool several = false;       // a folder or glob (however many files matched): record ids without data.id_field
                              // are "name:line" (stable when shards are added or removed)
  std::string description;    // "one JSON Lines file" / "3 files of data/ (train split): a.parquet, ..."
};

// The dataset `given` names: a file; a folder (its data/ subfolder when there is one, as the Hugging
// Face hub lays out datasets), searched recursively for *.jsonl, *.jsonl.gz, *.jsonl.zst, *.ndjson,
// *.json and *.parquet (hidden files and folders skipped); or a glob (`shards/*.jsonl.zst`). When
// file names carry splits (train-00000-of-00002.parquet, train/…, test.jsonl), only the train split is
// read. Throws DataError when nothing matches, when there are splits but no train split (naming them),
// or when a file cannot be opened.
DatasetFiles resolve_dataset(const std::string& given);

// The lines of every shard, one after the other: line numbers and offsets count across the files (as
// if they were one file; a file whose last line has no "\n" ends its line there), Line::shard and
// Line::shard_line say where a line comes from.
class DatasetLines {
 public:
  DatasetLines(DatasetFiles files, std::size_t max_line_bytes);
  explicit DatasetLines(const std::string& given, std::size_t max_line_bytes = 64u << 20)
      : DatasetLines(resolve_dataset(given), max_line_bytes) {}

  bool next(Line& line);
  const DatasetFiles& files() const { return files_; }

 private:
  DatasetFiles files_;
  std::size_t max_line_bytes_;
  std::size_t shard_ = 0;
  std::unique_ptr<LineReader> reader_;
  int64_t line_base_ = 0;     // lines of the shards before this one
  uint64_t offset_base_ = 0;  // bytes of the shards before this one
  int64_t shard_lines_ = 0;   // lines of this shard so far
  uint64_t shard_bytes_ = 0;  // bytes of this shard so far
};

}  // namespace curate::data
