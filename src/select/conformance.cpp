#include "curate/select/conformance.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <stdexcept>

#include "curate/select/allocate.h"
#include "curate/select/within.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::select {
namespace {

using json = nlohmann::json;

constexpr int64_t kPerCluster = 4;  // the reference's default, with which the fixtures' k were made

// One parsed line (or whole file) with its place for error messages.
struct Record {
  json value;
  std::string where;  // FILE:LINE
};

std::vector<Record> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw DataError(cat("conformance: cannot read '", path.string(), "'"));
  std::vector<Record> records;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cat(path.string(), ":", number);
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object()) {
      throw DataError(cat(where, ": not a JSON object; each line must be one case (see the suite's README)"));
    }
    records.push_back({std::move(value), where});
  }
  return records;
}

// Runs `check` on a record, turning JSON type and key errors into DataError naming the place.
template <typename Check>
auto guarded(const Record& record, Check&& check) {
  try {
    return check(record.value);
  } catch (const json::exception& e) {
    throw DataError(cat(record.where, ": malformed case: ", e.what()));
  } catch (const std::invalid_argument& e) {
    throw DataError(cat(record.where, ": malformed case: ", e.what()));
  }
}

bool same_double(const json& expected, double actual, bool actual_nan) {
  if (expected.is_null()) return actual_nan;
  return !actual_nan && expected.get<double>() == actual;
}

// ---- allocation.jsonl ----

// One allocation line; returns "" when identical, else what differs.
std::string check_allocation(const json& c) {
  struct Group {
    std::string domain, source;
    int64_t size;
    double first, last;
  };
  std::vector<Group> groups;
  for (const json& g : c.at("groups")) {
    groups.push_back({g.at("domain").get<std::string>(), g.at("source").get<std::string>(), g.at("size").get<int64_t>(),
                      g.at("first_loss").get<double>(), g.at("last_loss").get<double>()});
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return std::tie(a.domain, a.source) < std::tie(b.domain, b.source);
  });
  std::map<std::string, int32_t> domain_id;
  std::vector<std::string> domains;
  std::vector<GroupStats> stats;
  double total_first = 0, total_last = 0;
  int64_t total = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const Group& x = groups[g];
    if (!domain_id.contains(x.domain)) {
      domain_id[x.domain] = static_cast<int32_t>(domains.size());
      domains.push_back(x.domain);
    }
    GroupStats s;
    s.domain = domain_id[x.domain];
    s.source = static_cast<int32_t>(g);
    s.examples = s.capacity = x.size;
    s.sum_first = x.first * static_cast<double>(x.size);
    s.sum_last = x.last * static_cast<double>(x.size);
    s.count_first = s.count_last = x.size;
    stats.push_back(s);
    total_first += s.sum_first;
    total_last += s.sum_last;
    total += x.size;
  }
  const Allocation a = allocate_hierarchical(stats, c.at("budget").get<int64_t>(), 1.0, AllocationMode::kReference);
  const bool not_rising = !(static_cast<float>(total_last / static_cast<double>(total)) >
                            static_cast<float>(total_first / static_cast<double>(total)));
  bool clamped = false;
  for (const AllocationRow& row : a.rows) clamped = clamped || row.clamped;

  if (c.contains("error")) {
    const std::string error = c.at("error").get<std::string>();
    if (error.starts_with("AssertionError")) {
      return not_rising ? ""
                        : "the reference's assertion fails (last mean not highest) but curate_dist does not flag it";
    }
    if (not_rising) return "curate_dist flags a falling overall mean, the reference raised: " + error;
    return clamped ? "" : "the reference raised (" + error + ") but curate_dist clamps no score";
  }
  const bool variant = c.contains("variant_of");
  if (!variant && (not_rising || clamped)) return "curate_dist flags a falling mean the reference accepted";

  std::string diff;
  const json& expected = c.at("allocation");
  const json& expected_k = c.at("k");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string key = groups[g].domain + "/" + groups[g].source;
    const int64_t want = expected.at(key).get<int64_t>(), got = a.allocated[g];
    if (want != got) diff += cat(" ", key, " allocated ", got, " (reference ", want, ")");
    const int64_t want_k = expected_k.at(key).get<int64_t>(), got_k = reference_k(got, kPerCluster);
    if (want_k != got_k) diff += cat(" ", key, " k ", got_k, " (reference ", want_k, ")");
  }
  // The trace: every level's scores and allocations.
  for (const json& level : c.at("trace")) {
    const std::string name = level.at("level").get<std::string>();
    const json& names = level.at("names");
    for (std::size_t j = 0; j < names.size(); ++j) {
      const std::string item = names[j].get<std::string>();
      const AllocationRow* row = nullptr;
      for (const AllocationRow& r : a.rows) {
        const bool domain_level = name == "domain";
        if (domain_level && r.level == "domain" && domains[static_cast<std::size_t>(r.domain)] == item) row = &r;
        if (!domain_level && r.level == "source" && groups[static_cast<std::size_t>(r.source)].source == item &&
            name == "source in domain '" + groups[static_cast<std::size_t>(r.source)].domain + "'") {
          row = &r;
        }
      }
      if (row == nullptr) {
        diff += cat(" trace ", name, ": no row for '", item, "'");
        continue;
      }
      if (!same_double(level.at("scores")[j], row->score, row->clamped)) {
        diff += cat(" ", name, " '", item, "' score ", row->clamped ? std::string("NaN") : cat(row->score));
      }
      if (level.contains("allocated") && level.at("allocated")[j].get<int64_t>() != row->allocated) {
        diff += cat(" ", name, " '", item, "' allocated ", row->allocated, " (reference ",
                    level.at("allocated")[j].get<int64_t>(), ")");
      }
    }
  }
  return diff.empty() ? "" : diff.substr(1);
}

ConformanceFile allocation_file(const std::filesystem::path& path) {
  ConformanceFile file;
  file.name = "allocation";
  int64_t fragile = 0, fragile_identical = 0, raised = 0, variants = 0;
  for (const Record& record : read_jsonl(path)) {
    const std::string id = guarded(record, [](const json& c) { return c.at("id").get<std::string>(); });
    const bool is_fragile = record.value.contains("fragile");
    const std::string diff = guarded(record, check_allocation);
    ++file.cases;
    fragile += is_fragile;
    raised += record.value.contains("error");
    variants += record.value.contains("variant_of");
    if (diff.empty()) {
      ++file.identical;
      fragile_identical += is_fragile;
    } else if (!is_fragile) {
      file.failures.push_back(id + ": " + diff);
    }
  }
  file.note = cat(fragile, " fragile, ", fragile_identical, " of them identical; ", raised,
                  " where the reference raises, flagged; ", variants, " NaN-as-0 variants");
  return file;
}

// ---- select_given_clusters.jsonl ----

std::string check_source(const json& s, uint64_t seed) {
  const std::string name = s.at("source").get<std::string>();
  const int64_t budget = s.at("budget").get<int64_t>();
  const json& profiles = s.at("profiles");
  const json& labels = s.at("cluster");
  const auto n = static_cast<int64_t>(profiles.size());
  if (static_cast<int64_t>(labels.size()) != n || s.at("candidates").get<int64_t>() != n) {
    throw std::invalid_argument(cat("source '", name, "': profiles, cluster and candidates disagree in length"));
  }
  std::string diff;
  const int64_t k = reference_k(budget, kPerCluster);
  if (k != s.at("k").get<int64_t>()) diff += cat(" k ", k, " (reference ", s.at("k").get<int64_t>(), ")");
  if (!s.at("k_passed").is_null() && std::min(k, n) != s.at("k_passed").get<int64_t>()) {
    diff += cat(" k-means k ", std::min(k, n), " (reference ", s.at("k_passed").get<int64_t>(), ")");
  }
  const WithinPath path = within_path(std::min(budget, n), n);
  if (path_name(path) != s.at("path").get<std::string>()) {
    diff += cat(" path ", path_name(path), " (reference ", s.at("path").get<std::string>(), ")");
  }
  std::set<int64_t> exact, fill;
  int64_t from_fill = 0, pool = 0;
  if (path == WithinPath::kTakeAll) {
    for (int64_t j = 0; j < n; ++j) exact.insert(j);
  } else if (path == WithinPath::kClusters) {
    std::vector<float> first(static_cast<std::size_t>(n)), last(static_cast<std::size_t>(n));
    std::vector<int64_t> label(static_cast<std::size_t>(n)), cost(static_cast<std::size_t>(n), 1);
    for (std::size_t j = 0; j < static_cast<std::size_t>(n); ++j) {
      const json& row = profiles[j];
      const auto value = [](const json& v) { return v.is_null() ? 0.0f : static_cast<float>(v.get<double>()); };
      first[j] = value(row.at(0));
      last[j] = value(row.at(row.size() - 1));
      label[j] = labels[j].get<int64_t>();
    }
    std::mt19937_64 rng(seed);
    const ClusterPicks picks = pick_in_clusters(first, last, label, cost, budget, rng);
    from_fill = picks.from_fill;
    pool = picks.singleton_pool;
    exact.insert(picks.taken.begin(), picks.taken.end() - from_fill);
  }
  for (const json& j : s.at("random_fill")) fill.insert(j.get<int64_t>());
  std::set<int64_t> want;
  for (const json& j : s.at("selected")) {
    if (!fill.contains(j.get<int64_t>())) want.insert(j.get<int64_t>());
  }
  if (want != exact) diff += " selection outside the random fill differs";
  if (from_fill != static_cast<int64_t>(fill.size())) {
    diff += cat(" random fill ", from_fill, " (reference ", fill.size(), ")");
  }
  if (pool != s.at("singleton_pool").get<int64_t>()) {
    diff += cat(" one-member clusters ", pool, " (reference ", s.at("singleton_pool").get<int64_t>(), ")");
  }
  return diff.empty() ? "" : "source '" + name + "':" + diff;
}

ConformanceFile select_file(const std::filesystem::path& path) {
  ConformanceFile file;
  file.name = "select_given_clusters";
  int64_t sources = 0;
  for (const Record& record : read_jsonl(path)) {
    const std::string diff = guarded(record, [&](const json& c) {
      std::string all;
      const auto seed = c.at("seed").get<uint64_t>();
      for (const json& s : c.at("sources")) {
        ++sources;
        const std::string d = check_source(s, seed);
        if (!d.empty()) all += (all.empty() ? "" : "; ") + d;
      }
      return all.empty() ? all : c.at("id").get<std::string>() + ": " + all;
    });
    ++file.cases;
    if (diff.empty())
      ++file.identical;
    else
      file.failures.push_back(diff);
  }
  file.note = cat(sources, " sources; random fill: counts equal");
  return file;
}

// ---- k_rule.json ----

ConformanceFile k_rule_file(const std::filesystem::path& path) {
  ConformanceFile file;
  file.name = "k_rule";
  std::ifstream in(path);
  if (!in) throw DataError(cat("conformance: cannot read '", path.string(), "'"));
  Record record{json::parse(in, nullptr, /*allow_exceptions=*/false), path.string()};
  if (record.value.is_discarded() || !record.value.is_object()) {
    throw DataError(cat(path.string(), ": not a JSON object with \"pairs\""));
  }
  guarded(record, [&](const json& c) {
    for (const json& pair : c.at("pairs")) {
      const int64_t allocated = pair.at("allocated").get<int64_t>(),
                    per_cluster = pair.at("per_cluster").get<int64_t>();
      const int64_t want = pair.at("k").get<int64_t>(), got = reference_k(allocated, per_cluster);
      ++file.cases;
      if (want == got)
        ++file.identical;
      else
        file.failures.push_back(
            cat("allocated ", allocated, ", per_cluster ", per_cluster, ": k ", got, " (reference ", want, ")"));
    }
    return 0;
  });
  return file;
}

}  // namespace

std::vector<ConformanceFile> check_conformance(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw ConfigError(cat("conformance: --suite '", dir.string(),
                          "' is not a folder; give the folder holding "
                          "allocation.jsonl, select_given_clusters.jsonl and/or k_rule.json"));
  }
  std::vector<ConformanceFile> files;
  if (std::filesystem::exists(dir / "allocation.jsonl")) files.push_back(allocation_file(dir / "allocation.jsonl"));
  if (std::filesystem::exists(dir / "select_given_clusters.jsonl")) {
    files.push_back(select_file(dir / "select_given_clusters.jsonl"));
  }
  if (std::filesystem::exists(dir / "k_rule.json")) files.push_back(k_rule_file(dir / "k_rule.json"));
  if (files.empty()) {
    throw ConfigError(cat("conformance: '", dir.string(),
                          "' holds none of allocation.jsonl, "
                          "select_given_clusters.jsonl, k_rule.json"));
  }
  return files;
}

int run_conformance(const std::filesystem::path& dir, std::ostream& out) {
  const std::vector<ConformanceFile> files = check_conformance(dir);
  int failed = 0;
  for (const ConformanceFile& file : files) {
    out << file.name << ": " << file.identical << "/" << file.cases << " identical";
    if (!file.note.empty()) out << " (" << file.note << ")";
    out << (file.passed() ? "" : " FAILED") << "\n";
    for (std::size_t i = 0; i < file.failures.size() && i < 20; ++i) out << "  " << file.failures[i] << "\n";
    if (file.failures.size() > 20) out << "  ... and " << file.failures.size() - 20 << " more\n";
    failed += file.passed() ? 0 : 1;
  }
  out << "conformance: " << static_cast<int>(files.size()) - failed << " passed, " << failed << " failed\n";
  return failed;
}

}  // namespace curate::select
