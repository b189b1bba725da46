#include "curate/model/scorer.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {

Scorer::Scorer(CausalLM model, ScoreOptions options) : model_(std::move(model)), options_(options) {
  if (options_.batch_tokens <= 0 || options_.lm_head_rows <= 0 || !(options_.max_padding >= 0)) {
    throw ConfigError("batch_tokens and lm_head_rows must be positive and max_padding non-negative");
  }
}

std::vector<std::vector<float>> Scorer::score(std::span<const ScoreRequest> requests,
                                              const std::function<void(const ScoreStats&)>& progress) {
  const int64_t vocab = model_->config().vocab_size;
  std::vector<std::vector<float>> results(requests.size());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ScoreRequest& r = requests[i];
    const auto n = static_cast<int64_t>(r.ids.size());
    const bool fits = r.begin >= 0 && r.begin <= r.end && (r.begin == r.end ? r.end <= n : r.end < n);
    if (!fits) {
      throw DataError(cat("sequence ", i, ": scored range [", r.begin, ", ", r.end,
                          ") does not fit a sequence of ", n, " tokens"));
    }
    for (int64_t j = 0; j < std::min(r.end + 1, n); ++j) {
      if (r.ids[j] < 0 || r.ids[j] >= vocab) {
        throw DataError(cat("sequence ", i, ": token id ", r.ids[j], " at position ", j,
                            " is outside the model's vocabulary of ", vocab,
                            "; was it tokenized for another model?"));
      }
    }
    if (r.end > r.begin) order.push_back(i);
  }
  // Longest first: the first batch shows the peak memory at once, and similar lengths pad little.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return requests[a].end > requests[b].end; });

  torch::InferenceMode guard;
  std::size_t start = 0;
  while (start < order.size()) {
    const int64_t length = requests[order[start]].end;  // fed tokens: positions [0, end)
    const auto rows = static_cast<std::size_t>(std::max<int64_t>(1, options_.batch_tokens / length));
    std::size_t stop = start + 1;
    int64_t real = length;
    while (stop < order.size() && stop - start < rows) {
      const int64_t with_next = real + requests[order[stop]].end;
      const auto padded = static_cast<double>((stop - start + 1) * length);
      if ((padded - with_next) / padded > options_.max_padding) break;
      real = with_next;
      ++stop;
    }
    score_batch(requests, std::span(order).subspan(start, stop - start), results);
    start = stop;
    if (progress) progress(stats_);
  }
  return results;
}

void Scorer::score_batch(std::span<const ScoreRequest> requests, std::span<const std::size_t> order,
                         std::vector<std::vector<float>>& results) {
  const auto batch = static_cast<int64_t>(order.size());
  const int64_t length = requests[order[0]].end;
  const torch::Device device = model_->target().device;

  // Right-padded ids [batch, length]; flat row index and target of every scored position.
  torch::Tensor ids = torch::zeros({batch, length}, torch::kInt64);
  int64_t scored = 0;
  for (std::size_t b = 0; b < order.size(); ++b) {
    const ScoreRequest& r = requests[order[b]];
    std::copy_n(r.ids.data(), r.end, ids.data_ptr<int64_t>() + b * length);
    scored += r.end - r.begin;
    stats_.tokens += r.end;
  }
  torch::Tensor rows = torch::empty({scored}, torch::kInt64), targets = torch::empty({scored}, torch::kInt64);
  int64_t* row = rows.data_ptr<int64_t>();
  int64_t* target = targets.data_ptr<int64_t>();
  for (std::size_t b = 0; b < order.size(); ++b) {
    const ScoreRequest& r = requests[order[b]];
    for (int64_t t = r.begin; t < r.end; ++t) {
      *row++ = static_cast<int64_t>(b) * length + t;
      *target++ = r.ids[t + 1];
    }
  }

  torch::Tensor hidden = model_->hidden_states(ids.to(device)).view({batch * length, -1});
  torch::Tensor selected = hidden.index_select(0, rows.to(device));
  targets = targets.to(device);
  std::vector<torch::Tensor> chunks;
  for (int64_t first = 0; first < scored; first += options_.lm_head_rows) {
    const int64_t last = std::min(scored, first + options_.lm_head_rows);
    // log_softmax is one fused pass over [rows, vocab]; logsumexp takes several.
    torch::Tensor logp = torch::log_softmax(model_->logits(selected.slice(0, first, last)), -1, torch::kFloat32);
    chunks.push_back(-logp.gather(1, targets.slice(0, first, last).unsqueeze(1)).squeeze(1));
  }
  torch::Tensor nll = torch::cat(chunks).to(torch::kCPU).contiguous();
  const float* values = nll.data_ptr<float>();
  for (std::size_t i : order) {
    const ScoreRequest& r = requests[i];
    results[i].assign(values, values + (r.end - r.begin));
    values += r.end - r.begin;
  }
  stats_.sequences += batch;
  stats_.padded_tokens += batch * length;
  stats_.scored += scored;
}

}  // namespace curate::model
