#include "curate/model/scorer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "curate/model/checkpoint_scorer.h"
#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::model {
namespace {

using curate::testing::golden_model;
using curate::testing::ScratchDir;

std::vector<int64_t> random_ids(int64_t n, uint64_t seed, int64_t vocab = 1000) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = std::uniform_int_distribution<int64_t>(0, vocab - 1)(rng);
  return ids;
}

TEST(Scorer, SubrangeEqualsSliceOfFullScore) {
  Scorer scorer(load_causal_lm(golden_model("llama31_tiny"), {}), {});
  auto ids = random_ids(300, 1);
  std::vector<ScoreRequest> full = {{ids, 0, 299}};
  std::vector<ScoreRequest> part = {{ids, 120, 220}};
  auto all = scorer.score(full)[0];
  auto some = scorer.score(part)[0];
  ASSERT_EQ(some.size(), 100u);
  for (std::size_t t = 0; t < some.size(); ++t) EXPECT_NEAR(some[t], all[120 + t], 2e-5) << t;
  // Inputs are cut after the last scored position: only 220 tokens were fed.
  EXPECT_EQ(scorer.stats().tokens, 299 + 220);
}

TEST(Scorer, LossesAreNegativeLogProbabilities) {
  Scorer scorer(load_causal_lm(golden_model("qwen2_tiny"), {}), {});
  auto ids = random_ids(50, 2);
  std::vector<ScoreRequest> requests = {{ids, 0, 49}};
  auto nll = scorer.score(requests)[0];
  // Recompute position 10 from full logits.
  torch::InferenceMode guard;
  auto hidden = scorer.model()->hidden_states(torch::tensor(ids).unsqueeze(0))[0];
  auto logp = torch::log_softmax(scorer.model()->logits(hidden).to(torch::kFloat64), -1);
  for (int64_t t : {0, 10, 48}) EXPECT_NEAR(nll[t], -logp[t][ids[t + 1]].item<double>(), 1e-5);
}

TEST(Scorer, EmptyAndDegenerateRequests) {
  Scorer scorer(load_causal_lm(golden_model("qwen2_tiny"), {}), {});
  std::vector<int64_t> one = {5}, none;
  auto ids = random_ids(20, 3);
  std::vector<ScoreRequest> requests = {{none, 0, 0}, {one, 0, 0}, {ids, 4, 4}, {ids, 0, 19}};
  auto nll = scorer.score(requests);
  EXPECT_TRUE(nll[0].empty());
  EXPECT_TRUE(nll[1].empty());
  EXPECT_TRUE(nll[2].empty());
  EXPECT_EQ(nll[3].size(), 19u);
}

TEST(Scorer, RejectsOutOfVocabularyIdsAndBadRanges) {
  Scorer scorer(load_causal_lm(golden_model("qwen2_tiny"), {}), {});
  std::vector<int64_t> bad = {1, 2, 1000, 3};
  std::vector<ScoreRequest> oov = {{bad, 0, 3}};
  EXPECT_THROW_WITH(scorer.score(oov), DataError, "sequence 0", "1000", "vocabulary of 1000");
  std::vector<int64_t> ids = {1, 2, 3};
  std::vector<ScoreRequest> past_end = {{ids, 0, 3}};
  EXPECT_THROW_WITH(scorer.score(past_end), DataError, "sequence 0", "[0, 3)");
  std::vector<ScoreRequest> reversed = {{ids, 2, 1}};
  EXPECT_THROW_WITH(scorer.score(reversed), DataError, "[2, 1)");
}

TEST(Scorer, BatchingByTokenBudgetGivesSameLosses) {
  std::vector<std::vector<int64_t>> seqs;
  std::vector<ScoreRequest> requests;
  for (int i = 0; i < 12; ++i) seqs.push_back(random_ids(10 + 37 * i % 200, 10 + i));
  for (const auto& s : seqs) requests.push_back({s, 3, static_cast<int64_t>(s.size()) - 1});
  Scorer small(load_causal_lm(golden_model("llama31_tiny"), {}), {.batch_tokens = 64, .lm_head_rows = 5});
  Scorer large(load_causal_lm(golden_model("llama31_tiny"), {}), {.batch_tokens = 100000, .max_padding = 1.0});
  auto a = small.score(requests), b = large.score(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size());
    for (std::size_t t = 0; t < a[i].size(); ++t) EXPECT_NEAR(a[i][t], b[i][t], 2e-5);
  }
  EXPECT_EQ(small.stats().sequences, 12);
  // The padding cap splits a mixed-length set into several batches with little waste.
  Scorer capped(load_causal_lm(golden_model("llama31_tiny"), {}), {.batch_tokens = 100000, .max_padding = 0.1});
  auto c = capped.score(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    for (std::size_t t = 0; t < c[i].size(); ++t) EXPECT_NEAR(c[i][t], b[i][t], 2e-5);
  }
  const ScoreStats& s = capped.stats();
  EXPECT_LE(s.padded_tokens - s.tokens, 0.1 * s.padded_tokens);  // each batch within 10%
  EXPECT_GT(large.stats().padded_tokens - large.stats().tokens, 0.3 * large.stats().padded_tokens);
  EXPECT_LT(small.stats().padded_tokens, large.stats().padded_tokens);
}

TEST(RandomModel, ShardedBf16FolderLoadsLikeSingleFile) {
  ScratchDir dir;
  ModelConfig config = builtin_shape("tiny-llama");
  write_random_model(config, dir / "single", 7, 0.5, torch::kBFloat16, 0);
  write_random_model(config, dir / "sharded", 7, 0.5, torch::kBFloat16, 100000);
  EXPECT_TRUE(std::filesystem::exists(dir / "sharded" / "model.safetensors.index.json"));
  int shards = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "sharded")) {
    shards += entry.path().extension() == ".safetensors";
  }
  EXPECT_GE(shards, 2);
  auto ids = random_ids(64, 4);
  std::vector<ScoreRequest> requests = {{ids, 0, 63}};
  Scorer single(load_causal_lm(dir / "single", {}), {});
  Scorer sharded(load_causal_lm(dir / "sharded", {}), {});
  EXPECT_EQ(single.score(requests), sharded.score(requests));  // same bits
  // A different seed gives a different model.
  write_random_model(config, dir / "other", 8, 0.5, torch::kBFloat16, 0);
  Scorer other(load_causal_lm(dir / "other", {}), {});
  EXPECT_NE(single.score(requests), other.score(requests));
}

// score.device / score.dtype = auto (the default): CUDA in bfloat16 where torch sees a GPU, else CPU
// in float32; explicit settings are kept.
TEST(EngineOptions, AutoDeviceFollowsTheVisibleHardware) {
  EngineOptions options;
  EXPECT_EQ(options.device, "auto");
  EXPECT_EQ(options.dtype, "auto");
  resolve_auto_device(options);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(options.device, "cuda");
    EXPECT_EQ(options.dtype, "bfloat16");
  } else {
    EXPECT_EQ(options.device, "cpu");
    EXPECT_EQ(options.dtype, "float32");
  }
  EngineOptions fixed;
  fixed.device = "cpu";
  fixed.dtype = "bfloat16";
  resolve_auto_device(fixed);
  EXPECT_EQ(fixed.device, "cpu");
  EXPECT_EQ(fixed.dtype, "bfloat16");
  EngineOptions dtype_only;
  dtype_only.device = "cpu";
  resolve_auto_device(dtype_only);
  EXPECT_EQ(dtype_only.dtype, "float32");
}

}  // namespace
}  // namespace curate::model
