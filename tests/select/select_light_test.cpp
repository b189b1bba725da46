// select.cpp's contract for the ranks whose result is not used (select.h): such a rank may pass only
// the candidates' rows of the columns select_reads names, the others empty, and still makes the same
// k-means steps, so rank 0's result is the bits of a lone select() on the full input. A column that
// select() reads but select_reads does not name is caught twice: filled with other values it changes
// the result (a clean failure), left empty it is read out of bounds.
#include <gtest/gtest.h>

#include <bit>
#include <random>

#include "curate/select/select.h"
#include "test_helpers.h"

namespace curate::select {
namespace {

using testing::Examples;
using testing::ThreadRanks;

const std::vector<std::string> kSources = {"alpha", "beta", "gamma", "delta"};
const std::vector<std::string> kDomains = {"math", "code"};
constexpr int64_t kDim = 6;  // gradient dimensions

// n examples over 4 sources in 2 domains, a third not candidates, C = 3, every column varied, and
// projected gradients (one row per example, in reverse order).
struct Input {
  Examples e;
  std::vector<int64_t> gradient_row;
  std::vector<float> gradients;
  SelectInput view() const {
    SelectInput input = e.view();
    input.gradient_dim = gradient_row.empty() ? 0 : kDim;
    input.gradient_row = gradient_row;
    input.gradients = gradients;
    return input;
  }
};

Input synthetic(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53); };
  Input in;
  Examples& e = in.e;
  e.checkpoints = 3;
  e.mean_loss.resize(static_cast<std::size_t>(3 * n));
  e.mean_loss_first.resize(e.mean_loss.size());
  in.gradient_row.resize(static_cast<std::size_t>(n));
  in.gradients.resize(static_cast<std::size_t>(n * kDim));
  for (int64_t i = 0; i < n; ++i) {
    e.source.push_back(static_cast<int32_t>(rng() % 4));
    e.domain.push_back(e.source.back() % 2);
    e.kept.push_back(rng() % 3 != 0);
    e.reasoning_tokens.push_back(static_cast<int64_t>(rng() % 1000));
    e.full_length.push_back(static_cast<int64_t>(rng() % 400) + 20);
    e.difficulty.push_back(1.0f + 2.0f * uniform());
    const float base = 1.0f + 3.0f * uniform(), slope = -0.3f + 0.8f * uniform();
    for (int64_t c = 0; c < 3; ++c) {
      const auto at = static_cast<std::size_t>(c * n + i);
      e.mean_loss[at] = base + slope * static_cast<float>(c) + 0.05f * uniform();
      e.mean_loss_first[at] = e.mean_loss[at] + 0.2f * uniform();
    }
    in.gradient_row[static_cast<std::size_t>(i)] = n - 1 - i;
    for (int64_t k = 0; k < kDim; ++k)
      in.gradients[static_cast<std::size_t>((n - 1 - i) * kDim + k)] = uniform() - 0.5f;
  }
  return in;
}

// The candidates' rows of `full` (i ascending) with the columns `reads` names; the others empty, or,
// `poisoned`, the candidates' rows of other values.
Input light(const Input& full, const SelectReads& reads, bool poisoned, std::vector<int64_t>& candidates) {
  const Examples& f = full.e;
  const std::size_t n = f.source.size();
  candidates.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (f.kept[i]) candidates.push_back(static_cast<int64_t>(i));
  const Input other = synthetic(static_cast<int64_t>(n), 999);  // the poison
  Input out;
  Examples& e = out.e;
  e.checkpoints = f.checkpoints;
  const auto rows = [&](const auto& column, const auto& poison, bool read, std::size_t tables) {
    std::remove_cvref_t<decltype(column)> part;
    if (!read && !poisoned) return part;
    for (std::size_t t = 0; t < tables; ++t)
      for (int64_t i : candidates) part.push_back((read ? column : poison)[t * n + static_cast<std::size_t>(i)]);
    return part;
  };
  const auto c = static_cast<std::size_t>(f.checkpoints);
  e.source = rows(f.source, other.e.source, true, 1);
  e.domain = rows(f.domain, other.e.domain, true, 1);
  e.kept = rows(f.kept, other.e.kept, true, 1);
  e.mean_loss_first = rows(f.mean_loss_first, other.e.mean_loss_first, true, c);
  e.reasoning_tokens = rows(f.reasoning_tokens, other.e.reasoning_tokens, reads.reasoning_tokens, 1);
  e.full_length = rows(f.full_length, other.e.full_length, reads.full_length, 1);
  e.difficulty = rows(f.difficulty, other.e.difficulty, reads.difficulty, 1);
  e.mean_loss = rows(f.mean_loss, other.e.mean_loss, reads.mean_loss, c);
  out.gradient_row = rows(full.gradient_row, other.gradient_row, reads.gradients, 1);
  if (reads.gradients || poisoned) out.gradients = reads.gradients ? full.gradients : other.gradients;
  return out;
}

// `part` (over `candidates`) says what `whole` says of them, bit for bit.
void expect_same(const SelectResult& part, const SelectResult& whole, const std::vector<int64_t>& candidates,
                 const std::string& what) {
  std::vector<int64_t> selected;
  for (int64_t j : part.selected) selected.push_back(candidates[static_cast<std::size_t>(j)]);
  EXPECT_EQ(selected, whole.selected) << what;
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    const auto i = static_cast<std::size_t>(candidates[j]);
    EXPECT_EQ(part.cluster[j], whole.cluster[i]) << what << " candidate " << i;
    EXPECT_EQ(std::bit_cast<uint32_t>(part.score[j]), std::bit_cast<uint32_t>(whole.score[i]))
        << what << " candidate " << i;
  }
  EXPECT_EQ(part.budget, whole.budget) << what;
}

TEST(SelectReads, NamesWhatEachMethodReads) {
  SelectOptions options;
  options.method = SelectMethod::kTemp;
  SelectReads reads = select_reads(options);
  EXPECT_TRUE(reads.mean_loss);
  EXPECT_FALSE(reads.reasoning_tokens || reads.full_length || reads.difficulty || reads.gradients);
  options.method = SelectMethod::kRandom;
  reads = select_reads(options);
  EXPECT_FALSE(reads.mean_loss || reads.reasoning_tokens || reads.full_length || reads.difficulty || reads.gradients);
  options.token_budget = 100;
  EXPECT_TRUE(select_reads(options).full_length);
}

// Every method, with an example and a token budget, on loss and gradient features: rank 0 with the
// full input and two ranks with only the candidates of what select_reads names give rank 0 the lone
// select()'s bits, and the light ranks say the same of the candidates.
TEST(SelectReads, RanksWithOnlyTheCandidatesOfWhatSelectReadsSelectTheSame) {
  const Input full = synthetic(900, 5);
  for (const SelectMethod method :
       {SelectMethod::kTemp, SelectMethod::kS2l, SelectMethod::kRandom, SelectMethod::kLongest,
        SelectMethod::kMiddlePerplexity, SelectMethod::kDifficulty, SelectMethod::kLearnability}) {
    for (const SelectFeatures features : {SelectFeatures::kLoss, SelectFeatures::kGradients}) {
      for (const int64_t tokens : {int64_t{0}, int64_t{9000}}) {
        SelectOptions options;
        options.method = method;
        options.features = features;
        options.budget = 90;
        options.token_budget = tokens;
        options.per_cluster = 3;
        options.seed = 11;
        const std::string what = std::string(select_method_name(method)) +
                                 (features == SelectFeatures::kGradients ? " on gradients" : " on loss") +
                                 (tokens > 0 ? ", token budget" : "");
        const SelectReads reads = select_reads(options);
        const SelectResult alone = select(full.view(), kSources, kDomains, options);
        ASSERT_FALSE(alone.selected.empty()) << what;
        std::vector<int64_t> candidates;
        const Input poisoned = light(full, reads, /*poisoned=*/true, candidates);
        expect_same(select(poisoned.view(), kSources, kDomains, options), alone, candidates, what + ", poisoned");
        if (HasFailure()) return;  // an empty column that select() reads would be read out of bounds below
        const Input empty = light(full, reads, /*poisoned=*/false, candidates);
        const auto shared = ThreadRanks::run<SelectResult>(3, [&](const RowSharing& sharing) {
          return select(sharing.rank() == 0 ? full.view() : empty.view(), kSources, kDomains, options, &sharing);
        });
        EXPECT_EQ(shared[0].selected, alone.selected) << what;
        EXPECT_EQ(shared[0].cluster, alone.cluster) << what;
        for (int r : {1, 2}) expect_same(shared[static_cast<std::size_t>(r)], alone, candidates, what + ", light rank");
      }
    }
  }
}

}  // namespace
}  // namespace curate::select
