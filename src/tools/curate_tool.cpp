// curate_tool: single-process commands for inspecting models and data.
//   curate_tool nll        per-token losses of tokenized sequences
//   curate_tool make-model a random-weight model folder of a built-in shape
//   curate_tool tokenize   token ids of texts with a Hugging Face tokenizer.json
//   curate_tool prepare    a dataset tokenized with its chat template, as the job reads it
//   curate_tool check      a dataset checked and previewed as the job will read it (no model loaded)
//   curate_tool conformance  curate_dist's selection rules against a reference suite (torch-free twin:
//                          curate_conformance)
//   curate_tool inspect    a result file summarised
//   curate_tool explain    one example of a finished run, whole, and why it was or was not selected
//                          (RUN.h5 ID: with the settings the result file records)
//   curate_tool bench      scoring throughput on random weights (mirrors launch/peer_bench.py)
// Every command's options are option tables (util/option_table.h): --help, parsing and the required
// check come from them. A setting curate_dist also has goes by curate_dist's name (--model.path,
// --data.path, --model.tokenizer, --score.*, --pass.*); the command's older name stays an alias.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "curate/config/options.h"
#include "curate/data/commands.h"
#include "curate/data/option_tables.h"
#include "curate/job/preflight.h"
#include "curate/model/commands.h"
#include "curate/model/option_tables.h"
#include "curate/results/inspect.h"
#include "curate/select/conformance.h"
#include "curate/selection/explain.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/option_table_boost.h"
#include "curate/util/strings.h"

namespace po = boost::program_options;
using namespace curate;

namespace {

// Every command's settings; the tables bind their fields.
struct ToolSettings {
  model::NllOptions nll;
  model::MakeModelOptions make;
  model::BenchOptions bench;
  data::TokenizeOptions tokenize;
  data::PrepareOptions prepare;
  data::CheckOptions check;
  std::string check_config;  // check --config: a curate_dist INI file
  std::string inspect_path;
  std::string suite_path;
  std::string log_level = "info";
};

// curate_dist's [score] device, dtype and threads, with curate_tool's older names.
options::Group runtime_table(model::RuntimeOptions& o) {
  options::Group g("runtime");
  g.add("score.device", o.device, "cpu, cuda or cuda:N").alias("device");
  g.add("score.dtype", o.dtype, "compute dtype: float32, bfloat16 or float16").alias("dtype");
  g.add("score.threads", o.threads, "CPU threads for torch (0 = all cores)").alias("threads");
  return g;
}

// The [data] and prompt tables curate_dist reads (data/option_tables.h). Here data.strict is a bare
// flag (`--data.strict`), as curate_tool has always read it.
std::vector<options::Group> data_tables(data::DataOptions& o, data::PromptOptions& p) {
  options::Group table = data::data_table(o);
  for (options::Entry& entry : table.entries()) entry.is_switch = entry.key == "data.strict";
  return {std::move(table), data::prompt_table(p)};
}

options::Group nll_table(model::NllOptions& o) {
  options::Group g("nll");
  g.add("model.path", o.model, "Hugging Face model folder").alias("model").required();
  g.add("input", o.input, "input JSONL (plain, .gz or .zst)").required();
  g.add("output", o.output, "output JSONL").required();
  g.add("score.batch_tokens", o.batch_tokens, "padded tokens per forward batch").alias("batch-tokens");
  g.add("window-tokens", o.window_tokens, "tokens read ahead and scored together")
      .add("family", o.family, "checkpoint family: base, gaussian or directional")
      .add("checkpoint", o.checkpoint, "checkpoint index (1..n) of the family")
      .add("perturb.target", o.target, "fine-tuned model folder (directional)")
      .add("run.seed", o.perturb.seed, "noise seed, as curate_dist's")
      .alias("perturb.seed");
  return g;
}

options::Group tokenize_table(data::TokenizeOptions& o) {
  options::Group g("tokenize");
  g.add("model.tokenizer", o.tokenizer, "tokenizer.json or a model folder holding one").alias("tokenizer").required();
  g.add("input", o.input, "input JSONL (plain, .gz or .zst)").required();
  g.add("output", o.output, "output JSONL").required();
  g.add("threads", o.threads, "encoding threads (0 = all cores)")
      .add("window-bytes", o.window_bytes, "text read ahead and encoded together");
  return g;
}

options::Group prepare_table(data::PrepareOptions& o) {
  options::Group g("prepare");
  g.add("model.tokenizer", o.tokenizer, "model or tokenizer folder").alias("tokenizer").required();
  g.add("data.path", o.input, "dataset: JSONL (plain, .gz, .zst), JSON array, Parquet, or a folder/glob of them")
      .alias("input")
      .required();
  g.add("output", o.output, "output JSONL").required();
  g.add("report", o.report, "skipped-records report (default OUTPUT.skipped.tsv)")
      .add("threads", o.threads, "tokenization threads (0 = all cores)");
  return g;
}

options::Group check_table(data::CheckOptions& o, std::string& config) {
  options::Group g("check");
  g.add("config", config,
        "a curate_dist INI file: check with the job's data.*, model.tokenizer and pass.* options (then the data.* "
        "options below are not used)");
  g.add("model.tokenizer", o.tokenizer, "model or tokenizer folder (empty: no chat template, no token counts)")
      .alias("tokenizer");
  g.add("data.path", o.input, "dataset: JSONL (plain, .gz, .zst), JSON array, Parquet, or a folder/glob of them")
      .alias("input");
  g.add("preview", o.preview, "render this many examples (the first usable ones) as scored");
  g.add("pass.difficulty_tokens", o.first_tokens, "difficulty window, marked in previews").alias("first-tokens");
  g.add("pass.profile_tokens", o.window_tokens, "profile window, the scored window").alias("window-tokens");
  g.add("records", o.max_records, "records read (0 = all)")
      .add("sample", o.token_sample, "usable examples tokenized for the token means")
      .add("threads", o.threads, "tokenization threads (0 = all cores)");
  return g;
}

options::Group make_model_table(model::MakeModelOptions& o) {
  options::Group g("make-model");
  g.add("shape", o.shape, "tiny, tiny-qwen2, tiny-llama, qwen2.5-0.5b, qwen2.5-7b or llama3.1-8b");
  g.add("output", o.output, "folder to create").required();
  g.add("dtype", o.dtype, "stored dtype: float32, bfloat16 or float16")
      .add("seed", o.seed, "random seed")
      .add("init-std", o.init_std, "standard deviation of matrix entries")
      .add("shard-bytes", o.shard_bytes, "split into shards of at most this many bytes (0 = one file)");
  return g;
}

options::Group bench_table(model::BenchOptions& o) {
  options::Group g("bench");
  g.add("shape", o.shape, "built-in model shape")
      .add("batch", o.batch, "sequences per step")
      .add("seq-len", o.seq_len, "tokens per sequence (without --mix)")
      .add("scored", o.scored, "scored positions per sequence (0 = seq-len - 1)")
      .switch_flag("mix", o.mix, "prompts of 50-600 tokens plus --scored tokens")
      .add("iters", o.iters, "timed steps")
      .add("seed", o.seed, "random seed");
  g.add("score.batch_tokens", o.batch_tokens, "scorer batch budget (0 = whole step at once)").alias("batch-tokens");
  g.add("peak-tflops", o.peak_tflops, "device peak for MFU (0 = 989, H100/H200 bf16 dense, on CUDA)")
      .add("profile", o.profile, "profile one step: PATH.json (trace) and PATH.txt (where the time goes)");
  return g;
}

// check --config: the job's data, tokenizer and pass settings; the command line adds the tokenizer,
// the dataset and what only check has. When model.path holds a config.json, the job's model gates run
// first (service::require_model_gates) and the check counts ids against the model's vocabulary; without
// one (the model is elsewhere, or a tokenizer folder stands in) the check is of the data only.
data::CheckOptions check_from_config(const std::string& config, const data::CheckOptions& given) {
  service::Options job;
  std::string arg0 = "curate_tool check", arg1 = "--config", path = config;
  char* args[] = {arg0.data(), arg1.data(), path.data()};
  service::parse_options(3, args, job);
  data::CheckOptions from = service::check_options(job);
  if (std::filesystem::exists(std::filesystem::path(job.engine.model) / "config.json"))  // a data-only check otherwise
    from.vocab_size = service::require_model_gates(job).vocab_size;
  if (!given.tokenizer.empty()) from.tokenizer = given.tokenizer;
  if (!given.input.empty()) from.input = given.input;
  from.max_records = given.max_records;
  from.token_sample = given.token_sample;
  from.preview = given.preview;
  from.threads = given.threads;
  return from;
}

// explain RUN.h5 [ID] (the settings the result file records) or explain --config run.ini; --id ID or
// --line N either way, then any --section.key value over the settings. Returns the exit code; prints
// help for --help.
int run_explain(int argc, char** argv) {
  service::ExplainOptions which;
  std::string result;
  int k = 1;
  if (k < argc && argv[k][0] != '-') result = argv[k++];  // RUN.h5, then its ID
  if (!result.empty() && k < argc && argv[k][0] != '-') which.id = argv[k++];
  std::vector<char*> rest{argv[0]};
  for (; k < argc; ++k) {
    const std::string arg = argv[k];
    const auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (arg.starts_with(name + "=")) return arg.substr(name.size() + 1);
      if (arg == name && k + 1 < argc) return std::string(argv[++k]);
      if (arg == name) throw ConfigError(name + " needs a value");
      return std::nullopt;
    };
    if (const auto id = value("--id")) {
      if (!which.id.empty())
        throw ConfigError("explain: the id is given twice ('" + which.id + "' and --id " + *id + ")");
      which.id = *id;
    } else if (const auto line = value("--line")) {
      std::size_t used = 0;
      try {
        which.line = std::stoll(*line, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != line->size() || which.line <= 0)
        throw ConfigError("--line " + *line + " is not a line number (1, 2, ...)");
    } else {
      rest.push_back(argv[k]);
    }
  }
  const auto asked = [&](const char* flag) {
    return std::any_of(rest.begin() + 1, rest.end(), [&](const char* a) { return std::string(a) == flag; });
  };
  if (asked("--help") || asked("-h")) {
    std::cout << "curate_tool explain RUN.h5 ID [--section.key value ...]\n"
                 "curate_tool explain RUN.h5 (--id ID | --line N) [--section.key value ...]\n"
                 "curate_tool explain --config run.ini (--id ID | --line N) [--section.key value ...]\n\n"
                 "one example of a finished run, whole: its text, token counts, difficulty loss, profile means, "
                 "cluster, score, rank in its cluster, allocation row, and why the latest selection took it or "
                 "not.\n  RUN.h5     the result file: the run's settings are the ones it records (every curate_dist "
                 "run that writes it records them, paths absolute)\n"
                 "  ID, --id ID  the example's id (data.id_field's value, or its line number)\n"
                 "  --line N   its 1-based line in the dataset\n"
                 "The run's settings are curate_dist's (curate_dist --help): --config and --section.key value, over "
                 "RUN.h5's recorded ones (--data.path PATH when the dataset moved).\n";
    return kExitOk;
  }
  service::Options job;
  if (!result.empty()) {
    job = service::recorded_settings(result, static_cast<int>(rest.size()), rest.data());
  } else {
    service::parse_options(static_cast<int>(rest.size()), rest.data(), job);
    service::validate(job);
  }
  service::explain(job, which, std::cout);
  return kExitOk;
}

struct Command {
  std::string summary;
  std::function<std::vector<options::Group>()> tables;  // bound to the command's settings
  std::function<int()> run;                             // the exit code
  std::string positional;                               // the key a bare argument fills, if any
  std::function<int(int, char**)> raw;                  // set: parses its own arguments (argv[0] its name)
};

std::map<std::string, Command> commands(ToolSettings& s) {
  const auto ok = [](const std::function<void()>& run) {
    return [run] {
      run();
      return int{kExitOk};
    };
  };
  std::map<std::string, Command> c;
  c["nll"] = {"per-token losses: each input line {\"input_ids\": [...]} gains \"nll\": [len - 1 values]",
              [&] {
                return std::vector<options::Group>{nll_table(s.nll), model::perturb_table(s.nll.perturb),
                                                   runtime_table(s.nll.runtime)};
              },
              ok([&] { model::run_nll(s.nll); }), ""};
  c["tokenize"] = {
      "token ids of texts: each input line {\"text\": ...} becomes {\"ids\": [...]} (no special tokens "
      "added)",
      [&] { return std::vector<options::Group>{tokenize_table(s.tokenize)}; },
      ok([&] { data::run_tokenize(s.tokenize); }), ""};
  c["prepare"] = {"read a dataset, apply the chat template and tokenize: one JSON line of ids per kept example",
                  [&] {
                    std::vector<options::Group> t = data_tables(s.prepare.data, s.prepare.prompt);
                    t.insert(t.begin(), prepare_table(s.prepare));
                    return t;
                  },
                  ok([&] { data::run_prepare(s.prepare); }), ""};
  c["check"] = {
      "check a dataset before spending GPU hours: file kind, record formats, skip reasons with the first "
      "line of each, chat template and why, reasoning markers, token counts; --preview N renders N "
      "examples as scored",
      [&] {
        std::vector<options::Group> t = data_tables(s.check.data, s.check.prompt);
        t.insert(t.begin(), check_table(s.check, s.check_config));
        return t;
      },
      ok([&] {
        if (!s.check_config.empty()) s.check = check_from_config(s.check_config, s.check);
        data::run_check(s.check, std::cout);
      }),
      ""};
  c["conformance"] = {
      "run curate_dist's allocation, k rule and within-source selection on a reference suite (exit 0 when all agree)",
      [&] {
        options::Group g("conformance");
        g.add("suite", s.suite_path, "folder with allocation.jsonl, select_given_clusters.jsonl and/or k_rule.json")
            .required();
        return std::vector<options::Group>{g};
      },
      // A case that differs from the reference is a bug.
      [&] { return select::run_conformance(s.suite_path, std::cout) != 0 ? int{kExitInternal} : int{kExitOk}; }, ""};
  c["inspect"] = {"summarise a curate_dist result file: examples, passes and progress, calibration, distances",
                  [&] {
                    options::Group g("inspect");
                    g.add("file", s.inspect_path, "the HDF5 result file (also positional)").required();
                    return std::vector<options::Group>{g};
                  },
                  ok([&] { service::inspect(s.inspect_path, std::cout); }), "file"};
  c["explain"] = {
      "one example of a finished run, whole (explain RUN.h5 ID, or --config run.ini --id ID or --line N): its "
      "text, tokens, losses, cluster, score and why the latest selection took it or not",
      {},
      {},
      "",
      run_explain};
  c["make-model"] = {"write a random-weight model folder of a built-in shape",
                     [&] { return std::vector<options::Group>{make_model_table(s.make)}; },
                     ok([&] { model::run_make_model(s.make); }), ""};
  c["bench"] = {"time scoring on random weights; prints one JSON line like launch/peer_bench.py",
                [&] {
                  return std::vector<options::Group>{bench_table(s.bench), runtime_table(s.bench.runtime)};
                },
                ok([&] { model::run_bench(s.bench); }), ""};
  return c;
}

void usage(const std::map<std::string, Command>& all, std::FILE* to) {
  std::fprintf(to, "usage: curate_tool COMMAND [options]   (curate_tool COMMAND --help for its options)\n\n");
  for (const auto& [name, command] : all) std::fprintf(to, "  %-11s %s\n", name.c_str(), command.summary.c_str());
}

// Parses the command's arguments (argv[0] is the command's name) into its settings; returns false
// after printing --help. Throws ConfigError or po::error for bad arguments.
bool parse(const std::string& name, const Command& command, const std::vector<options::Group>& tables,
           std::string& log_level, int argc, char** argv) {
  po::options_description desc("curate_tool " + name + " options");
  desc.add_options()("help,h", "show this help")("log-level", po::value(&log_level)->default_value(log_level),
                                                 "debug, info, warn, error or off");
  for (const options::Group& table : tables) desc.add(options::describe(table, false));
  options::check_arguments(argc, argv, desc);
  po::positional_options_description positional;
  if (!command.positional.empty()) positional.add(command.positional.c_str(), 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(desc).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << command.summary << "\n\n" << desc << "\n";
    return false;
  }
  po::notify(vm);
  options::check_required(tables, vm);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  ToolSettings settings;
  const std::map<std::string, Command> all = commands(settings);
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(all, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitConfig : kExitOk;
  }
  const auto found = all.find(argv[1]);
  if (found == all.end()) {
    std::fprintf(stderr, "curate_tool: unknown command '%s'\n\n", argv[1]);
    usage(all, stderr);
    return kExitConfig;
  }
  try {
    if (found->second.raw) return found->second.raw(argc - 1, argv + 1);
    const std::vector<options::Group> tables = found->second.tables();
    if (!parse(found->first, found->second, tables, settings.log_level, argc - 1, argv + 1)) return kExitOk;
    log::set_level(log::parse_level(settings.log_level));
    return found->second.run();
  } catch (const po::error& e) {
    std::fprintf(stderr, "curate_tool %s: %s (see --help)\n", found->first.c_str(), e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    return log::exit_code_logged(e);
  }
}
