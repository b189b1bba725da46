// curate_tool: single-process commands for inspecting models and data.
//   curate_tool nll        per-token losses of tokenized sequences
//   curate_tool make-model a random-weight model folder of a built-in shape
//   curate_tool tokenize   token ids of texts with a Hugging Face tokenizer.json
//   curate_tool check      a dataset checked and previewed as the job will read it (no model loaded)
//   curate_tool conformance  curate_dist's selection rules against a reference suite (torch-free twin:
//                          curate_conformance)
//   curate_tool bench      scoring throughput on random weights (mirrors launch/peer_bench.py)
#include <boost/program_options.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "curate/config/options.h"
#include "curate/data/commands.h"
#include "curate/data/option_tables.h"
#include "curate/job/preflight.h"
#include "curate/model/commands.h"
#include "curate/model/option_tables.h"
#include "curate/results/inspect.h"
#include "curate/select/conformance.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/option_table_boost.h"
#include "curate/util/strings.h"

namespace po = boost::program_options;
using namespace curate;

namespace {

template <typename T>
po::typed_value<T>* bind(T& field) {
  return po::value<T>(&field)->default_value(field);
}

void add_runtime(po::options_description& desc, model::RuntimeOptions& o) {
  desc.add_options()("device", bind(o.device), "cpu, cuda or cuda:N")(
      "dtype", bind(o.dtype), "compute dtype: float32, bfloat16 or float16")("threads", bind(o.threads),
                                                                             "CPU threads for torch (0 = all cores)");
}

// The [data] and prompt tables curate_dist reads (data/option_tables.h), bound to a command's structs.
// Here data.strict is a bare flag (`--data.strict`), as curate_tool has always read it.
void add_data_options(po::options_description& desc, data::DataOptions& o, data::PromptOptions& p) {
  options::Group table = data::data_table(o);
  for (options::Entry& entry : table.entries()) entry.is_switch = entry.key == "data.strict";
  desc.add(options::describe(table, false));
  desc.add(options::describe(data::prompt_table(p), false));
}

struct Command {
  std::string summary;
  std::function<void(po::options_description&)> describe;  // binds options to a settings struct
  std::function<void()> run;
};

}  // namespace

int main(int argc, char** argv) {
  model::NllOptions nll;
  model::MakeModelOptions make;
  model::BenchOptions bench;
  data::TokenizeOptions tokenize;
  data::PrepareOptions prepare;
  data::CheckOptions check;
  std::string check_config;
  std::string inspect_path;
  std::string suite_path;
  bool conformance_failed = false;
  std::string log_level = "info";

  const std::map<std::string, Command> commands = {
      {"nll",
       {"per-token losses: each input line {\"input_ids\": [...]} gains \"nll\": [len - 1 values]",
        [&](po::options_description& d) {
          d.add_options()("model", po::value(&nll.model)->required(), "Hugging Face model folder")(
              "input", po::value(&nll.input)->required(), "input JSONL (plain, .gz or .zst)")(
              "output", po::value(&nll.output)->required(), "output JSONL")("batch-tokens", bind(nll.batch_tokens),
                                                                            "padded tokens per forward batch")(
              "window-tokens", bind(nll.window_tokens), "tokens read ahead and scored together")(
              "family", bind(nll.family), "checkpoint family: base, gaussian or directional")(
              "checkpoint", bind(nll.checkpoint), "checkpoint index (1..n) of the family")(
              "perturb.target", bind(nll.target), "fine-tuned model folder (directional)")(
              "perturb.seed", bind(nll.perturb.seed), "noise seed (curate_dist's run.seed)");
          d.add(options::describe(model::perturb_table(nll.perturb), false));  // as in curate_dist
          add_runtime(d, nll.runtime);
        },
        [&] { model::run_nll(nll); }}},
      {"tokenize",
       {"token ids of texts: each input line {\"text\": ...} becomes {\"ids\": [...]} (no special tokens added)",
        [&](po::options_description& d) {
          d.add_options()("tokenizer", po::value(&tokenize.tokenizer)->required(),
                          "tokenizer.json or a model folder holding one")(
              "input", po::value(&tokenize.input)->required(), "input JSONL (plain, .gz or .zst)")(
              "output", po::value(&tokenize.output)->required(), "output JSONL")("threads", bind(tokenize.threads),
                                                                                 "encoding threads (0 = all cores)")(
              "window-bytes", bind(tokenize.window_bytes), "text read ahead and encoded together");
        },
        [&] { data::run_tokenize(tokenize); }}},
      {"prepare",
       {"read a dataset, apply the chat template and tokenize: one JSON line of ids per kept example",
        [&](po::options_description& d) {
          d.add_options()("tokenizer", po::value(&prepare.tokenizer)->required(), "model or tokenizer folder")(
              "input", po::value(&prepare.input)->required(), "dataset JSONL (plain, .gz or .zst)")(
              "output", po::value(&prepare.output)->required(), "output JSONL")(
              "report", bind(prepare.report), "skipped-records report (default OUTPUT.skipped.tsv)")(
              "threads", bind(prepare.threads), "tokenization threads (0 = all cores)");
          add_data_options(d, prepare.data, prepare.prompt);
        },
        [&] { data::run_prepare(prepare); }}},
      {"check",
       {"check a dataset before spending GPU hours: file kind, record formats, skip reasons with the first line of "
        "each, chat template and why, reasoning markers, token counts; --preview N renders N examples as scored",
        [&](po::options_description& d) {
          d.add_options()("config", bind(check_config),
                          "a curate_dist INI file: check with the job's data.*, model.tokenizer and "
                          "pass.* options (then the data.* options below are not used)")(
              "tokenizer", bind(check.tokenizer),
              "model or tokenizer folder (empty: no chat template, no token counts)")(
              "input", bind(check.input),
              "dataset: JSONL (plain, .gz, .zst), JSON array, Parquet, or a folder/glob of them")(
              "preview", bind(check.preview), "render this many examples (the first usable ones) as scored")(
              "first-tokens", bind(check.first_tokens),
              "difficulty window, marked in previews (pass.difficulty_tokens)")(
              "window-tokens", bind(check.window_tokens), "profile window, the scored window (pass.profile_tokens)")(
              "records", bind(check.max_records), "records read (0 = all)")(
              "sample", bind(check.token_sample), "usable examples tokenized for the token means")(
              "threads", bind(check.threads), "tokenization threads (0 = all cores)");
          add_data_options(d, check.data, check.prompt);
        },
        [&] {
          if (!check_config.empty()) {
            service::Options job;
            std::string arg0 = "curate_tool check", arg1 = "--config";
            char* args[] = {arg0.data(), arg1.data(), check_config.data()};
            service::parse_options(3, args, job);
            data::CheckOptions from = service::check_options(job);
            if (!check.tokenizer.empty()) from.tokenizer = check.tokenizer;
            if (!check.input.empty()) from.input = check.input;
            from.max_records = check.max_records;
            from.token_sample = check.token_sample;
            from.preview = check.preview;
            from.threads = check.threads;
            check = from;
          }
          data::run_check(check, std::cout);
        }}},
      {"conformance",
       {"run curate_dist's allocation, k rule and within-source selection on a reference suite (exit 0 when all agree)",
        [&](po::options_description& d) {
          d.add_options()("suite", po::value(&suite_path)->required(),
                          "folder with allocation.jsonl, select_given_clusters.jsonl and/or k_rule.json");
        },
        [&] { conformance_failed = select::run_conformance(suite_path, std::cout) != 0; }}},
      {"inspect",
       {"summarise a curate_dist result file: examples, passes and progress, calibration, distances",
        [&](po::options_description& d) {
          d.add_options()("file", po::value(&inspect_path)->required(), "the HDF5 result file (also positional)");
        },
        [&] { service::inspect(inspect_path, std::cout); }}},
      {"make-model",
       {"write a random-weight model folder of a built-in shape",
        [&](po::options_description& d) {
          d.add_options()("shape", bind(make.shape),
                          "tiny, tiny-qwen2, tiny-llama, qwen2.5-0.5b, qwen2.5-7b or llama3.1-8b")(
              "output", po::value(&make.output)->required(), "folder to create")(
              "dtype", bind(make.dtype), "stored dtype: float32, bfloat16 or float16")(
              "seed", bind(make.seed), "random seed")("init-std", bind(make.init_std),
                                                      "standard deviation of matrix entries")(
              "shard-bytes", bind(make.shard_bytes), "split into shards of at most this many bytes (0 = one file)");
        },
        [&] { model::run_make_model(make); }}},
      {"bench",
       {"time scoring on random weights; prints one JSON line like launch/peer_bench.py",
        [&](po::options_description& d) {
          d.add_options()("shape", bind(bench.shape), "built-in model shape")(
              "batch", bind(bench.batch), "sequences per step")("seq-len", bind(bench.seq_len),
                                                                "tokens per sequence (without --mix)")(
              "scored", bind(bench.scored), "scored positions per sequence (0 = seq-len - 1)")(
              "mix", po::bool_switch(&bench.mix), "prompts of 50-600 tokens plus --scored tokens")(
              "iters", bind(bench.iters), "timed steps")("seed", bind(bench.seed), "random seed")(
              "batch-tokens", bind(bench.batch_tokens), "scorer batch budget (0 = whole step at once)")(
              "peak-tflops", bind(bench.peak_tflops), "device peak for MFU (0 = 989, H100/H200 bf16 dense, on CUDA)")(
              "profile", bind(bench.profile), "profile one step: PATH.json (trace) and PATH.txt (where the time goes)");
          add_runtime(d, bench.runtime);
        },
        [&] { model::run_bench(bench); }}},
  };

  auto usage = [&](std::FILE* to) {
    std::fprintf(to, "usage: curate_tool COMMAND [options]   (curate_tool COMMAND --help for its options)\n\n");
    for (const auto& [name, command] : commands) {
      std::fprintf(to, "  %-11s %s\n", name.c_str(), command.summary.c_str());
    }
  };
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitConfig : kExitOk;
  }
  auto found = commands.find(argv[1]);
  if (found == commands.end()) {
    std::fprintf(stderr, "curate_tool: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return kExitConfig;
  }
  const Command& command = found->second;
  po::options_description desc("curate_tool " + found->first + " options");
  desc.add_options()("help,h", "show this help")("log-level", bind(log_level), "debug, info, warn, error or off");
  command.describe(desc);
  try {
    po::variables_map vm;
    po::positional_options_description positional;
    if (found->first == "inspect") positional.add("file", 1);
    for (int i = 2; i < argc; ++i) reject_option_placeholders(argv[i], cat("argument ", i - 1));
    reject_options_as_values(argc - 1, argv + 1, [&](std::string_view name) {
      // An ambiguous name (find_nothrow throws) is left to the parser, which reports it.
      const po::option_description* option = nullptr;
      try {
        option = desc.find_nothrow(std::string(name), false);
      } catch (const po::error&) {
        return false;
      }
      return option != nullptr && option->semantic()->max_tokens() > 0;
    });
    po::store(po::command_line_parser(argc - 1, argv + 1).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << command.summary << "\n\n" << desc << "\n";
      return kExitOk;
    }
    po::notify(vm);
    log::set_level(log::parse_level(log_level));
    command.run();
    return conformance_failed ? kExitInternal : kExitOk;  // a case that differs from the reference is a bug
  } catch (const po::error& e) {
    std::fprintf(stderr, "curate_tool %s: %s (see --help)\n", found->first.c_str(), e.what());
    return kExitConfig;
  } catch (const Error& e) {
    log::error(e.what());
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {  // creating, renaming or removing an output
    log::error(std::string(e.what()) + ": check that the folder exists, is writable and has free space");
    return kExitStore;
  } catch (const std::exception& e) {
    log::error(std::string("unexpected error: ") + e.what());
    return kExitInternal;
  }
}
