#include "curate/model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

std::span<const std::byte> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(float)};
}

// A safetensors file whose header is `header` followed by `data_bytes` zero bytes.
std::string raw_file(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

std::vector<TensorInfo> parse(const std::string& file) {
  return parse_safetensors_header(std::as_bytes(std::span(file.data(), file.size())), file.size(), "f.safetensors");
}

TEST(Safetensors, RoundTripsWrittenTensors) {
  ScratchDir dir;
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7};
  std::vector<TensorBlob> blobs = {{"a", DType::kF32, {2, 3}, bytes_of(a)}, {"b.x", DType::kF32, {1}, bytes_of(b)}};
  write_safetensors(dir / "m.safetensors", blobs);
  SafetensorsFile file(dir / "m.safetensors");
  ASSERT_EQ(file.tensors().size(), 2u);
  const TensorInfo& info = file.tensors()[0].name == "a" ? file.tensors()[0] : file.tensors()[1];
  EXPECT_EQ(info.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(info.nbytes, 24u);
  EXPECT_EQ(info.offset % 8, 0u);  // header padded to 8 bytes
  float first;
  std::memcpy(&first, file.data(info) + 4, sizeof first);
  EXPECT_EQ(first, 2.0f);
}

TEST(Safetensors, ReadsGoldenSingleAndShardedFolders) {
  Checkpoint single(golden_model("qwen2_tiny"));
  Checkpoint sharded(golden_model("qwen2_tiny_bf16"));
  EXPECT_EQ(single.entries().size(), sharded.entries().size());
  for (const auto& [name, entry] : single.entries()) {
    const Checkpoint::Entry* other = sharded.find(name);
    ASSERT_NE(other, nullptr) << name;
    EXPECT_EQ(entry.info->dtype, DType::kF32);
    EXPECT_EQ(other->info->dtype, DType::kBF16);
    EXPECT_EQ(entry.info->shape, other->info->shape) << name;
  }
}

TEST(Safetensors, RejectsTruncatedFile) {
  ScratchDir dir;
  std::string full = read_file(golden_model("qwen2_tiny") / "model.safetensors");
  write_file(dir / "model.safetensors", full.substr(0, full.size() - 100));
  write_file(dir / "config.json", read_file(golden_model("qwen2_tiny") / "config.json"));
  EXPECT_THROW_WITH(Checkpoint{dir.path()}, ModelError, "model.safetensors", "truncated", "tensor '");
  write_file(dir / "model.safetensors", full.substr(0, 5));
  EXPECT_THROW_WITH(Checkpoint{dir.path()}, ModelError, "model.safetensors", "truncated");
  write_file(dir / "model.safetensors", full.substr(0, 200));  // header cut
  EXPECT_THROW_WITH(Checkpoint{dir.path()}, ModelError, "model.safetensors", "header length");
}

TEST(Safetensors, RejectsBadHeaders) {
  EXPECT_THROW_WITH(parse(raw_file("[1,2]", 0)), ModelError, "f.safetensors", "JSON object");
  EXPECT_THROW_WITH(parse(raw_file(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1)), ModelError,
                    "tensor 'w'", "Q4");
  EXPECT_THROW_WITH(parse(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4)), ModelError,
                    "tensor 'w'", "needs 8");
  EXPECT_THROW_WITH(parse(raw_file(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)), ModelError,
                    "tensor 'w'", "negative");
  EXPECT_THROW_WITH(parse(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4)), ModelError,
                    "begin > end");
  EXPECT_THROW_WITH(parse(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   8)),
                    ModelError, "overlap");
  EXPECT_THROW_WITH(parse(raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4)),
                    ModelError, "too large");
  // metadata is skipped, empty tensors are fine
  auto ok =
      parse(raw_file(R"({"__metadata__":{"format":"pt"},"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].nbytes, 0u);
}

TEST(Safetensors, RejectsMissingShardAndIncompleteIndex) {
  ScratchDir dir;
  curate::testing::copy_model(golden_model("llama31_tiny_bf16"), dir.path());
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  EXPECT_THROW_WITH(Checkpoint{dir.path()}, ModelError, "model-00002-of-00002.safetensors", "missing");

  ScratchDir other;
  curate::testing::copy_model(golden_model("llama31_tiny_bf16"), other.path());
  std::string index = read_file(other / "model.safetensors.index.json");
  index.replace(index.find("\"weight_map\": {") + 15, 0,
                "\"model.extra.weight\": \"model-00001-of-00002.safetensors\",");
  write_file(other / "model.safetensors.index.json", index);
  EXPECT_THROW_WITH(Checkpoint{other.path()}, ModelError, "model.extra.weight", "incomplete");
}

TEST(Safetensors, RejectsFolderWithoutWeights) {
  ScratchDir dir;
  EXPECT_THROW_WITH(Checkpoint{dir.path()}, ModelError, dir.path().string(), "model.safetensors");
}

}  // namespace
}  // namespace curate::model
