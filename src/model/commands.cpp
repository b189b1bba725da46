#include "curate/model/commands.h"

#include <torch/torch.h>

#include <ATen/DeviceAccelerator.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <sys/resource.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "curate/data/line_reader.h"
#include "curate/model/perturb.h"
#include "curate/model/scorer.h"
#include "curate/util/atomic_file.h"
#include "curate/util/clock.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"

namespace curate::model {
namespace {

using Clock = SteadyClock;

TensorTarget apply_runtime(const RuntimeOptions& runtime) {
  if (runtime.threads < 0) throw ConfigError("--threads must be >= 0");
  if (runtime.threads > 0) torch::set_num_threads(runtime.threads);
  TensorTarget target{parse_device(runtime.device), parse_dtype(runtime.dtype)};
  if (target.device.is_cpu() && target.dtype != torch::kFloat32) {
    log::warn("--dtype " + runtime.dtype + " on CPU is slow and less accurate; float32 is recommended");
  }
  return target;
}

struct PendingLine {
  nlohmann::ordered_json object;
  std::vector<int64_t> ids;
};

// Parses one input line of `curate_tool nll`. Throws DataError naming path:line.
PendingLine parse_nll_line(const data::Line& line, const std::string& path, int64_t vocab) {
  auto fail = [&](const std::string& why) -> void { throw DataError(cat(path, ":", line.number, ": ", why)); };
  if (line.too_long) fail("line is longer than the line size limit");
  PendingLine pending;
  pending.object = nlohmann::ordered_json::parse(line.text, nullptr, /*allow_exceptions=*/false);
  if (pending.object.is_discarded()) fail("not valid JSON");
  if (!pending.object.is_object()) fail("expected a JSON object like {\"input_ids\": [...]}");
  auto it = pending.object.find("input_ids");
  if (it == pending.object.end() || !it->is_array()) fail("missing \"input_ids\" array");
  pending.ids.reserve(it->size());
  for (const auto& id : *it) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab) {
      fail(cat("input_ids[", pending.ids.size(), "] = ", id.dump(), " is not a token id of this model (vocabulary ",
               vocab, ")"));
    }
    pending.ids.push_back(id.get<int64_t>());
  }
  pending.object.erase("nll");
  return pending;
}

void write_scored(std::ofstream& out, const PendingLine& line, const std::vector<float>& nll) {
  std::string text = line.object.dump();
  text.pop_back();  // reopen the object to append "nll" without a double round trip
  text += line.object.empty() ? "\"nll\":[" : ",\"nll\":[";
  for (std::size_t i = 0; i < nll.size(); ++i) {
    if (i) text += ',';
    text += format_float(nll[i]);
  }
  text += "]}\n";
  out << text;
}

// Peak resident set of this process in GiB (the CPU counterpart of the peer's peak GPU memory).
double peak_rss_gb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1 << 20);
}

// FLOPs the losses of one step need (see BenchOptions).
double model_flops(const ModelConfig& c, std::span<const ScoreRequest> requests) {
  const double q = static_cast<double>(c.num_attention_heads * c.head_dim);
  const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim);
  const double h = static_cast<double>(c.hidden_size), ffn = static_cast<double>(c.intermediate_size);
  const double layers = static_cast<double>(c.num_hidden_layers);
  const double linear_per_token = 2 * layers * (h * (q + 2 * kv) + q * h + 3 * h * ffn);
  double flops = 0;
  for (const ScoreRequest& r : requests) {
    const auto n = static_cast<double>(r.end);  // fed tokens
    flops += linear_per_token * n + layers * 4 * q * n * (n + 1) / 2;
    flops += 2 * h * static_cast<double>(c.vocab_size) * static_cast<double>(r.end - r.begin);
  }
  return flops;
}

// Profiles one call of `step` with the Kineto profiler: PATH.json (chrome trace) and PATH.txt (device
// time by kernel and by kind, and how much of the step the device was busy).
void profile_step(const std::function<void()>& step, const std::string& path) {
  namespace prof = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  std::set<ActivityType> activities = {ActivityType::CPU};
  if (torch::cuda::is_available()) activities.insert(ActivityType::CUDA);
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  const auto start = Clock::now();
  step();
  const double wall = seconds_since(start);
  auto result = prof::disableProfiler();
  result->save(path + ".json");

  std::map<std::string, std::pair<double, int64_t>> kernels;  // name -> (seconds, calls)
  std::map<std::string, double> kinds;
  double device = 0;
  for (const auto& event : result->events()) {
    if (event.deviceType() != c10::DeviceType::CUDA) continue;
    const double seconds = static_cast<double>(event.durationNs()) * 1e-9;
    const std::string name = event.name();
    auto& entry = kernels[name];
    entry.first += seconds;
    entry.second += 1;
    device += seconds;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const char* kind = lower.find("flash") != std::string::npos || lower.find("fmha") != std::string::npos ||
                               lower.find("attention") != std::string::npos
                           ? "attention"
                       : lower.find("gemm") != std::string::npos || lower.find("xmma") != std::string::npos ||
                               lower.find("cutlass") != std::string::npos || lower.find("nvjet") != std::string::npos
                           ? "matmul"
                       : lower.find("memcpy") != std::string::npos || lower.find("memset") != std::string::npos
                           ? "memcpy/memset"
                       : lower.find("softmax") != std::string::npos ? "log_softmax"
                                                                    : "other (elementwise, norms, gathers)";
    kinds[kind] += seconds;
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> sorted(kernels.begin(), kernels.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::ofstream out(path + ".txt");
  out << "one step: " << wall * 1e3 << " ms wall, " << device * 1e3 << " ms of device work ("
      << (wall > 0 ? 100 * device / wall : 0) << "% busy if nothing overlaps)\n";
  if (kernels.empty()) out << "no device events recorded (CPU run, or CUPTI unavailable)\n";
  out << "\nby kind:\n";
  for (const auto& [kind, seconds] : kinds) {
    out << "  " << kind << ": " << seconds * 1e3 << " ms (" << 100 * seconds / std::max(device, 1e-12) << "%)\n";
  }
  out << "\ntop kernels (ms, calls, share):\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(sorted.size(), 30); ++i) {
    const auto& [name, entry] = sorted[i];
    out << "  " << entry.first * 1e3 << "\t" << entry.second << "\t" << 100 * entry.first / std::max(device, 1e-12)
        << "%\t" << name.substr(0, 160) << "\n";
  }
  if (!out) throw StoreError("cannot write '" + path + ".txt'");
}

}  // namespace

void run_nll(const NllOptions& options) {
  if (options.model.empty() || options.input.empty() || options.output.empty()) {
    throw ConfigError("nll needs --model, --input and --output");
  }
  if (options.batch_tokens <= 0 || options.window_tokens <= 0) {
    throw ConfigError("--batch-tokens and --window-tokens must be positive");
  }
  require_not_input(options.output, "--output", options.input, "--input");
  const TensorTarget target = apply_runtime(options.runtime);
  const auto load_start = Clock::now();
  CausalLM model = load_causal_lm(options.model, target);
  if (options.family == "gaussian") {
    apply_gaussian(model, options.perturb, options.checkpoint);
  } else if (options.family == "directional") {
    if (options.target.empty())
      throw ConfigError("--family directional needs --perturb.target (a fine-tuned model folder)");
    CheckpointWeights finetuned(options.target, target);
    log::info(cat("directional checkpoint ", options.checkpoint, ": distance ",
                  apply_directional(model, finetuned, options.perturb, options.checkpoint)));
  } else if (options.family != "base") {
    throw ConfigError("--family '" + options.family + "' is unknown: use base, gaussian or directional");
  }
  Scorer scorer(std::move(model), {.batch_tokens = options.batch_tokens});
  const int64_t vocab = scorer.model()->config().vocab_size;
  log::info(cat("loaded ", options.model, " (", scorer.model()->config().architecture_name, ", ",
                scorer.model()->config().num_parameters() / 1e6, "M parameters) on ", options.runtime.device, " in ",
                format_seconds(seconds_since(load_start))));

  data::LineReader reader(options.input);
  StagedFiles staged;  // the output appears whole or not at all
  const std::filesystem::path temporary = staged.stage(options.output);
  std::ofstream out = open_output(temporary);

  const auto start = Clock::now();
  auto last_report = start;
  int64_t lines = 0;
  std::vector<PendingLine> window;
  int64_t window_tokens = 0;
  auto flush = [&] {
    std::vector<ScoreRequest> requests;
    for (const auto& p : window) {
      const auto n = static_cast<int64_t>(p.ids.size());
      requests.push_back({p.ids, 0, std::max<int64_t>(n - 1, 0)});
    }
    auto nll = scorer.score(requests);
    for (std::size_t i = 0; i < window.size(); ++i) write_scored(out, window[i], nll[i]);
    if (!out) throw StoreError("cannot write '" + temporary.string() + "': disk full or read-only?");
    lines += static_cast<int64_t>(window.size());
    window.clear();
    window_tokens = 0;
    if (seconds_since(last_report) > 10) {
      last_report = Clock::now();
      const double elapsed = seconds_since(start);
      log::info(cat(lines, " lines, ", scorer.stats().tokens, " tokens, ",
                    static_cast<int64_t>(scorer.stats().tokens / elapsed), " tokens/s"));
    }
  };
  data::Line line;
  while (reader.next(line)) {
    if (!line.too_long && line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
    window.push_back(parse_nll_line(line, options.input, vocab));
    window_tokens += static_cast<int64_t>(window.back().ids.size());
    if (window_tokens >= options.window_tokens) flush();
  }
  flush();
  close_output(out, temporary);
  staged.commit();

  const double elapsed = seconds_since(start);
  const ScoreStats& stats = scorer.stats();
  log::info(cat("scored ", lines, " lines (", stats.tokens, " tokens, ", stats.scored, " losses) in ",
                format_seconds(elapsed), ": ", static_cast<int64_t>(stats.tokens / std::max(elapsed, 1e-9)),
                " tokens/s, padding ",
                stats.padded_tokens ? 100.0 * (stats.padded_tokens - stats.tokens) / stats.padded_tokens : 0.0,
                "%; wrote ", options.output));
}

void run_make_model(const MakeModelOptions& options) {
  if (options.output.empty()) throw ConfigError("make-model needs --output");
  if (!(options.init_std > 0)) throw ConfigError("--init-std must be positive");
  const ModelConfig config = builtin_shape(options.shape);
  write_random_model(config, options.output, options.seed, options.init_std, parse_dtype(options.dtype),
                     options.shard_bytes);
  log::info(cat("wrote ", options.shape, " (", config.num_parameters() / 1e6, "M parameters, ", options.dtype, ") to ",
                options.output));
}

void run_bench(const BenchOptions& options) {
  if (options.batch <= 0 || (!options.mix && options.seq_len < 2) || options.iters <= 0 || options.scored < 0 ||
      (options.mix && options.scored == 0)) {
    throw ConfigError(
        "bench needs --batch > 0, --iters > 0, --scored >= 0, and --seq-len > 1 or --mix with --scored > 0");
  }
  const TensorTarget target = apply_runtime(options.runtime);
  const ModelConfig config = builtin_shape(options.shape);
  RandomWeights weights(options.seed, 0.02, target);
  CausalLM model = [&] {
    torch::InferenceMode guard;
    return CausalLM(weights, config, target);
  }();

  const int64_t scored = options.scored > 0 ? options.scored : options.seq_len - 1;
  // Lengths and ids drawn exactly as launch/peer_bench.py draws them (torch CPU generator seeded with --seed),
  // so both sides score the same sequences.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  torch::Tensor lengths = options.mix ? torch::randint(50, 601, {options.batch}, generator) + scored
                                      : torch::full({options.batch}, options.seq_len, torch::kInt64);
  if (lengths.min().item<int64_t>() <= scored) throw ConfigError("--scored must be smaller than --seq-len");
  torch::Tensor all_ids =
      torch::randint(0, config.vocab_size, {options.batch, lengths.max().item<int64_t>()}, generator);
  std::vector<std::vector<int64_t>> ids(static_cast<std::size_t>(options.batch));
  for (int64_t b = 0; b < options.batch; ++b) {
    const int64_t length = lengths[b].item<int64_t>();
    const int64_t* row = all_ids[b].contiguous().data_ptr<int64_t>();
    ids[static_cast<std::size_t>(b)].assign(row, row + length);
  }
  // The peer scores labels at positions [n - scored, n), i.e. our nll positions [n - scored - 1, n - 1).
  std::vector<ScoreRequest> requests;
  int64_t real_tokens = 0, max_len = 0;
  for (const auto& seq : ids) {
    const auto n = static_cast<int64_t>(seq.size());
    requests.push_back({seq, n - scored - 1, n - 1});
    real_tokens += n;
    max_len = std::max(max_len, n);
  }
  const int64_t batch_tokens = options.batch_tokens > 0 ? options.batch_tokens : options.batch * max_len;
  Scorer scorer(model, {.batch_tokens = batch_tokens});
  const bool cuda = target.device.is_cuda();
  const c10::DeviceIndex device_index = !cuda                       ? c10::DeviceIndex(-1)
                                        : target.device.has_index() ? target.device.index()
                                                                    : at::accelerator::getDeviceIndex();
  auto sync = [&] { wait_for_device(target.device); };
  scorer.score(requests);  // warm-up
  sync();
  if (cuda) at::accelerator::resetPeakStats(device_index);  // as the peer: weights count, warm-up transients do not
  const auto start = Clock::now();
  for (int i = 0; i < options.iters; ++i) scorer.score(requests);
  sync();
  const double step = seconds_since(start) / options.iters;
  nlohmann::json peak_gb = peak_rss_gb();
  if (cuda) {
    const auto stats = at::accelerator::getDeviceStats(device_index);
    const auto aggregate = static_cast<std::size_t>(c10::CachingDeviceAllocator::StatType::AGGREGATE);
    peak_gb = static_cast<double>(stats.allocated_bytes[aggregate].peak) / (1 << 30);
  }
  const double flops = model_flops(config, requests);
  const double peak_tflops = options.peak_tflops > 0 ? options.peak_tflops : cuda ? 989.0 : 0.0;
  if (!options.profile.empty()) {
    profile_step(
        [&] {
          scorer.score(requests);
          sync();
        },
        options.profile);
  }
  nlohmann::ordered_json result = {
      {"impl", "curate_tool"},
      {"shape", options.shape},
      {"device", options.runtime.device},
      {"dtype", options.runtime.dtype},
      {"threads", torch::get_num_threads()},
      {"batch", options.batch},
      {"mix", options.mix},
      {"max_len", max_len},
      {"real_tokens", real_tokens},
      {"scored", scored},
      {"tokens_per_s", real_tokens / step},
      {"scored_per_s", options.batch * scored / step},
      {"params", config.num_parameters()},
      {"peak_gb", peak_gb},
      {"peak_kind", cuda ? "device allocated" : "host RSS"},
      {"padding",
       scorer.stats().padded_tokens > 0
           ? static_cast<double>(scorer.stats().padded_tokens - scorer.stats().tokens) / scorer.stats().padded_tokens
           : 0.0},
      {"model_tflops_per_s", flops / step / 1e12},
      {"mfu", peak_tflops > 0 ? nlohmann::json(flops / step / (peak_tflops * 1e12)) : nlohmann::json(nullptr)},
      {"peak_tflops", peak_tflops > 0 ? nlohmann::json(peak_tflops) : nlohmann::json(nullptr)}};
  if (!options.profile.empty()) result["profile"] = options.profile + ".txt";
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
}

}  // namespace curate::model
