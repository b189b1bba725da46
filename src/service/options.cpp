#include "curate/service/options.h"

#include <sys/stat.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "curate/data/line_writer.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::service {
namespace {

namespace po = boost::program_options;

template <typename T>
po::typed_value<T>* bind(T& field) {
  return po::value<T>(&field)->default_value(field);
}
po::typed_value<double>* bind(double& field) {  // help shows 0.1, not 0.10000000000000001
  std::ostringstream text;
  text << field;
  return po::value<double>(&field)->default_value(field, text.str());
}

// The option table: every setting once, with its INI key and help.
po::options_description describe(Options& o) {
  po::options_description top("general");
  top.add_options()
      ("stage", bind(o.run.stage), "difficulty, profile, select or all (difficulty, filter, profile, select)")
      ("fresh", po::bool_switch(&o.run.fresh), "move an output file of another configuration aside and start over")
      ("plan", po::bool_switch(&o.run.plan), "print what the job will do (examples, tokens, units, result size, "
       "GPU-hours from the [plan] table) without loading a model, then exit")
      ("model.path", bind(o.run.model), "base model folder (config.json + safetensors)")
      ("model.tokenizer", bind(o.run.tokenizer), "tokenizer folder (default: model.path)")
      ("data.path", bind(o.run.dataset), "dataset JSONL (plain, .gz or .zst)")
      ("output.path", bind(o.run.output), "HDF5 result file; rerun the same configuration to resume it")
      ("perturb.target", bind(o.run.finetuned), "fine-tuned model folder: the direction of the profile checkpoints (empty: Gaussian family)");
  po::options_description run("[run]");
  run.add_options()
      ("run.seed", bind(o.run.seed), "seed of all noise and sampling")
      ("run.log_level", bind(o.run.log_level), "debug, info, warn, error or off")
      ("run.progress_seconds", bind(o.run.progress_seconds), "seconds between progress reports")
      ("run.flush_seconds", bind(o.run.flush_seconds), "seconds between flushes of the HDF5 file")
      ("run.worker_timeout", bind(o.run.worker_timeout), "seconds a busy worker may stay silent before the job stops");
  po::options_description pass("[pass]");
  pass.add_options()
      ("pass.unit_examples", bind(o.pass.unit_examples), "examples per work unit")
      ("pass.difficulty_tokens", bind(o.pass.difficulty_tokens), "reasoning tokens scored for difficulty")
      ("pass.profile_tokens", bind(o.pass.profile_tokens), "reasoning tokens scored for the loss profile")
      ("pass.gaussian_checkpoint", bind(o.pass.gaussian_checkpoint), "Gaussian checkpoint of the difficulty pass (0 = calibrate)")
      ("pass.calibration_samples", bind(o.pass.calibration_samples), "examples in the calibration sample")
      ("pass.calibration_low", bind(o.pass.calibration_low), "wanted loss ratio to the base model: low end")
      ("pass.calibration_high", bind(o.pass.calibration_high), "wanted loss ratio to the base model: high end");
  po::options_description store("[store]");
  store.add_options()
      ("store.token_losses", bind(o.store.token_losses),
       "float32, float16 or none: per-token losses in the result file (the per-example means are float32 always)");
  po::options_description score("[score]");
  score.add_options()
      ("score.device", bind(o.engine.device), "auto (cuda when the rank sees a GPU, else cpu), cpu, cuda or cuda:N")
      ("score.dtype", bind(o.engine.dtype), "auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16 or float16")
      ("score.threads", bind(o.engine.threads), "torch CPU threads per rank (fixed for reproducible bits)")
      ("score.batch_tokens", bind(o.engine.score.batch_tokens), "padded tokens per forward batch")
      ("score.lm_head_rows", bind(o.engine.score.lm_head_rows), "scored positions per lm_head chunk")
      ("score.window", bind(o.prompt.window),
       "response (the reference's: the whole assistant text + EOS after the prompt) or reasoning (between the markers)")
      ("score.max_padding", bind(o.engine.score.max_padding), "largest padding fraction of a batch")
      ("score.weight_broadcast", bind(o.engine.weight_broadcast),
       "auto, nccl or disk: how the scoring ranks of a node get the weights (auto = NCCL from one reader on CUDA "
       "nodes with several ranks, else each rank reads the disk); never changes results");
  po::options_description perturb("[perturb]");
  perturb.add_options()
      ("perturb.gaussian_checkpoints", bind(o.engine.perturb.gaussian_checkpoints), "number of cumulative Gaussian checkpoints")
      ("perturb.gaussian_min_std", bind(o.engine.perturb.gaussian_min_std), "noise std of step 1 (absolute, per element)")
      ("perturb.gaussian_max_std", bind(o.engine.perturb.gaussian_max_std), "total noise std of the last checkpoint")
      ("perturb.directional_checkpoints", bind(o.engine.perturb.directional_checkpoints), "checkpoints along the fine-tuning direction")
      ("perturb.max_radius", bind(o.engine.perturb.max_radius), "distance of the last directional checkpoint")
      ("perturb.min_radius", bind(o.engine.perturb.min_radius), "distance of the first (0 = max_radius / n)")
      ("perturb.direction_excludes_embeddings", bind(o.engine.perturb.direction_excludes_embeddings), "leave embeddings out of the direction");
  po::options_description data("[data]");
  data.add_options()
      ("data.format", bind(o.data.format), "auto, sharegpt, flat or pretokenized")
      ("data.id_field", bind(o.data.id_field), "field with a stable example id (empty: line number)")
      ("data.source_field", bind(o.data.source_field), "field naming the source")
      ("data.domain_field", bind(o.data.domain_field), "field naming the domain")
      ("data.conversations_field", bind(o.data.conversations_field), "sharegpt turns")
      ("data.messages_field", bind(o.data.messages_field), "sharegpt turns in OpenAI style, when there is no conversations_field")
      ("data.prompt_field", bind(o.data.prompt_field), "flat prompt")
      ("data.reasoning_field", bind(o.data.reasoning_field), "flat reasoning")
      ("data.answer_field", bind(o.data.answer_field), "flat answer")
      ("data.response_field", bind(o.data.response_field), "flat assistant text with reasoning markers")
      ("data.think_begin", bind(o.data.think_begin), "reasoning begin marker")
      ("data.think_end", bind(o.data.think_end), "reasoning end marker")
      ("data.ids_field", bind(o.data.ids_field), "pretokenized ids")
      ("data.reasoning_start_field", bind(o.data.reasoning_start_field), "pretokenized first reasoning token")
      ("data.max_line_bytes", bind(o.data.max_line_bytes), "longer lines are skipped")
      ("data.max_prompt_tokens", bind(o.data.max_prompt_tokens), "records with a longer prompt are skipped (0: context length - scored window)")
      ("data.strict", bind(o.data.strict), "stop at the first bad record")
      ("data.check_records", bind(o.run.check_records), "records rank 0 checks before workers load models (0 = all)")
      ("data.chat_template", bind(o.prompt.chat_template), "auto, chatml, llama3 or plain")
      ("data.system_prompt", bind(o.prompt.system_prompt), "auto, none, or the text")
      ("data.generation_prompt", bind(o.prompt.generation_prompt), "emit the assistant header")
      ("data.response_prefix", bind(o.prompt.response_prefix), "text before the reasoning (\\n escapes)");
  po::options_description filter("[filter]");
  filter.add_options()
      ("filter.method", bind(o.filter.method), "kmeans, quantile or none: which examples the profile pass scores")
      ("filter.k", bind(o.filter.k), "kmeans: clusters of the 1-D k-means of each source's difficulty")
      ("filter.keep", bind(o.filter.keep), "kmeans: highest-loss clusters kept")
      ("filter.quantile", bind(o.filter.quantile), "quantile: keep difficulty >= this quantile of the source")
      ("filter.whole_budget", bind(o.filter.whole_budget),
       "reference's small-source rule: by ascending size, a source of <= whole_budget / sources left rows is kept whole (0 = off)");
  po::options_description select("[select]");
  select.add_options()
      ("select.budget", bind(o.select.budget), "examples to select")
      ("select.token_budget", bind(o.select.token_budget), "> 0: budget in tokens (sum of full lengths) instead")
      ("select.method", bind(o.select.method), "temp, random, longest, middle-perplexity, difficulty, learnability or s2l")
      ("select.seed", bind(o.select.seed), "seed of k-means initialisation, singleton fill and random baselines")
      ("select.temperature", bind(o.select.temperature), "softmax temperature of the budget split across domains and sources")
      ("select.allocation", bind(o.select.allocation), "reference (TEMP's softmax split, one capacity pass) or water-fill")
      ("select.k_rule", bind(o.select.k_rule), "allocated (k = max(1, allocated / per_cluster), the reference's) or candidates")
      ("select.per_cluster", bind(o.select.per_cluster), "k-means clusters: k = max(1, allocated / per_cluster) (k_rule)")
      ("select.iterations", bind(o.select.iterations), "most Lloyd iterations")
      ("select.init", bind(o.select.init), "kmeans++, random or auto (kmeans++ while n*k <= 2e8)")
      ("select.standardize", bind(o.select.standardize), "scale features per source to zero mean, unit std")
      ("select.threads", bind(o.select.threads), "threads of the k-means assignment per rank (0 = all cores)")
      ("select.output", bind(o.run.selected), "the selected records, JSONL (default: OUTPUT stem + .selected.jsonl[.gz|.zst])")
      ("select.format", bind(o.exported.format),
       "input (each selected record's own bytes), or sharegpt / messages (converted conversations)")
      ("select.response_template", bind(o.exported.response_template),
       "converting flat records: the assistant text from {reasoning} and {answer} (\\n escapes)")
      ("select.compress", bind(o.exported.compress), "none, gz, zst or auto (as the dataset): compression of select.output");
  po::options_description all;
  po::options_description plan("[plan]");
  plan.add_options()
      ("plan.gpu_tokens_per_second", bind(o.plan.gpu_tokens_per_second), "--plan: scored tokens/s of one GPU rank ...")
      ("plan.gpu_reference_parameters", bind(o.plan.gpu_reference_parameters), "... for a model of this many parameters")
      ("plan.cpu_tokens_per_second", bind(o.plan.cpu_tokens_per_second), "--plan: scored tokens/s of one CPU rank ...")
      ("plan.cpu_reference_parameters", bind(o.plan.cpu_reference_parameters), "... for a model of this many parameters");
  all.add(top).add(run).add(pass).add(store).add(score).add(perturb).add(data).add(filter).add(select).add(plan);
  return all;
}

// Test-only keys: parsed like the others, never shown by --help.
po::options_description describe_hidden(Options& o) {
  po::options_description hidden("[test]");
  hidden.add_options()
      ("test.fake_worker", bind(o.test.fake_worker), "workers return synthetic losses without a model (tests only)")
      ("test.fake_unit_seconds", bind(o.test.fake_unit_seconds), "fake workers sleep this long per unit");
  return hidden;
}

int64_t mtime_ns(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
}

}  // namespace

bool parse_options(int argc, char** argv, Options& options) {
  po::options_description table = describe(options);
  std::string config;
  po::options_description generic("command line");
  generic.add_options()("help,h", "show this help")("config,c", po::value(&config), "INI file with [section] key = value");
  po::options_description cli, visible;
  visible.add(generic).add(table);
  table.add(describe_hidden(options));  // accepted in files and on the command line, not in the help
  cli.add(generic).add(table);
  for (int i = 1; i < argc; ++i) reject_option_placeholders(argv[i], cat("argument ", i));
  reject_options_as_values(argc, argv, [&](std::string_view name) {
    // An ambiguous name (find_nothrow throws) is left to the parser, which reports it.
    const po::option_description* option = nullptr;
    try {
      option = cli.find_nothrow(std::string(name), false);
    } catch (const po::error&) {
      return false;
    }
    return option != nullptr && option->semantic()->max_tokens() > 0;
  });
  try {
    po::variables_map vm;
    const po::positional_options_description none;  // a stray argument ("--select.budget 5 7") is an error
    po::store(po::command_line_parser(argc, argv).options(cli).positional(none).run(), vm);
    if (vm.count("help")) {
      std::cout << "curate_dist: scores early reasoning tokens under perturbed checkpoints and selects SFT data.\n\n"
                   "usage: mpirun -np N curate_dist --config run.ini [--section.key value ...]\n\n"
                << visible << "\n";
      return false;
    }
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) throw ConfigError("cannot read --config '" + path + "'");
      std::stringstream text;
      text << in.rdbuf();
      reject_option_placeholders(text.str(), "--config '" + path + "'");
      po::store(po::parse_config_file(text, table), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + (config.empty() ? "" : " (in " + config + " or on the command line)") +
                      "; see curate_dist --help");
  }
  return true;
}

void validate(Options& o) {
  if (o.run.model.empty()) throw ConfigError("model.path is required: a Hugging Face model folder");
  if (o.run.dataset.empty()) throw ConfigError("data.path is required: a JSONL dataset");
  if (o.run.stage != "all" && o.run.stage != "difficulty" && o.run.stage != "profile" && o.run.stage != "select") {
    throw ConfigError("stage '" + o.run.stage + "' is unknown: use difficulty, profile, select or all");
  }
  select::validate(o.filter);
  select::validate(o.select);
  select::validate(o.exported);
  if (o.run.selected.empty()) {
    std::filesystem::path stem(o.run.output);
    if (stem.extension() == ".h5" || stem.extension() == ".hdf5") stem.replace_extension();
    const data::Compression compression =
        o.exported.compress == "gz"    ? data::Compression::kGzip
        : o.exported.compress == "zst" ? data::Compression::kZstd
        : o.exported.compress == "auto" && std::filesystem::is_regular_file(o.run.dataset) ? data::detect_compression(o.run.dataset)
                                                                                            : data::Compression::kNone;
    o.run.selected = stem.string() + ".selected.jsonl" + std::string(data::compression_suffix(compression));
  }
  if (o.run.tokenizer.empty()) o.run.tokenizer = o.run.model;
  if (o.pass.unit_examples <= 0) throw ConfigError("pass.unit_examples must be positive");
  if (!(o.plan.gpu_tokens_per_second > 0 && o.plan.gpu_reference_parameters > 0 && o.plan.cpu_tokens_per_second > 0 &&
        o.plan.cpu_reference_parameters > 0)) {
    throw ConfigError("plan.* throughputs and reference parameter counts must be positive");
  }
  if (o.run.check_records < 0) throw ConfigError("data.check_records must be >= 0 (0 = every record)");
  if (o.pass.difficulty_tokens <= 0 || o.pass.profile_tokens <= 0) throw ConfigError("pass.*_tokens must be positive");
  if (o.pass.gaussian_checkpoint < 0 || o.pass.gaussian_checkpoint > o.engine.perturb.gaussian_checkpoints) {
    throw ConfigError(cat("pass.gaussian_checkpoint = ", o.pass.gaussian_checkpoint, " is outside 0..",
                          o.engine.perturb.gaussian_checkpoints, " (0 = calibrate)"));
  }
  if (o.pass.calibration_samples <= 0 || !(o.pass.calibration_low < o.pass.calibration_high)) {
    throw ConfigError("pass.calibration_samples must be positive and calibration_low < calibration_high");
  }
  parse_token_losses(o.store.token_losses);
  if (o.test.fake_unit_seconds < 0) throw ConfigError("test.fake_unit_seconds must not be negative");
  model::validate(o.engine.perturb);
  model::parse_weight_broadcast(o.engine.weight_broadcast);
  data::validate(o.data);
  data::parse_score_window(o.prompt.window);
  o.engine.model = o.run.model;
  o.engine.finetuned = o.run.finetuned;
  o.engine.perturb.seed = o.run.seed;
}

TokenLosses parse_token_losses(const std::string& text) {
  if (text == "float32") return TokenLosses::kFloat32;
  if (text == "float16") return TokenLosses::kFloat16;
  if (text == "none") return TokenLosses::kNone;
  throw ConfigError("store.token_losses = '" + text + "' is unknown: use float32, float16 or none");
}

std::string fingerprint(const Options& o) {
  std::ostringstream f;
  f << "model=" << o.run.model << "@" << mtime_ns(o.run.model + "/config.json")
    << ";finetuned=" << o.run.finetuned << ";dataset=" << o.run.dataset << "@" << mtime_ns(o.run.dataset)
    << ";tokenizer=" << o.run.tokenizer << ";seed=" << o.run.seed << ";unit=" << o.pass.unit_examples
    << ";tokens=" << o.pass.difficulty_tokens << "," << o.pass.profile_tokens << ";checkpoint=" << o.pass.gaussian_checkpoint
    << ";calibration=" << o.pass.calibration_samples << "," << o.pass.calibration_low << "," << o.pass.calibration_high
    << ";device=" << o.engine.device << ";dtype=" << o.engine.dtype << ";threads=" << o.engine.threads
    << ";batch=" << o.engine.score.batch_tokens << "," << o.engine.score.lm_head_rows << "," << o.engine.score.max_padding
    << ";noise=" << model::kNoiseVersion << ";gauss=" << o.engine.perturb.gaussian_checkpoints << "," << o.engine.perturb.gaussian_min_std << ","
    << o.engine.perturb.gaussian_max_std << ";dir=" << o.engine.perturb.directional_checkpoints << ","
    << o.engine.perturb.max_radius << "," << o.engine.perturb.min_radius << ","
    << o.engine.perturb.direction_excludes_embeddings << ";data=" << o.data.format << "," << o.data.id_field << ","
    << o.data.source_field << "," << o.data.domain_field << "," << o.data.conversations_field << "," << o.data.prompt_field
    << "," << o.data.reasoning_field << "," << o.data.answer_field << "," << o.data.response_field << ","
    << o.data.think_begin << "," << o.data.think_end << "," << o.data.ids_field << "," << o.data.reasoning_start_field
    << "," << o.data.max_line_bytes << ";prompt=" << o.prompt.chat_template << "," << o.prompt.system_prompt << ","
    << o.prompt.generation_prompt << "," << o.prompt.response_prefix << ";filter=" << o.filter.method << ","
    << o.filter.k << "," << o.filter.keep << "," << o.filter.quantile << "," << o.filter.whole_budget
    << ";window=" << o.prompt.window;
  f << ";losses=" << o.store.token_losses;
  if (o.test.fake_worker) f << ";fake_worker";  // synthetic losses must never resume a real run
  if (o.data.messages_field != "messages") f << ";messages=" << o.data.messages_field;  // files of older versions match
  if (o.data.max_prompt_tokens != 0) f << ";max_prompt_tokens=" << o.data.max_prompt_tokens;  // likewise
  return f.str();
}

}  // namespace curate::service
