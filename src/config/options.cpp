#include "curate/config/options.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>

#include "curate/data/line_writer.h"
#include "curate/data/option_tables.h"
#include "curate/model/option_tables.h"
#include "curate/util/error.h"
#include "curate/util/option_table_boost.h"
#include "curate/util/strings.h"

namespace curate::service {
namespace {

namespace po = boost::program_options;
using options::Affects;

constexpr std::pair<const char*, Stage> kStages[] = {
    {"difficulty", Stage::kDifficulty}, {"profile", Stage::kProfile},
    {"select", Stage::kSelect},         {"all", Stage::kAll},
    {"compare", Stage::kCompare},       {"calibrate", Stage::kCalibrate},
    {"gradients", Stage::kGradients}};

options::Group general_table(Options& o) {
  options::Group g("general");
  g.add_enum(
       "stage", o.run.stage, kStages,
       "difficulty, profile, select, all (difficulty, filter, profile, select) or compare (compare.methods x seeds "
       "from a finished file, with a comparison page), calibrate (search perturb.gaussian_max_std on the "
       "calibration sample and print it) or gradients (projected gradients of a sample of a scored file's examples)")
      .switch_flag("fresh", o.run.fresh, "move an output file of another configuration aside and start over")
      .switch_flag("plan", o.run.plan,
                   "print what the job will do (examples, tokens, units, result size, "
                   "GPU-hours from the [plan] table) without loading a model, then exit")
      .add("model.path", o.engine.model, "base model folder (config.json + safetensors)")
      .path()
      .add("model.tokenizer", o.run.tokenizer, "tokenizer folder (default: model.path)")
      .path()
      .add("data.path", o.run.dataset,
           "dataset: JSONL (plain, .gz or .zst), a JSON array, Parquet, a folder or glob of such files, or a folder "
           "from `hf download --repo-type dataset` (its train split)")
      .path()
      .add("output.path", o.run.output, "HDF5 result file; rerun the same configuration to resume it")
      .path()
      .add("perturb.target", o.engine.target,
           "fine-tuned model folder: the direction of the profile checkpoints (empty: Gaussian family)")
      .path();
  return g;
}

options::Group run_table(Options& o) {
  options::Group g("[run]");
  g.add("run.seed", o.engine.perturb.seed, "seed of all noise and sampling", Affects::kResults)
      .add("run.log_level", o.run.log_level, "debug, info, warn, error or off")
      .add("run.progress_seconds", o.run.progress_seconds, "seconds between progress reports")
      .add("run.flush_seconds", o.run.flush_seconds, "seconds between flushes of the HDF5 file")
      .add("run.worker_timeout", o.run.worker_timeout, "seconds a busy worker may stay silent before the job stops")
      .add("run.max_nan_fraction", o.run.max_nan_fraction,
           "stop (exit 4) when the examples with NaN losses at one checkpoint exceed this fraction of the pass");
  return g;
}

options::Group pass_table(PassOptions& o) {
  options::Group g("[pass]");
  const Affects r = Affects::kResults;
  g.add("pass.unit_examples", o.unit_examples, "examples per work unit", r)
      .add("pass.difficulty_tokens", o.difficulty_tokens, "reasoning tokens scored for difficulty", r)
      .add("pass.profile_tokens", o.profile_tokens, "reasoning tokens scored for the loss profile", r)
      .add("pass.gaussian_checkpoint", o.gaussian_checkpoint,
           "Gaussian checkpoint of the difficulty pass (0 = calibrate)", r)
      .add("pass.calibration_samples", o.calibration_samples, "examples in the calibration sample", r)
      .add("pass.calibration_low", o.calibration_low, "wanted loss ratio to the base model: low end", r)
      .add("pass.calibration_high", o.calibration_high, "wanted loss ratio to the base model: high end", r);
  return g;
}

options::Group store_table(StoreOptions& o) {
  options::Group g("[store]");
  g.add_enum("store.token_losses", o.token_losses, kTokenLosses,
             "float32, float16 or none: per-token losses in the result file (the per-example means are float32 always)",
             Affects::kResults);
  return g;
}

options::Group plan_table(PlanOptions& o) {
  options::Group g("[plan]");
  g.add("plan.gpu_tokens_per_second", o.gpu_tokens_per_second, "--plan: scored tokens/s of one GPU rank ...")
      .add("plan.gpu_reference_parameters", o.gpu_reference_parameters, "... for a model of this many parameters")
      .add("plan.cpu_tokens_per_second", o.cpu_tokens_per_second, "--plan: scored tokens/s of one CPU rank ...")
      .add("plan.cpu_reference_parameters", o.cpu_reference_parameters, "... for a model of this many parameters");
  return g;
}

// Test-only keys: parsed like the others, never shown by --help.
options::Group test_table(TestOptions& o) {
  options::Group g("[test]");
  g.add("test.fake_worker", o.fake_worker, "workers return synthetic losses without a model (tests only)",
        Affects::kResults)  // synthetic losses must never resume a real run
      .add("test.fake_unit_seconds", o.fake_unit_seconds, "fake workers sleep this long per unit")
      .add("test.fake_nan_every", o.fake_nan_every,
           "fake workers return NaN losses for records whose line is divisible by N", Affects::kResults)
      .add("test.fake_fail_line", o.fake_fail_line, "fake workers throw a data error on a unit that holds this line",
           Affects::kResults)
      .add("test.writer_delay_seconds", o.writer_delay_seconds, "rank 0's writer thread sleeps this long per unit")
      .hidden();
  return g;
}

}  // namespace

const char* stage_name(Stage stage) {
  for (const auto& [name, value] : kStages) {
    if (value == stage) return name;
  }
  return "?";
}

std::vector<options::Group> option_groups(Options& o) {
  std::vector<options::Group> groups;
  groups.push_back(general_table(o));
  groups.push_back(run_table(o));
  groups.push_back(pass_table(o.pass));
  groups.push_back(store_table(o.store));
  groups.push_back(model::score_table(o.engine));
  groups.push_back(model::perturb_table(o.engine.perturb));
  options::Group data = data::data_table(o.data);
  data.add("data.check_records", o.run.check_records, "records rank 0 checks before workers load models (0 = all)");
  groups.push_back(std::move(data));
  groups.push_back(data::prompt_table(o.prompt));
  groups.push_back(select::filter_table(o.filter));
  groups.push_back(select::select_table(o.select));
  options::Group exported = select::export_table(o.exported);
  exported
      .add("select.output", o.run.selected,
           "the selected records, JSONL (default: OUTPUT stem + .selected.jsonl[.gz|.zst])")
      .path();
  groups.push_back(std::move(exported));
  groups.push_back(compare::compare_table(o.compare));
  options::Group gradients = model::gradient_table(o.gradients.numerics);
  gradients
      .add("gradients.examples", o.gradients.examples,
           "examples of --stage gradients: a seeded sample stratified over sources and the selection's clusters",
           Affects::kResults)
      .add("gradients.seed", o.gradients.numerics.seed, "seed of the sample and of the projection", Affects::kResults);
  groups.push_back(std::move(gradients));
  groups.push_back(plan_table(o.plan));
  groups.push_back(test_table(o.test));
  return groups;
}

namespace {

// INI text of a --config file or of the settings a result file records, checked and stored under
// what the command line stored (which wins); `where` names it in messages.
void store_ini(std::string_view bytes, const std::string& where, const po::options_description& table,
               po::variables_map& vm) {
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);  // a UTF-8 BOM (Windows editors save one)
  std::stringstream text{std::string(bytes)};
  reject_option_placeholders(text.str(), where);
  po::store(po::parse_config_file(text, table), vm);
}

}  // namespace

bool parse_options(int argc, char** argv, Options& options, std::string_view settings,
                   const std::string& settings_name) {
  const std::vector<options::Group> groups = option_groups(options);
  po::options_description table, visible_table;
  for (const options::Group& group : groups) {
    table.add(options::describe(group, /*include_hidden=*/true));  // files and the command line
    const bool shown =
        std::any_of(group.entries().begin(), group.entries().end(), [](const auto& e) { return !e.hidden; });
    if (shown) visible_table.add(options::describe(group, false));  // --help
  }
  std::string config;
  po::options_description generic("command line");
  generic.add_options()("help,h", "show this help")("config,c", po::value(&config),
                                                    "INI file with [section] key = value");
  po::options_description cli, visible;
  visible.add(generic).add(visible_table);
  cli.add(generic).add(table);
  options::check_arguments(argc, argv, cli);
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
      std::stringstream raw;
      raw << in.rdbuf();
      store_ini(raw.view(), "--config '" + path + "'", table, vm);
    }
    if (!settings.empty()) store_ini(settings, settings_name, table, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    const std::string where = config.empty() ? settings_name : config;
    throw ConfigError(std::string(e.what()) + (where.empty() ? "" : " (in " + where + " or on the command line)") +
                      "; see curate_dist --help");
  }
  return true;
}

std::string settings_ini(const Options& options) {
  Options copy = options;
  return options::format_ini(option_groups(copy),
                             "The settings of the curate_dist run that last wrote this file (paths absolute); "
                             "`curate_tool explain RUN.h5 ID` reads them.");
}

void validate(Options& o) {
  if (o.engine.model.empty()) throw ConfigError("model.path is required: a Hugging Face model folder");
  if (o.run.dataset.empty())
    throw ConfigError("data.path is required: a dataset (JSONL, JSON array, Parquet, or a folder of them)");
  select::validate(o.filter);
  select::validate(o.select);
  select::validate(o.exported);
  if (o.run.stage == Stage::kCompare) compare::validate(o.compare);
  if (o.run.selected.empty()) {
    std::filesystem::path stem(o.run.output);
    if (stem.extension() == ".h5" || stem.extension() == ".hdf5") stem.replace_extension();
    const data::Compression compression =
        o.exported.compress == "gz"    ? data::Compression::kGzip
        : o.exported.compress == "zst" ? data::Compression::kZstd
        : o.exported.compress == "auto" && std::filesystem::is_regular_file(o.run.dataset)
            ? data::detect_compression(o.run.dataset)
            : data::Compression::kNone;
    o.run.selected = stem.string() + ".selected.jsonl" + std::string(data::compression_suffix(compression));
  }
  if (o.run.tokenizer.empty()) o.run.tokenizer = o.engine.model;
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
  model::validate(o.gradients.numerics);
  if (o.gradients.examples < 1)
    throw ConfigError(cat("gradients.examples must be >= 1 (got ", o.gradients.examples, ")"));
  if (o.test.fake_unit_seconds < 0) throw ConfigError("test.fake_unit_seconds must not be negative");
  if (o.test.writer_delay_seconds < 0) throw ConfigError("test.writer_delay_seconds must not be negative");
  if (!(o.run.max_nan_fraction >= 0 && o.run.max_nan_fraction <= 1)) {
    throw ConfigError(cat("run.max_nan_fraction = ", o.run.max_nan_fraction, " must be between 0 and 1"));
  }
  if (o.test.fake_nan_every < 0) throw ConfigError("test.fake_nan_every must not be negative");
  const model::ScoreOptions& score = o.engine.score;
  for (const auto& [name, value, least] :
       {std::tuple<const char*, double, double>{"score.threads", o.engine.threads, 0},
        {"score.batch_tokens", static_cast<double>(score.batch_tokens), 1},
        {"score.lm_head_rows", static_cast<double>(score.lm_head_rows), 1},
        {"score.max_padding", score.max_padding, 0},
        {"run.progress_seconds", o.run.progress_seconds, 0},
        {"run.flush_seconds", o.run.flush_seconds, 0},
        {"run.worker_timeout", o.run.worker_timeout, 0}}) {
    if (!(value >= least)) throw ConfigError(cat(name, " = ", value, " must be at least ", least));
  }
  model::validate(o.engine.perturb);
  model::parse_weight_broadcast(o.engine.weight_broadcast);
  data::validate(o.data);
}

TokenLosses parse_token_losses(const std::string& text) {
  if (text == "float32") return TokenLosses::kFloat32;
  if (text == "float16") return TokenLosses::kFloat16;
  if (text == "none") return TokenLosses::kNone;
  throw ConfigError("store.token_losses = '" + text + "' is unknown: use float32, float16 or none");
}

}  // namespace curate::service
