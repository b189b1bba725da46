#include "compare/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "compare/page.h"
#include "curate/data/dataset.h"
#include "curate/data/option_tables.h"
#include "curate/results/fingerprint.h"
#include "curate/select/export.h"
#include "curate/select/select.h"
#include "curate/store/journal.h"
#include "curate/util/atomic_file.h"
#include "curate/util/error.h"
#include "curate/util/hash.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "report/report_gather.h"
#include "results/example_status.h"
#include "results/layout.h"
#include "results/output_files.h"
#include "selection/columns.h"
#include "selection/output_checks.h"
#include "selection/selection_outputs.h"

namespace curate::compare {
namespace {

namespace fs = std::filesystem;
using service::Options;

// The result file's columns, checked as --stage select checks them (same dataset and scoring settings).
Columns read_result_columns(const store::H5File& f, const Options& options, const service::RunFiles& run) {
  service::InputContent content;
  content.dataset = data::load_or_build_index(options.run.dataset, run.index).content;
  std::vector<std::string> ignored = service::kModelContentKeys;
  ignored.insert(ignored.end(), {"score.device", "score.dtype", "score.threads"});
  const std::string differs =
      service::explain_difference(f.string_attribute(service::layout::kRoot, service::layout::attr::kFingerprint), "",
                                  service::fingerprint(options, content), "", ignored);
  if (!differs.empty()) {
    throw ConfigError(options.run.output + " was scored with a different configuration: " + differs);
  }
  Columns c;
  c.in = service::read_columns(f);
  c.scored.resize(c.in.records());
  for (std::size_t i = 0; i < c.in.records(); ++i) {
    c.scored[i] = service::example_ok(c.in.status[i]) && std::isfinite(c.in.difficulty[i]) ? 1 : 0;
  }
  for (service::Pass pass : {service::Pass::kCalibration, service::Pass::kDifficulty, service::Pass::kProfile}) {
    if (auto cost = service::layout::read_pass_cost(f, pass)) {
      c.pass_scored_tokens[std::string(service::pass_name(pass))] = cost->scored_tokens;
    }
  }
  return c;
}

std::string selection_name(select::SelectMethod method, uint64_t seed, bool with_seed) {
  const std::string name = select::select_method_name(method);
  return with_seed ? cat(name, "-s", seed) : name;
}

// The outputs must never be an input: the folder holds none of the run's inputs, and is a folder.
void check_folder(const Options& options, const fs::path& folder) {
  if (fs::exists(folder) && !fs::is_directory(folder)) {
    throw ConfigError(cat("compare.output '", folder.string(), "' exists and is not a folder: give another one"));
  }
  const fs::path canonical = fs::weakly_canonical(folder);
  for (const std::string& input : {options.run.dataset, options.run.output, options.compare.eval_path}) {
    if (input.empty()) continue;
    const fs::path p = fs::weakly_canonical(input);
    if (std::mismatch(canonical.begin(), canonical.end(), p.begin(), p.end()).first == canonical.end()) {
      throw ConfigError(cat("compare.output '", folder.string(), "' holds the input '", input,
                            "': its files would be replaced; give another compare.output"));
    }
  }
}

std::string ids_text(const Columns& c, std::span<const std::size_t> positions) {
  std::string text;
  for (std::size_t p : positions) text += select::tsv_escape(c.in.id[p]) + "\n";
  return text;
}

// The settings launch/ab/ab.py needs: models, data options for curate_tool prepare, hyperparameters, tasks.
nlohmann::json ab_plan(const Options& options, const std::vector<Selection>& selections, bool heldout) {
  const CompareOptions& o = options.compare;
  nlohmann::json prepare = nlohmann::json::array();
  Options copy = options;
  for (const options::Group& group : {data::data_table(copy.data), data::prompt_table(copy.prompt)}) {
    for (const options::Entry& e : group.entries()) {
      // data.strict is a bare flag of curate_tool prepare: an evaluation record that does not parse is skipped
      if (!e.hidden && e.key != "data.strict") prepare.push_back({e.key, options::value_text(e.field)});
    }
  }
  nlohmann::json tasks = nlohmann::json::array();
  const std::vector<select::SelectMethod> methods = parse_methods(o.methods);
  for (select::SelectMethod method : methods) {
    for (int s = 0; s < o.seeds; ++s) {
      const uint64_t seed = options.select.seed + static_cast<uint64_t>(s);
      // The data of this task: the method's selection for this seed (or its one selection when unseeded).
      const std::string wanted = selection_name(method, seed, seeded(method));
      auto it =
          std::find_if(selections.begin(), selections.end(), [&](const Selection& x) { return x.name == wanted; });
      auto data = it;  // the selection whose files hold these records
      if (!it->same_as.empty()) {
        data = std::find_if(selections.begin(), selections.end(),
                            [&](const Selection& x) { return x.name == it->same_as; });
      }
      tasks.push_back({{"name", cat(select::select_method_name(method), "-s", seed)},
                       {"method", select::select_method_name(method)},
                       {"seed", seed},
                       {"dataset", data->dataset_name}});
    }
  }
  nlohmann::json eval = nlohmann::json::array();
  if (!o.eval_path.empty()) {
    eval.push_back({{"name", "benchmark"}, {"path", fs::absolute(o.eval_path).string()}, {"primary", true}});
  }
  if (heldout) eval.push_back({{"name", "heldout"}, {"path", "heldout.jsonl"}, {"primary", o.eval_path.empty()}});
  return {{"model", fs::absolute(options.engine.model).string()},
          {"tokenizer", fs::absolute(options.run.tokenizer).string()},
          {"prepare", prepare},
          {"difficulty_tokens", options.pass.difficulty_tokens},
          {"profile_tokens", options.pass.profile_tokens},
          {"answer_field", o.answer_field},
          {"extractor", o.extractor},
          {"finetuning_type", o.finetuning_type},
          {"epochs", o.epochs},
          {"learning_rate", o.learning_rate},
          {"template", o.template_name},
          {"batch_size", o.batch_size},
          {"gradient_accumulation", o.gradient_accumulation},
          {"cutoff_len", o.cutoff_len},
          {"lora_rank", o.lora_rank},
          {"max_new_tokens", o.max_new_tokens},
          {"bootstrap", o.bootstrap},
          {"device", o.device},
          {"eval_sets", eval},
          {"tasks", tasks}};
}

// Every setting of this run as (key, value text), so that launch/ab/ab.py can rerun the stage exactly.
nlohmann::json option_list(const Options& options) {
  Options copy = options;
  nlohmann::json out = nlohmann::json::array();
  for (const options::Group& group : service::option_groups(copy)) {
    for (const options::Entry& e : group.entries()) {
      if (!e.hidden && !e.is_switch && e.key != "stage") out.push_back({e.key, options::value_text(e.field)});
    }
  }
  return out;
}

}  // namespace

std::vector<std::size_t> draw_heldout(std::span<const int32_t> source, std::span<const uint8_t> scored,
                                      std::span<const std::string> source_names, int64_t wanted, uint64_t seed) {
  std::vector<std::vector<std::size_t>> members(source_names.size());
  int64_t total = 0;
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (scored[i]) members.at(static_cast<std::size_t>(source[i])).push_back(i), ++total;
  }
  if (wanted <= 0) return {};
  if (wanted >= total) {
    throw ConfigError(cat("compare.eval_examples = ", wanted, " leaves nothing to select from: the result file has ",
                          total, " scored records; give fewer (or 0 for no held-out split)"));
  }
  std::vector<int64_t> quota(members.size());
  std::vector<std::pair<double, std::size_t>> remainders;  // (-fraction, source): largest fraction first
  int64_t given = 0;
  for (std::size_t s = 0; s < members.size(); ++s) {
    const double exact =
        static_cast<double>(wanted) * static_cast<double>(members[s].size()) / static_cast<double>(total);
    quota[s] = static_cast<int64_t>(std::floor(exact));
    given += quota[s];
    remainders.emplace_back(-(exact - std::floor(exact)), s);
  }
  std::sort(remainders.begin(), remainders.end());
  for (std::size_t k = 0; given < wanted && k < remainders.size(); ++k, ++given) ++quota[remainders[k].second];
  std::vector<std::size_t> out;
  for (std::size_t s = 0; s < members.size(); ++s) {
    std::vector<std::size_t>& m = members[s];
    std::mt19937_64 rng(hash_seed(seed, source_names[s]));
    for (int64_t k = 0; k < quota[s]; ++k) {
      const std::size_t left = m.size() - static_cast<std::size_t>(k);
      std::swap(m[static_cast<std::size_t>(k)], m[static_cast<std::size_t>(k) + rng() % left]);
      out.push_back(m[static_cast<std::size_t>(k)]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

double jaccard(std::span<const int64_t> a, std::span<const int64_t> b) {
  if (a.empty() && b.empty()) return 1.0;
  std::vector<int64_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return static_cast<double>(both.size()) / static_cast<double>(a.size() + b.size() - both.size());
}

void run_compare(const Options& options, const comm::Comm& comm) {
  if (comm.rank() != 0) return;  // the selections are cheap: rank 0 makes them all, whatever the rank count
  validate(options.compare);
  const CompareOptions& o = options.compare;
  const service::RunFiles run = service::RunFiles::of(options.run.output);
  const fs::path folder = o.output.empty() ? fs::path(run.stem + ".compare") : fs::path(o.output);
  check_folder(options, folder);
  const store::RunLock lock(run.lock);
  const store::H5File file = store::H5File::open(run.result, /*writable=*/false);
  const Columns columns = read_result_columns(file, options, run);
  const std::vector<std::size_t> heldout =
      draw_heldout(columns.in.source.ids, columns.scored, columns.in.source.names, o.eval_examples, o.eval_seed);
  service::SelectionColumns pool = columns.in;  // every method selects from the same pool: the held-out rows are out
  for (std::size_t i : heldout) pool.candidate[i] = 0;
  const std::vector<std::string> checkpoints = service::layout::checkpoint_names(file, service::Pass::kProfile);
  select::ExportOptions exported = options.exported;
  exported.compress = "none";  // LLaMA-Factory reads plain .jsonl files
  const service::RecordSource source{options.run.dataset, run.index, options.data, exported};
  fs::create_directories(folder);

  // Each distinct selection is a whole selection of its own (output_files.h: NAME.selected.jsonl, ids,
  // scores, summary, report, NAME.selection.h5, its dataset_info.json entry), written as it is made.
  std::vector<Selection> selections;
  for (select::SelectMethod method : parse_methods(o.methods)) {
    const int runs = seeded(method) ? o.seeds : 1;
    for (int s = 0; s < runs; ++s) {
      Options run_options = options;  // the report lists this selection's method and seed
      select::SelectOptions& so = run_options.select;
      so.method = method;
      so.seed = options.select.seed + static_cast<uint64_t>(s);
      const auto start = std::chrono::steady_clock::now();
      const select::SelectResult result = select::select(pool.select_input(), pool.source.names, pool.domain.names, so);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      Selection x{
          selection_name(method, so.seed, seeded(method)), method, so.seed, result.selected, "", result.shortfall};
      for (const Selection& earlier : selections) {
        if (earlier.method == method && earlier.same_as.empty() && earlier.selected == x.selected) {
          x.same_as = earlier.name;
          x.file = earlier.file, x.ids = earlier.ids, x.report = earlier.report, x.dataset_name = earlier.dataset_name;
        }
      }
      if (x.same_as.empty()) {
        const service::SelectionFiles files =
            service::SelectionFiles::of((folder / (x.name + ".selected.jsonl")).string());
        const report::ReportData report = service::gather_report(file, service::report_settings(run_options, run), pool,
                                                                 result, files, run.result, seconds, 1);
        service::write_selection_outputs(files, run.result, pool, checkpoints, result, so, source, report);
        x.file = files.selected.filename().string();
        x.ids = files.ids.filename().string();
        x.report = files.report.filename().string();
        x.dataset_name = files.dataset_name;
      }
      log::info(cat("compare: ", x.name, " selects ", x.selected.size(), " records",
                    x.same_as.empty() ? " -> " + (folder / x.file).string() : " (the same as " + x.same_as + ")"));
      selections.push_back(std::move(x));
    }
  }

  // The held-out split, the page and its JSON, staged and renamed together.
  StagedFiles staged;
  const service::FolderLock folder_lock(folder, 120);  // dataset_info.json is shared with the selections above
  std::string info;
  if (fs::exists(folder / "dataset_info.json")) {
    std::ifstream in(folder / "dataset_info.json", std::ios::binary);
    info.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (!heldout.empty()) {
    const fs::path records = folder / "heldout.jsonl";
    const auto shape = service::write_selected_records(source, heldout, staged.stage(records));
    staged.write(folder / "heldout.ids.txt", ids_text(columns, heldout));
    info = select::merge_dataset_info(info, "heldout", records.filename().string(), shape);
    staged.write(folder / "dataset_info.json", info);
  }
  nlohmann::json ab_results;
  if (fs::exists(folder / "ab" / "results.json")) {
    std::ifstream in(folder / "ab" / "results.json");
    try {
      ab_results = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(cat((folder / "ab" / "results.json").string(), " is not valid JSON (", e.what(),
                          "): rerun launch/ab.sh to write it again"));
    }
  }
  PageInput page{options,   columns,         selections,
                 heldout,   folder.string(), ab_plan(options, selections, !heldout.empty()),
                 ab_results};
  nlohmann::json summary = compare_json(page);
  summary["options"] = option_list(options);
  staged.write(folder / "compare.json", summary.dump(2) + "\n");
  staged.write(folder / "compare.html", compare_html(page, summary));
  staged.commit();
  log::info(cat("compare: ", selections.size(), " selection(s) of ", parse_methods(o.methods).size(), " method(s), ",
                heldout.size(), " held-out record(s) -> ", (folder / "compare.html").string(), " and ",
                (folder / "compare.json").string(), "; A/B fine-tune: launch/ab.sh ", folder.string()));
}

}  // namespace curate::compare
