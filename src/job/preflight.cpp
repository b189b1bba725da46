#include "curate/job/preflight.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/data/detect.h"
#include "curate/model/config.h"
#include "curate/model/safetensors.h"
#include "curate/select/filter.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "curate/util/terminal.h"
#include "results/output_plan.h"
#include "results/pass.h"

namespace curate::service {
namespace {

std::string fixed(double x, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, x);
  return text;
}

std::string count(double n) {  // 1234567 -> "1,234,567"
  const std::string digits = fixed(std::round(n), 0);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string bytes(double n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (n >= 1000 && u < 4) n /= 1000, ++u;
  return fixed(n, n < 10 && u ? 1 : 0) + " " + units[u];
}

std::string profile_family_line(const Options& o) {
  if (!o.engine.target.empty()) {
    return cat("profile: directional family, ", o.engine.perturb.directional_checkpoints,
               " checkpoints from model.path towards perturb.target = ", o.engine.target);
  }
  return cat("profile: Gaussian family (", o.engine.perturb.gaussian_checkpoints,
             " noise checkpoints), because perturb.target is empty; the method's similarity profile needs the "
             "model fine-tuned on the full set (docs/USAGE.md, 'The fine-tuned target')");
}

double kept_fraction(const select::FilterOptions& f) {
  if (f.method == select::FilterMethod::kNone) return 1.0;
  if (f.method == select::FilterMethod::kQuantile) return 1.0 - f.quantile;
  return f.k > 0 ? static_cast<double>(f.keep) / f.k : 1.0;  // kmeans: about keep of k clusters
}

// Examples the difficulty filter will keep, about: sources the small-source rule keeps whole
// (select::whole_sources, exact), the others at kept_fraction (the clusters are not known yet).
double expected_kept(const std::map<std::string, int64_t>& sources, const select::FilterOptions& f) {
  std::vector<std::vector<int64_t>> rows;
  for (const auto& [name, n] : sources) rows.emplace_back(static_cast<std::size_t>(n), 0);
  const std::vector<uint8_t> whole = select::whole_sources(rows, f.whole_budget);
  double kept = 0;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    const auto n = static_cast<double>(rows[s].size());
    kept += whole[s] ? n : std::ceil(n * kept_fraction(f));
  }
  return kept;
}

// The workers score a record's prompt and then its window in one sequence of at most the model's
// context: a context no longer than the longest scored window leaves no room for a prompt, so every
// record would be skipped (or the calibration fail). Throws ConfigError naming both.
void require_context(int64_t context, const Options& o) {
  const int64_t window = std::max(o.pass.difficulty_tokens, o.pass.profile_tokens);
  if (context <= 0 || context > window) return;
  throw ConfigError(cat("the model's context, max_position_embeddings = ", context, " in ",
                        (std::filesystem::path(o.engine.model) / "config.json").string(),
                        ", is not longer than the scored window of ", window, " tokens (pass.difficulty_tokens = ",
                        o.pass.difficulty_tokens, ", pass.profile_tokens = ", o.pass.profile_tokens,
                        "): each record needs its prompt + the window within the context; lower those options below ",
                        context, " minus the prompts' length, or use a model with a longer context"));
}

// The *.safetensors files of `folder`, by name.
std::vector<std::filesystem::path> weight_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Two folders hold the same weights: the same safetensors names, sizes and bytes (read until the
// first difference, so a fine-tuned model of the same shape costs a few reads).
bool same_weights(const std::filesystem::path& a, const std::filesystem::path& b) {
  const std::vector<std::filesystem::path> left = weight_files(a), right = weight_files(b);
  if (left.empty() || left.size() != right.size()) return false;
  for (std::size_t i = 0; i < left.size(); ++i) {
    if (left[i].filename() != right[i].filename() ||
        std::filesystem::file_size(left[i]) != std::filesystem::file_size(right[i]))
      return false;
  }
  std::vector<char> x(std::size_t{1} << 22), y(x.size());
  for (std::size_t i = 0; i < left.size(); ++i) {
    std::ifstream l(left[i], std::ios::binary), r(right[i], std::ios::binary);
    while (l && r) {
      l.read(x.data(), static_cast<std::streamsize>(x.size()));
      r.read(y.data(), static_cast<std::streamsize>(y.size()));
      if (l.gcount() != r.gcount() || !std::equal(x.begin(), x.begin() + l.gcount(), y.begin())) return false;
    }
  }
  return true;
}

// "hidden_size 64 vs 128, ..." for the dimensions that differ; empty when none does.
std::string shape_difference(const model::ModelConfig& a, const model::ModelConfig& b) {
  std::string out;
  const auto compare = [&](const char* name, auto x, auto y) {
    if (x != y) out += cat(out.empty() ? "" : ", ", name, " ", x, " vs ", y);
  };
  compare("architectures", a.architecture_name, b.architecture_name);
  compare("vocab_size", a.vocab_size, b.vocab_size);
  compare("hidden_size", a.hidden_size, b.hidden_size);
  compare("intermediate_size", a.intermediate_size, b.intermediate_size);
  compare("num_hidden_layers", a.num_hidden_layers, b.num_hidden_layers);
  compare("num_attention_heads", a.num_attention_heads, b.num_attention_heads);
  compare("num_key_value_heads", a.num_key_value_heads, b.num_key_value_heads);
  compare("head_dim", a.head_dim, b.head_dim);
  compare("tie_word_embeddings", a.tie_word_embeddings, b.tie_word_embeddings);
  return out;
}

}  // namespace

model::ModelConfig require_model_gates(const Options& o) {
  model::require_model_folder(o.engine.model, "model.path");
  const model::ModelConfig config = model::load_model_config(o.engine.model);
  require_context(config.max_position_embeddings, o);
  if (o.engine.target.empty()) return config;
  model::require_model_folder(o.engine.target, "perturb.target");
  const std::filesystem::path base = o.engine.model, target = o.engine.target;
  if (std::filesystem::equivalent(base, target) || same_weights(base, target)) {
    throw ConfigError(cat("perturb.target = ", o.engine.target, " is model.path = ", o.engine.model,
                          std::filesystem::equivalent(base, target) ? " (the same folder)" : " (the same weights)",
                          ": the directional profile needs the model fine-tuned on the full set (docs/USAGE.md, "
                          "'The fine-tuned target'); give that folder, or leave perturb.target empty for the "
                          "Gaussian profile"));
  }
  const std::string differs = shape_difference(config, model::load_model_config(target));
  if (!differs.empty()) {
    throw ConfigError(cat("perturb.target = ", o.engine.target, " is not of model.path's shape (config.json: ", differs,
                          " in model.path vs perturb.target): it must be model.path fine-tuned, "
                          "with the same architecture and sizes"));
  }
  return config;
}

bool resolve_data_options(Options& o, const comm::Comm& comm) {
  if (!data::needs_resolution(o.data)) return true;
  std::string failure;
  std::exception_ptr error;
  if (comm.rank() == 0) {
    try {
      const data::RecordIndex index = data::load_or_build_index(o.run.dataset, index_cache_path(o));
      for (const std::string& note : data::resolve_auto(o.data, o.run.dataset, index)) log::info(note);
    } catch (const Error& e) {
      failure = e.what();
      error = std::current_exception();
    }
  }
  failure = comm.broadcast(failure);
  if (!failure.empty()) {
    if (error) std::rethrow_exception(error);
    return false;
  }
  o.data.think_begin = comm.broadcast(o.data.think_begin);
  o.data.think_end = comm.broadcast(o.data.think_end);
  o.data.id_field = comm.broadcast(o.data.id_field);
  return true;
}

data::CheckOptions check_options(const Options& o) {
  data::CheckOptions c;
  c.tokenizer = o.run.tokenizer.empty() ? o.engine.model : o.run.tokenizer;
  c.input = o.run.dataset;
  c.data = o.data;
  c.prompt = o.prompt;
  c.first_tokens = o.pass.difficulty_tokens;
  c.window_tokens = o.pass.profile_tokens;
  c.max_records = o.run.check_records;
  if (o.select.token_budget == 0 && !o.select.budget.is_fraction()) c.budget = o.select.budget.count;
  return c;
}

void preflight(const Options& o) {
  const model::ModelConfig config = require_model_gates(o);
  if (!o.run.tokenizer.empty() && o.run.tokenizer != o.engine.model) {
    if (!std::filesystem::exists(o.run.tokenizer)) model::require_model_folder(o.run.tokenizer, "model.tokenizer");
  }
  // Every safetensors header parses and every tensor lies inside its file (a truncated or missing
  // shard fails here, exit 4, before any worker loads); the tensor data is not read.
  model::Checkpoint base(o.engine.model);
  if (!o.engine.target.empty()) model::Checkpoint target(o.engine.target);
  log::info(profile_family_line(o));
  data::CheckOptions options = check_options(o);
  options.vocab_size = config.vocab_size;
  const data::CheckReport report = data::check_dataset(options);
  for (const std::string& line : data::describe(report, options)) {
    if (line.starts_with("warning: "))
      log::warn(line.substr(9));
    else
      log::info(line);
  }
  data::require_vocabulary(report, options);
  data::require_usable(report, options);
}

void print_plan(const Options& o, int ranks, std::ostream& out) {
  const model::ModelConfig config = require_model_gates(o);
  data::CheckOptions options = check_options(o);
  options.max_records = 0;  // every record: the plan counts them all
  options.vocab_size = config.vocab_size;
  const data::CheckReport r = data::check_dataset(options);
  for (const std::string& line : data::describe(r, options)) out << escape_control(line) << "\n";
  data::require_vocabulary(r, options);
  data::require_usable(r, options);
  data::require_budget(r, options);
  if (r.sampled == 0) throw DataError("--plan: no example could be tokenized to count tokens");
  if (o.run.stage == Stage::kGradients) {  // adds /gradients to the scored file; no scoring pass runs
    const int64_t g = std::min<int64_t>(static_cast<int64_t>(r.usable), o.gradients.examples);
    out << "plan (--stage gradients, into the scored file " << o.run.output << "): about " << g
        << " examples (gradients.examples " << o.gradients.examples << ", stratified), each one forward and backward "
        << "pass over its prompt and first " << o.gradients.numerics.tokens << " response tokens, projected to dim "
        << o.gradients.numerics.dim << "; " << (g + o.pass.unit_examples - 1) / o.pass.unit_examples << " units of "
        << o.pass.unit_examples << " examples; on CPU the projection dominates (docs/PERFORMANCE.md)\n";
    return;
  }

  const double n = static_cast<double>(r.usable);
  const double difficulty_per = r.mean_prompt_tokens + r.mean_first_window;
  const double profile_per = r.mean_prompt_tokens + r.mean_profile_window;
  const bool directional = !o.engine.target.empty();
  const int checkpoints =
      directional ? o.engine.perturb.directional_checkpoints : o.engine.perturb.gaussian_checkpoints;
  const double unit = static_cast<double>(o.pass.unit_examples);
  const double calibration_examples =
      o.pass.gaussian_checkpoint > 0 ? 0 : std::min(n, static_cast<double>(o.pass.calibration_samples));
  const double calibration_slots = 1.0 + o.engine.perturb.gaussian_checkpoints;
  const double kept = expected_kept(r.sources, o.filter);

  struct PassSize {
    Pass pass;
    double examples, checkpoints, tokens_each, units, scored_each;
  };
  std::vector<PassSize> passes;
  if (calibration_examples > 0) {
    passes.push_back({Pass::kCalibration, calibration_examples, calibration_slots, difficulty_per,
                      std::ceil(calibration_examples / unit) * calibration_slots, r.mean_first_window});
  }
  passes.push_back({Pass::kDifficulty, n, 1, difficulty_per, std::ceil(n / unit), r.mean_first_window});
  passes.push_back({Pass::kProfile, kept, static_cast<double>(checkpoints), profile_per,
                    std::ceil(kept / unit) * checkpoints, r.mean_profile_window});

  const double parameters = static_cast<double>(config.num_parameters());
  const double gpu_rate = o.plan.gpu_tokens_per_second * o.plan.gpu_reference_parameters / parameters;
  const double cpu_rate = o.plan.cpu_tokens_per_second * o.plan.cpu_reference_parameters / parameters;
  const double loss_bytes = o.store.token_losses == TokenLosses::kFloat32   ? 4
                            : o.store.token_losses == TokenLosses::kFloat16 ? 2
                                                                            : 0;
  double total_tokens = 0, file_bytes = 0;
  out << "plan (model " << o.engine.model << ": " << config.architecture_name << ", " << fixed(parameters / 1e9, 2)
      << "B parameters; tokens per example are means over the first " << count(static_cast<double>(r.sampled))
      << " usable examples, after truncation to the scored window):\n";
  for (const PassSize& p : passes) {
    const double tokens = p.examples * p.checkpoints * p.tokens_each;
    total_tokens += tokens;
    file_bytes += p.examples * p.checkpoints * (p.scored_each * loss_bytes + 4);
    out << "  " << pass_name(p.pass) << ": " << count(p.examples) << " examples x " << count(p.checkpoints)
        << " checkpoint(s), " << fixed(p.tokens_each, 1) << " tokens each (prompt " << fixed(r.mean_prompt_tokens, 1)
        << " + window " << fixed(p.tokens_each - r.mean_prompt_tokens, 1) << "): " << count(tokens) << " tokens in "
        << count(p.units) << " units of " << o.pass.unit_examples << " examples"
        << (p.pass == Pass::kProfile
                ? " (the examples filter." + std::string(select::filter_method_name(o.filter.method)) +
                      " will keep, about: sources of at most filter.whole_budget kept whole, others " +
                      fixed(100 * kept_fraction(o.filter), 0) + "%)"
                : "")
        << "\n";
  }
  file_bytes += n * 64;  // per-example arrays (ids, lengths, flags, means, selection inputs)
  const double gpu_hours = total_tokens / gpu_rate / 3600, cpu_hours = total_tokens / cpu_rate / 3600;
  const int scoring_ranks = std::max(1, ranks - 1);
  out << "  total: " << count(total_tokens) << " tokens through the model\n";
  out << "result file: about " << bytes(file_bytes)
      << " (store.token_losses = " << options::name_of(o.store.token_losses, kTokenLosses) << ")\n";
  out << "estimate: " << fixed(gpu_hours, gpu_hours < 10 ? 2 : 1) << " GPU-hours at " << count(gpu_rate)
      << " tokens/s per GPU (plan.gpu_tokens_per_second " << count(o.plan.gpu_tokens_per_second) << " for "
      << fixed(o.plan.gpu_reference_parameters / 1e9, 2) << "B parameters, scaled to this model); on CPU ranks "
      << fixed(cpu_hours, 1) << " rank-hours at " << fixed(cpu_rate, 1) << " tokens/s\n";
  out << "with this run's " << ranks << " rank(s) (" << scoring_ranks << " scoring): about "
      << fixed(gpu_hours / scoring_ranks, 2) << " h wall on GPUs, plus model loading and the selection; "
      << "size Slurm's --time and --nodes from the GPU-hours\n";
  out << profile_family_line(o) << "\n";
}

}  // namespace curate::service
