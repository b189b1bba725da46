#include "reduce.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>

#include "curate/data/dataset.h"
#include "curate/dist/wire.h"
#include "curate/store/journal.h"
#include "curate/select/export.h"
#include "curate/select/filter.h"
#include "curate/select/report.h"
#include "curate/select/select.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "run_file.h"
#include "worker.h"

namespace curate::service {
namespace {

bool pass_complete(const store::H5File& f, const std::string& group) {
  if (!f.exists(group + "/done")) return false;
  const std::vector<uint8_t> done = f.read_u8(group + "/done");
  return !done.empty() && std::all_of(done.begin(), done.end(), [](uint8_t d) { return d == 1; });
}

// Ids of `values` into their sorted distinct names.
std::vector<int32_t> name_ids(const std::vector<std::string>& values, std::vector<std::string>& names) {
  std::set<std::string> distinct(values.begin(), values.end());
  names.assign(distinct.begin(), distinct.end());
  std::vector<int32_t> ids(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    ids[i] = static_cast<int32_t>(std::lower_bound(names.begin(), names.end(), values[i]) - names.begin());
  }
  return ids;
}

class MpiRowSharing final : public select::RowSharing {
 public:
  explicit MpiRowSharing(const dist::Comm& comm) : comm_(comm) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void allgather(std::span<int32_t> assign) const override {
    std::vector<int64_t> first;
    for (int r = 0; r < comm_.size(); ++r) first.push_back(select::row_range(static_cast<int64_t>(assign.size()), r, comm_.size()).first);
    first.push_back(static_cast<int64_t>(assign.size()));
    comm_.allgather(assign, first);
  }

 private:
  const dist::Comm& comm_;
};

// What every rank needs for the selection: per-example arrays of N examples, C profile checkpoints.
struct Inputs {
  int64_t checkpoints = 0;
  std::vector<std::string> source_names, domain_names;
  std::vector<int32_t> source, domain;
  std::vector<uint8_t> kept;
  std::vector<int64_t> reasoning_tokens, full_length;
  std::vector<float> difficulty, mean_loss, mean_loss_first;  // [N], [C, N], [C, N]
};

void broadcast_names(const dist::Comm& comm, std::vector<std::string>& names) {
  dist::Writer writer;
  writer.put<uint64_t>(names.size());
  for (const auto& name : names) writer.put(name);
  std::vector<std::byte> bytes = writer.bytes();
  comm.broadcast_bytes(bytes);
  dist::Reader reader(bytes);
  names.resize(reader.get<uint64_t>());
  for (auto& name : names) name = reader.get_string();
}

void broadcast(const dist::Comm& comm, Inputs& in) {
  std::vector<int64_t> c{in.checkpoints};
  comm.broadcast(c);
  in.checkpoints = c.at(0);
  broadcast_names(comm, in.source_names);
  broadcast_names(comm, in.domain_names);
  comm.broadcast(in.source), comm.broadcast(in.domain), comm.broadcast(in.kept);
  comm.broadcast(in.reasoning_tokens), comm.broadcast(in.full_length);
  comm.broadcast(in.difficulty), comm.broadcast(in.mean_loss), comm.broadcast(in.mean_loss_first);
}

Inputs read_inputs(const store::H5File& f) {
  const std::string path = f.path().string();
  for (const char* pass : {"/difficulty", "/profile"}) {
    if (!pass_complete(f, pass)) {
      throw ConfigError(cat("the selection needs a complete ", pass + 1, " pass, and ", path, " has none: run --stage all "
                            "(or the missing pass) first"));
    }
  }
  Inputs in;
  const std::vector<uint64_t> dims = f.dims("/profile/mean_loss");
  in.checkpoints = static_cast<int64_t>(dims.at(0));
  in.source = name_ids(f.read_strings("/examples/source"), in.source_names);
  in.domain = name_ids(f.read_strings("/examples/domain"), in.domain_names);
  in.kept = f.exists("/filter/kept") ? f.read_u8("/filter/kept") : std::vector<uint8_t>();
  const std::vector<uint8_t> status = f.read_u8("/examples/status");
  if (in.kept.size() != status.size()) throw StoreError(path + ": /filter/kept is missing or has the wrong size; rerun the profile stage");
  for (std::size_t i = 0; i < status.size(); ++i) in.kept[i] = in.kept[i] && status[i] == 0;
  in.reasoning_tokens = f.read_i64("/examples/reasoning_tokens");
  in.full_length = f.read_i64("/examples/full_length");
  in.difficulty = f.read_f32("/difficulty/mean_loss");  // [1, N]
  in.mean_loss = f.read_f32("/profile/mean_loss");
  in.mean_loss_first = f.read_f32("/profile/mean_loss_first");
  return in;
}

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw StoreError("cannot write " + temporary.string() + ": check the free space and permissions of its folder");
  }
  std::filesystem::rename(temporary, path);
}

// The selected records, as ShareGPT lines, in the order of `positions`.
std::string selected_records(const Options& options, std::span<const std::size_t> positions) {
  const data::RecordIndex index = data::load_or_build_index(options.run.dataset, index_cache_path(options));
  std::string out;
  for (const data::ParseResult& record : data::read_records(options.run.dataset, index, positions, options.data)) {
    if (!record.example) throw DataError(options.run.dataset + " changed since it was scored: a selected record no longer parses");
    out += select::to_sharegpt(*record.example) + "\n";
  }
  return out;
}

void merge_dataset_info(const std::filesystem::path& selected) {
  const std::filesystem::path info = selected.parent_path() / "dataset_info.json";
  nlohmann::json all = nlohmann::json::object();
  if (std::filesystem::exists(info)) {
    std::ifstream in(info);
    all = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!all.is_object()) throw DataError(info.string() + " is not a JSON object; move it away to let curate_dist write its entry");
  }
  std::string name = selected.filename().string();
  if (name.size() > 6 && name.ends_with(".jsonl")) name.resize(name.size() - 6);
  all.update(nlohmann::json::parse(select::dataset_info_entry(name, selected.filename().string())));
  write_atomically(info, all.dump(2) + "\n");
}

void write_selection_file(const std::filesystem::path& path, const std::vector<int64_t>& ids, const Options& options,
                          const Inputs& in, const select::SelectResult& result) {
  const auto n = static_cast<uint64_t>(in.source.size());
  store::H5File f = store::H5File::create(path);
  std::vector<int64_t> selected_ids, cluster(in.source.size());
  for (int64_t i : result.selected) selected_ids.push_back(ids[static_cast<std::size_t>(i)]);
  std::transform(result.cluster.begin(), result.cluster.end(), cluster.begin(), [](int32_t c) { return int64_t{c}; });
  const auto s = static_cast<uint64_t>(selected_ids.size());
  f.create_i64("/selection/selected", {s});
  if (s) f.write("/selection/selected", {0}, {s}, std::span<const int64_t>(selected_ids));
  f.create_i64("/selection/cluster", {n});
  f.write("/selection/cluster", {0}, {n}, std::span<const int64_t>(cluster));
  f.create_f32("/selection/score", {n}, {std::max<uint64_t>(n, 1)});
  f.write("/selection/score", {0}, {n}, std::span<const float>(result.score));
  f.create_u8("/selection/candidate", {n});
  f.write("/selection/candidate", {0}, {n}, std::span<const uint8_t>(in.kept));
  std::string table = "level\tdomain\tsource\texamples\tscore\tshare\tallocated";
  for (const auto& row : result.allocation) {
    table += cat("\n", row.level, "\t", in.domain_names[static_cast<std::size_t>(row.domain)], "\t",
                 row.source >= 0 ? in.source_names[static_cast<std::size_t>(row.source)] : "", "\t", row.examples, "\t",
                 row.score, "\t", row.share, "\t", row.allocated);
  }
  f.set_attribute("/selection", "allocation", table);
  f.set_attribute("/selection", "method", options.select.method);
  f.set_attribute("/selection", "budget", options.select.token_budget > 0 ? options.select.token_budget : options.select.budget);
  f.set_attribute("/selection", "budget_unit", options.select.token_budget > 0 ? "tokens" : "examples");
  f.set_attribute("/selection", "seed", static_cast<int64_t>(options.select.seed));
  f.flush();
}

// Writes STEM.selection.h5 under a temporary name, then renames it: a kill leaves the previous one.
void write_selection(const store::H5File& results, const Options& options, const Inputs& in,
                     const select::SelectResult& result) {
  const std::filesystem::path target = selection_path(options.run.output), temporary = target.string() + ".tmp";
  write_selection_file(temporary, results.read_i64("/examples/id"), options, in, result);
  std::filesystem::rename(temporary, target);
}

select::ReportData report_data(const store::H5File& f, const Options& options, const Inputs& in,
                               const select::SelectResult& result) {
  select::ReportData r;
  const std::size_t n = in.source.size();
  const auto c = static_cast<std::size_t>(in.checkpoints);
  r.model = options.run.model;
  r.dataset = options.run.dataset;
  r.method = options.select.method;
  r.budget = options.select.token_budget > 0 ? cat(options.select.token_budget, " tokens") : cat(options.select.budget, " examples");
  r.seed = std::to_string(options.select.seed);
  const std::vector<uint8_t> status = f.read_u8("/examples/status");
  std::vector<uint8_t> chosen(n, 0);
  for (int64_t i : result.selected) chosen[static_cast<std::size_t>(i)] = 1;
  std::map<std::pair<int32_t, int32_t>, std::pair<int64_t, bool>> clusters;  // (source, cluster) -> size, has selected
  std::map<std::pair<int32_t, int32_t>, int64_t> taken;                      // (domain, source) -> selected
  for (std::size_t i = 0; i < n; ++i) {
    if (status[i] == 0) ++r.examples;
    else ++r.skipped[std::string(data::skip_reason_name(static_cast<data::SkipReason>(status[i] - 1)))];
    if (!in.kept[i]) continue;
    ++r.kept;
    r.difficulty_all.push_back(in.difficulty[i]);
    if (result.cluster[i] >= 0) {
      auto& entry = clusters[{in.source[i], result.cluster[i]}];
      ++entry.first;
      entry.second = entry.second || chosen[i];
    }
    if (chosen[i]) r.difficulty_selected.push_back(in.difficulty[i]), ++taken[{in.domain[i], in.source[i]}];
  }
  r.selected = static_cast<int64_t>(result.selected.size());
  for (const auto& [key, entry] : clusters) {
    r.cluster_sizes.push_back(entry.first);
    if (entry.second) r.selected_cluster_sizes.push_back(entry.first);
  }
  double total = 0;
  for (const auto& row : result.allocation) total += row.level == "domain" ? static_cast<double>(row.allocated) : 0;
  std::map<int32_t, int64_t> domain_allocated;
  for (const auto& row : result.allocation) {
    if (row.level == "domain") domain_allocated[row.domain] = row.allocated;
  }
  for (const auto& row : result.allocation) {
    select::AllocationLine line{row.level, in.domain_names[static_cast<std::size_t>(row.domain)],
                                row.source >= 0 ? in.source_names[static_cast<std::size_t>(row.source)] : "", row.examples,
                                row.score, 0, 0};
    const double parent = row.level == "domain" ? total : static_cast<double>(domain_allocated[row.domain]);
    line.share = parent > 0 ? row.share / parent : 0;
    for (const auto& [group, count] : taken) {
      if (group.first == row.domain && (row.source < 0 || group.second == row.source)) line.allocated += count;
    }
    r.allocation.push_back(line);
  }
  const bool directional = f.exists("/profile/distance");
  const std::vector<float> x = f.read_f32(directional ? "/profile/distance" : "/profile/noise_std");
  r.distance.assign(x.begin(), x.end());
  if (!directional) r.distance_label = "Gaussian noise std";
  for (std::size_t k = 0; k < c; ++k) {
    double all = 0, sel = 0;
    int64_t n_all = 0, n_sel = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const float v = in.mean_loss[k * n + i];
      if (!in.kept[i] || !std::isfinite(v)) continue;
      all += v, ++n_all;
      if (chosen[i]) sel += v, ++n_sel;
    }
    r.mean_all.push_back(n_all ? all / static_cast<double>(n_all) : std::nan(""));
    r.mean_selected.push_back(n_sel ? sel / static_cast<double>(n_sel) : std::nan(""));
  }
  return r;
}

}  // namespace

std::vector<uint64_t> apply_difficulty_filter(store::H5File& file, const select::FilterOptions& options, uint64_t records) {
  if (!pass_complete(file, "/difficulty")) {
    throw ConfigError("the profile pass scores the examples the difficulty filter keeps, and " + file.path().string() +
                      " has no complete difficulty pass: run --stage difficulty (or all) first");
  }
  const std::vector<uint8_t> status = file.read_u8("/examples/status");
  std::vector<float> difficulty = file.read_f32("/difficulty/mean_loss");
  difficulty.resize(records);
  for (std::size_t i = 0; i < records; ++i) {
    if (status[i] != 0) difficulty[i] = std::nanf("");
  }
  std::vector<std::string> names;
  const std::vector<int32_t> source = name_ids(file.read_strings("/examples/source"), names);
  const std::vector<uint8_t> kept = select::difficulty_filter(difficulty, source, options);
  const int64_t count = std::count(kept.begin(), kept.end(), uint8_t{1});
  if (!file.exists("/filter/kept") || file.read_u8("/filter/kept") != kept) {
    file.remove("/filter");
    file.create_u8("/filter/kept", {records});
    file.write("/filter/kept", {0}, {records}, std::span<const uint8_t>(kept));
    file.set_attribute("/filter", "method", options.method);
    file.set_attribute("/filter", "kept", count);
    file.flush();
  }
  int64_t scored = 0;
  std::set<int32_t> sources;
  for (std::size_t i = 0; i < records; ++i) {
    if (std::isfinite(difficulty[i])) ++scored, sources.insert(source[i]);
  }
  log::info(cat("difficulty filter (", options.method, "): the profile pass scores ", count, " of ", scored,
                " scored examples in ", sources.size(), " source(s)"));
  std::vector<uint64_t> positions;
  for (uint64_t i = 0; i < records; ++i) {
    if (kept[i]) positions.push_back(i);
  }
  return positions;
}

void run_selection(const Options& options, const dist::Comm& comm) {
  Inputs in;
  std::exception_ptr error;
  std::string failure;
  std::optional<store::H5File> file;
  std::optional<store::RunLock> lock;
  if (comm.rank() == 0) {
    try {
      lock.emplace(options.run.output + ".lock");
      file.emplace(store::H5File::open(options.run.output, /*writable=*/false));
      const std::string stored = file->string_attribute("/", "fingerprint");
      if (stored != fingerprint(options)) {
        throw ConfigError(options.run.output + " was scored with a different configuration; select with the options it "
                          "was scored with (model, data, pass, perturb, filter)");
      }
      in = read_inputs(*file);
    } catch (const Error& e) {
      error = std::current_exception();
      failure = e.what();
    }
  }
  failure = comm.broadcast(failure);
  if (!failure.empty()) {
    if (error) std::rethrow_exception(error);
    return;  // rank 0 reports it
  }
  broadcast(comm, in);
  select::SelectInput input{in.checkpoints, in.source, in.domain, in.kept, in.reasoning_tokens, in.full_length,
                            std::span<const float>(in.difficulty).first(in.source.size()), in.mean_loss, in.mean_loss_first};
  const MpiRowSharing sharing(comm);
  const select::SelectResult result =
      select::select(input, in.source_names, in.domain_names, options.select, comm.size() > 1 ? &sharing : nullptr);
  if (comm.rank() != 0) return;

  write_selection(*file, options, in, result);
  std::vector<std::size_t> positions(result.selected.begin(), result.selected.end());
  const std::filesystem::path selected = options.run.selected;
  write_atomically(selected, selected_records(options, positions));
  merge_dataset_info(selected);
  const std::string stem = output_stem(options.run.output);
  const select::ReportData report = report_data(*file, options, in, result);
  nlohmann::json summary = select::summary_json(report);
  summary["outputs"] = {{"selected", selected.string()}, {"results", options.run.output},
                        {"report", stem + ".report.html"}};
  write_atomically(stem + ".summary.json", summary.dump(2) + "\n");
  write_atomically(stem + ".report.html", select::html_report(report));
  log::info(cat("selection (", options.select.method, "): ", result.selected.size(), " of ", report.kept,
                " candidates -> ", selected.string(), "; report ", stem, ".report.html"));
}

}  // namespace curate::service
