#include "curate/model/scorer.h"

#include <torch/torch.h>

#include <ATen/DeviceAccelerator.h>
#include <c10/core/Event.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::model {

Scorer::Scorer(CausalLM model, ScoreOptions options) : model_(std::move(model)), options_(options) {
  if (options_.batch_tokens <= 0 || options_.lm_head_rows <= 0 || !(options_.max_padding >= 0)) {
    throw ConfigError("batch_tokens and lm_head_rows must be positive and max_padding non-negative");
  }
}

struct Scorer::Launched {
  std::vector<std::size_t> order;   // request indices, in the order of `losses`
  torch::Tensor losses;             // float32 [scored] on the host (pinned on CUDA)
  std::optional<c10::Event> ready;  // recorded after the copy to `losses` (CUDA only)
};

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
      throw DataError(
          cat("sequence ", i, ": scored range [", r.begin, ", ", r.end, ") does not fit a sequence of ", n, " tokens"));
    }
    for (int64_t j = 0; j < std::min(r.end + 1, n); ++j) {
      if (r.ids[j] < 0 || r.ids[j] >= vocab) {
        throw DataError(cat("sequence ", i, ": token id ", r.ids[j], " at position ", j,
                            " is outside the model's vocabulary of ", vocab, "; was it tokenized for another model?"));
      }
    }
    if (r.end > r.begin) order.push_back(i);
  }
  // Longest first: the first batch shows the peak memory at once, and similar lengths pad little.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return requests[a].end > requests[b].end; });

  torch::InferenceMode guard;
  std::optional<Launched> pending;
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
    Launched next = launch_batch(requests, std::span(order).subspan(start, stop - start));
    if (pending) collect(requests, *pending, results);  // batch k's losses while batch k+1 runs
    pending = std::move(next);
    start = stop;
    if (progress) progress(stats_);
  }
  if (pending) collect(requests, *pending, results);
  return results;
}

Scorer::Launched Scorer::launch_batch(std::span<const ScoreRequest> requests, std::span<const std::size_t> order) {
  const auto batch = static_cast<int64_t>(order.size());
  const int64_t length = requests[order[0]].end;
  const torch::Device device = model_->target().device;
  const bool cuda = device.is_cuda();
  const auto host = torch::TensorOptions().dtype(torch::kInt64).pinned_memory(cuda);

  // Right-padded ids [batch, length]; flat row index and target of every scored position.
  torch::Tensor ids = torch::zeros({batch, length}, host);
  int64_t scored = 0;
  for (std::size_t b = 0; b < order.size(); ++b) {
    const ScoreRequest& r = requests[order[b]];
    std::copy_n(r.ids.data(), r.end, ids.data_ptr<int64_t>() + b * length);
    scored += r.end - r.begin;
    stats_.tokens += r.end;
  }
  torch::Tensor rows = torch::empty({scored}, host), targets = torch::empty({scored}, host);
  int64_t* row = rows.data_ptr<int64_t>();
  int64_t* target = targets.data_ptr<int64_t>();
  for (std::size_t b = 0; b < order.size(); ++b) {
    const ScoreRequest& r = requests[order[b]];
    for (int64_t t = r.begin; t < r.end; ++t) {
      *row++ = static_cast<int64_t>(b) * length + t;
      *target++ = r.ids[t + 1];
    }
  }
  // From pinned memory these copies do not block the host (the allocator keeps the pages until done).
  ids = ids.to(device, /*non_blocking=*/true);
  rows = rows.to(device, /*non_blocking=*/true);
  targets = targets.to(device, /*non_blocking=*/true);

  torch::Tensor hidden = model_->hidden_states(ids).view({batch * length, -1});
  torch::Tensor selected = hidden.index_select(0, rows);
  std::vector<torch::Tensor> chunks;
  for (int64_t first = 0; first < scored; first += options_.lm_head_rows) {
    const int64_t last = std::min(scored, first + options_.lm_head_rows);
    // log_softmax is one fused pass over [rows, vocab]; logsumexp takes several.
    torch::Tensor logp = torch::log_softmax(model_->logits(selected.slice(0, first, last)), -1, torch::kFloat32);
    chunks.push_back(-logp.gather(1, targets.slice(0, first, last).unsqueeze(1)).squeeze(1));
  }
  Launched launched{std::vector<std::size_t>(order.begin(), order.end()), {}, std::nullopt};
  torch::Tensor nll = torch::cat(chunks);
  if (cuda) {
    launched.losses = torch::empty({scored}, torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
    launched.losses.copy_(nll, /*non_blocking=*/true);
    const c10::DeviceIndex index = device.has_index() ? device.index() : at::accelerator::getDeviceIndex();
    launched.ready.emplace(device.type());
    launched.ready->record(at::accelerator::getCurrentStream(index));
  } else {
    launched.losses = nll.contiguous();
  }
  stats_.sequences += batch;
  stats_.padded_tokens += batch * length;
  stats_.scored += scored;
  return launched;
}

void Scorer::collect(std::span<const ScoreRequest> requests, Launched& batch,
                     std::vector<std::vector<float>>& results) {
  if (batch.ready) batch.ready->synchronize();
  const float* values = batch.losses.data_ptr<float>();
  for (std::size_t i : batch.order) {
    const ScoreRequest& r = requests[i];
    results[i].assign(values, values + (r.end - r.begin));
    values += r.end - r.begin;
  }
}

}  // namespace curate::model
