// Weight broadcast within a node, on the CPU: the mode chosen for each setting, and an in-process fake
// broadcaster (the root's bytes copied to a follower) giving the very bits that loading from disk gives.
#include "curate/model/weight_broadcast.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "curate/model/checkpoint_scorer.h"
#include "curate/model/decoder.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

// Two ranks in one thread: the root's broadcasts are queued, the follower's take them in order (run
// the root's whole load first). Memory is host memory (CPU target), as the interface allows.
struct FakeGroup {
  std::deque<std::vector<std::byte>> sent;
  int64_t broadcasts = 0;
};

class FakeBroadcaster : public WeightBroadcaster {
 public:
  FakeBroadcaster(std::shared_ptr<FakeGroup> group, bool root) : group_(std::move(group)), root_(root) {}
  bool is_root() const override { return root_; }
  void broadcast(void* data, std::size_t bytes) override {
    ++group_->broadcasts;
    const auto* begin = static_cast<const std::byte*>(data);
    if (root_) {
      group_->sent.emplace_back(begin, begin + bytes);
      return;
    }
    if (group_->sent.empty()) throw DistError("fake broadcast: the root sent nothing more (timeout)");
    std::vector<std::byte> message = std::move(group_->sent.front());
    group_->sent.pop_front();
    if (message.size() != bytes) throw DistError("fake broadcast: size mismatch");
    std::memcpy(data, message.data(), bytes);
  }

 private:
  std::shared_ptr<FakeGroup> group_;
  bool root_;
};

// A model folder holding only config.json: a follower that opened a safetensors file would fail.
std::filesystem::path config_only(const ScratchDir& dir, const std::string& name, const std::filesystem::path& model) {
  std::filesystem::create_directories(dir / name);
  write_file(dir / name / "config.json", read_file(model / "config.json"));
  return dir / name;
}

std::vector<int64_t> ids_of(int64_t n, int64_t salt) {
  std::vector<int64_t> ids(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = (i * 7919 + salt * 104729) % 1000;
  return ids;
}

TEST(WeightBroadcast, ModeFollowsDeviceBuildAndRanksPerNode) {
  EXPECT_EQ(parse_weight_broadcast("auto"), WeightBroadcastMode::kAuto);
  EXPECT_EQ(parse_weight_broadcast("nccl"), WeightBroadcastMode::kNccl);
  EXPECT_EQ(parse_weight_broadcast("disk"), WeightBroadcastMode::kDisk);
  EXPECT_THROW_WITH(parse_weight_broadcast("mpi"), ConfigError, "score.weight_broadcast", "auto, nccl or disk");
  const auto kAuto = WeightBroadcastMode::kAuto;
  EXPECT_TRUE(use_weight_broadcast(kAuto, /*cuda=*/true, /*nccl_built=*/true, /*ranks_on_node=*/2));
  EXPECT_FALSE(use_weight_broadcast(kAuto, false, true, 8));  // CPU: disk
  EXPECT_FALSE(use_weight_broadcast(kAuto, true, false, 8));  // no NCCL in this build: disk
  EXPECT_FALSE(use_weight_broadcast(kAuto, true, true, 1));   // alone on its node: disk
  EXPECT_FALSE(use_weight_broadcast(WeightBroadcastMode::kDisk, true, true, 8));
  EXPECT_TRUE(use_weight_broadcast(WeightBroadcastMode::kNccl, true, true, 1));
  EXPECT_THROW_WITH(use_weight_broadcast(WeightBroadcastMode::kNccl, false, true, 2), ConfigError,
                    "score.device = cuda");
  EXPECT_THROW_WITH(use_weight_broadcast(WeightBroadcastMode::kNccl, true, false, 2), ConfigError, "no NCCL");
  // auto also needs room for the resident copies: 7.6B bf16 values three times fit 80 GiB, 14.8B do not.
  const uint64_t h100 = uint64_t{80} << 30;
  EXPECT_TRUE(resident_weights_fit(builtin_shape("qwen2.5-7b").num_parameters(), "bfloat16", true, h100));
  EXPECT_TRUE(resident_weights_fit(builtin_shape("llama3.1-8b").num_parameters(), "bfloat16", true, h100));
  EXPECT_FALSE(resident_weights_fit(14'800'000'000, "bfloat16", true, h100));
  EXPECT_TRUE(resident_weights_fit(14'800'000'000, "bfloat16", false, h100));
  EXPECT_FALSE(resident_weights_fit(builtin_shape("qwen2.5-7b").num_parameters(), "float32", true, h100));
  EXPECT_FALSE(resident_weights_fit(1000, "bfloat16", false, 0));  // memory unknown: disk
}

TEST(WeightBroadcast, ReceivedWeightsAreTheBitsReadFromDisk) {
  ScratchDir dir;
  for (const char* name : {"llama31_tiny", "qwen2_tiny_bf16"}) {  // untied fp32; tied, bf16, two shards
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      const TensorTarget target{torch::kCPU, dtype};
      const ModelConfig config = load_model_config(golden_model(name));
      auto group = std::make_shared<FakeGroup>();
      FakeBroadcaster root(group, true), follower(group, false);
      CheckpointWeights disk(golden_model(name), target);
      BroadcastWeights from_disk(root, &disk, target);
      CausalLM sent = [&] {
        torch::InferenceMode guard;
        return CausalLM(from_disk, config, target);
      }();
      const auto follower_dir =
          config_only(dir, std::string(name) + (dtype == torch::kFloat32 ? "_f32" : "_bf16"), golden_model(name));
      BroadcastWeights received_source(follower, nullptr, target);
      CausalLM received = [&] {
        torch::InferenceMode guard;
        return CausalLM(received_source, load_model_config(follower_dir), target);
      }();
      EXPECT_TRUE(group->sent.empty());
      CausalLM loaded = load_causal_lm(golden_model(name), target);
      auto want = loaded->named_parameters();
      auto got = received->named_parameters();
      ASSERT_EQ(got.size(), want.size());
      for (const auto& p : want) {
        const torch::Tensor& g = got[p.key()];
        EXPECT_EQ(g.scalar_type(), dtype);
        EXPECT_TRUE(torch::equal(g, p.value())) << name << " " << p.key();
        EXPECT_TRUE(torch::equal(sent->named_parameters()[p.key()], p.value())) << name << " " << p.key();
      }
    }
  }
}

TEST(WeightBroadcast, ScorersThatReceiveGiveTheLossesOfScorersThatRead) {
  ScratchDir dir;
  write_random_model(builtin_shape("tiny-llama"), dir / "base", 1, 0.05, torch::kFloat32, 0);
  write_random_model(builtin_shape("tiny-llama"), dir / "tuned", 2, 0.05, torch::kBFloat16, 30000);
  EngineOptions options;
  options.model = (dir / "base").string();
  options.target = (dir / "tuned").string();
  options.perturb.seed = 11;
  options.perturb.max_radius = 0.5;
  options.perturb.direction_excludes_embeddings = true;

  auto group = std::make_shared<FakeGroup>();
  FakeBroadcaster root_channel(group, true), follower_channel(group, false);
  CheckpointScorer disk(options);
  CheckpointScorer root(options, &root_channel);
  EngineOptions follower_options = options;  // its folders hold config.json only
  follower_options.model = config_only(dir, "base_config", dir / "base").string();
  follower_options.target = config_only(dir, "tuned_config", dir / "tuned").string();
  CheckpointScorer follower(follower_options, &follower_channel);
  EXPECT_TRUE(group->sent.empty());
  const int64_t per_load = group->broadcasts;
  EXPECT_GT(per_load, 0);

  const auto a = ids_of(90, 1), b = ids_of(40, 2);
  const std::vector<ScoreRequest> requests = {{a, 5, 80}, {b, 0, 39}};
  for (CheckpointKey key :
       {CheckpointKey{Family::kBase, 0}, CheckpointKey{Family::kGaussian, 3}, CheckpointKey{Family::kDirectional, 2},
        CheckpointKey{Family::kGaussian, 1}, CheckpointKey{Family::kBase, 0}}) {
    const double measure = disk.use_checkpoint(key);
    EXPECT_EQ(root.use_checkpoint(key), measure) << describe(key);
    EXPECT_EQ(follower.use_checkpoint(key), measure) << describe(key);
    const auto want = disk.score(requests);
    EXPECT_EQ(root.score(requests), want) << describe(key);  // same bits
    EXPECT_EQ(follower.score(requests), want) << describe(key);
  }
  EXPECT_EQ(group->broadcasts, per_load);  // checkpoints are rebuilt from the resident copies
}

TEST(WeightBroadcast, ReceiversLearnOfTheRootsFailureAndOfBeingOutOfStep) {
  ScratchDir dir;
  // The root's checkpoint lacks the tensors of a fourth layer that config.json promises.
  curate::testing::copy_model(golden_model("llama31_tiny"), dir / "broken");
  std::string config = read_file(dir / "broken" / "config.json");
  config.replace(config.find("\"num_hidden_layers\": 3"), 22, "\"num_hidden_layers\": 4");
  write_file(dir / "broken" / "config.json", config);
  EngineOptions options;
  options.model = (dir / "broken").string();
  auto group = std::make_shared<FakeGroup>();
  FakeBroadcaster root(group, true), follower(group, false);
  EXPECT_THROW_WITH(CheckpointScorer(options, &root), ModelError, "model.layers.3", "missing");
  EXPECT_THROW_WITH(CheckpointScorer(options, &follower), ModelError, "failed on tensor 'model.layers.3");

  // A follower that reads another config.json than its root is stopped at the first tensor.
  auto other = std::make_shared<FakeGroup>();
  FakeBroadcaster root2(other, true), follower2(other, false);
  options.model = golden_model("llama31_tiny").string();
  CheckpointScorer fine(options, &root2);
  options.model = golden_model("qwen2_tiny").string();
  EXPECT_THROW_WITH(CheckpointScorer(options, &follower2), ModelError, "out of step", "same model folder");
}

TEST(WeightBroadcast, ResidentWeightsCheckShapesAndCopyOnRequest) {
  ResidentWeights copies(true), shared(false);
  torch::Tensor t = torch::arange(6, torch::kFloat32).view({2, 3});
  copies.add("w", t);
  shared.add("w", t);
  EXPECT_EQ(copies.bytes(), 24);
  EXPECT_NE(copies.get("w", {2, 3}).data_ptr(), t.data_ptr());
  EXPECT_EQ(shared.get("w", {2, 3}).data_ptr(), t.data_ptr());
  EXPECT_THROW_WITH(copies.get("w", {3, 2}), ModelError, "'w'", "[2, 3]", "[3, 2]");
  EXPECT_THROW_WITH(copies.get("v", {1}), ModelError, "'v'");
}

}  // namespace
}  // namespace curate::model
