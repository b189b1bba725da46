// Parquet rows as JSON Lines (line_reader.h: open_parquet), through Arrow C++ from the pyarrow wheel
// (cmake/CurateArrow.cmake). Built without Arrow, open_parquet refuses with how to rebuild.
#include <memory>
#include <string>

#include "curate/data/line_reader.h"
#include "curate/util/error.h"

#ifdef CURATE_HAVE_ARROW
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#endif

namespace curate::data {

#ifdef CURATE_HAVE_ARROW
namespace {

using nlohmann::ordered_json;

// Value `i` of `array` as JSON: strings and binary as strings, numbers, booleans, lists as arrays,
// structs as objects (fields in schema order), maps as objects of their keys' text, dictionaries by
// their value, anything else (dates, times, decimals) as Arrow's text of it; nulls as null.
ordered_json to_json(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return nullptr;
  switch (array.type_id()) {
    case arrow::Type::STRING:
      return static_cast<const arrow::StringArray&>(array).GetString(i);
    case arrow::Type::LARGE_STRING:
      return static_cast<const arrow::LargeStringArray&>(array).GetString(i);
    case arrow::Type::STRING_VIEW:
      return std::string(static_cast<const arrow::StringViewArray&>(array).GetView(i));
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(array).GetString(i);
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(array).GetString(i);
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case arrow::Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case arrow::Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case arrow::Type::FLOAT:
      return static_cast<const arrow::FloatArray&>(array).Value(i);
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST: {
      std::shared_ptr<arrow::Array> values;
      int64_t offset = 0, length = 0;
      if (array.type_id() == arrow::Type::LIST) {
        const auto& list = static_cast<const arrow::ListArray&>(array);
        offset = list.value_offset(i), length = list.value_length(i), values = list.values();
      } else if (array.type_id() == arrow::Type::LARGE_LIST) {
        const auto& large = static_cast<const arrow::LargeListArray&>(array);
        offset = large.value_offset(i), length = large.value_length(i), values = large.values();
      } else {
        const auto& fixed = static_cast<const arrow::FixedSizeListArray&>(array);
        offset = fixed.value_offset(i), length = fixed.value_length(i), values = fixed.values();
      }
      ordered_json out = ordered_json::array();
      for (int64_t k = 0; k < length; ++k) out.push_back(to_json(*values, offset + k));
      return out;
    }
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      ordered_json out = ordered_json::object();
      for (int f = 0; f < s.num_fields(); ++f) out[s.struct_type()->field(f)->name()] = to_json(*s.field(f), i);
      return out;
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapArray&>(array);
      ordered_json out = ordered_json::object();
      for (int64_t k = m.value_offset(i); k < m.value_offset(i) + m.value_length(i); ++k) {
        const ordered_json key = to_json(*m.keys(), k);
        out[key.is_string() ? key.get<std::string>() : key.dump()] = to_json(*m.items(), k);
      }
      return out;
    }
    case arrow::Type::DICTIONARY: {
      const auto& d = static_cast<const arrow::DictionaryArray&>(array);
      return to_json(*d.dictionary(), d.GetValueIndex(i));
    }
    default:
      break;
  }
  auto scalar = array.GetScalar(i);
  return scalar.ok() ? ordered_json((*scalar)->ToString()) : ordered_json(nullptr);
}

// One row group in memory at a time; each row becomes one JSON object and "\n".
class ParquetSource : public ByteSource {
 public:
  ParquetSource(const std::filesystem::path& path, int64_t first_row, int64_t* rows_skipped) : path_(path) {
    auto file = arrow::io::ReadableFile::Open(path.string());
    if (!file.ok()) throw fail(file.status().ToString());
    auto reader = parquet::arrow::OpenFile(*file, arrow::default_memory_pool());
    if (!reader.ok()) throw fail(reader.status().ToString());
    reader_ = std::move(*reader);
    int64_t skipped = 0;  // whole row groups before first_row, from the footer's metadata
    const auto metadata = reader_->parquet_reader()->metadata();
    while (group_ < reader_->num_row_groups() && skipped + metadata->RowGroup(group_)->num_rows() <= first_row) {
      skipped += metadata->RowGroup(group_++)->num_rows();
    }
    if (rows_skipped != nullptr) *rows_skipped = skipped;
  }
  std::size_t read(char* buffer, std::size_t capacity) override {
    while (pos_ == pending_.size()) {
      if (!next_row()) return 0;
    }
    const std::size_t n = std::min(capacity, pending_.size() - pos_);
    std::memcpy(buffer, pending_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  DataError fail(const std::string& why) const {
    return DataError("cannot read the Parquet file '" + path_.string() + "': " + why);
  }
  bool next_row() {
    while (!batch_ || row_ >= batch_->num_rows()) {
      if (group_ >= reader_->num_row_groups()) return false;
      try {
        auto table = reader_->ReadRowGroup(group_++);
        if (!table.ok()) throw fail(table.status().ToString());
        auto combined = (*table)->CombineChunksToBatch();
        if (!combined.ok()) throw fail(combined.status().ToString());
        batch_ = *combined;
      } catch (const parquet::ParquetException& e) {
        throw fail(e.what());
      }
      row_ = 0;
    }
    ordered_json row = ordered_json::object();
    for (int c = 0; c < batch_->num_columns(); ++c)
      row[batch_->schema()->field(c)->name()] = to_json(*batch_->column(c), row_);
    ++row_;
    pending_ = row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    pos_ = 0;
    return true;
  }

  std::filesystem::path path_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::shared_ptr<arrow::RecordBatch> batch_;
  int group_ = 0;
  int64_t row_ = 0;
  std::string pending_;
  std::size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> open_parquet(const std::filesystem::path& path, int64_t first_row, int64_t* rows_skipped) {
  try {
    return std::make_unique<ParquetSource>(path, first_row, rows_skipped);
  } catch (const parquet::ParquetException& e) {
    throw DataError("cannot read the Parquet file '" + path.string() + "': " + e.what());
  }
}

#else

std::unique_ptr<ByteSource> open_parquet(const std::filesystem::path& path, int64_t, int64_t*) {
  throw DataError("'" + path.string() +
                  "' is a Parquet file, and this curate_dist was built without Arrow: rebuild with pyarrow "
                  "(launch/setup.sh installs it into .venv; cmake finds it there), or convert the file to JSON Lines");
}

#endif

}  // namespace curate::data
