// What the selection stage did, for people and for scripts: a summary JSON with every number, and
// one self-contained HTML page (inline CSS and SVG, no script, no external resource). Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace curate::select {

// One group of the budget allocation.
struct AllocationLine {
  std::string level;  // "domain" or "source" (any other level gets its own table)
  std::string domain;
  std::string source;     // empty on domain lines
  int64_t examples = 0;   // candidates in the group
  double score = 0;       // the group's score under the method (NaN when it has none)
  double share = 0;       // fraction of the budget given to the group, in [0, 1]
  int64_t allocated = 0;  // examples selected from the group
};

// Everything the report shows. Plain data: the selection stage fills it, the functions below only read.
struct ReportData {
  // Run description, shown as given.
  std::string model;
  std::string dataset;
  std::string method;
  std::string budget;  // e.g. "2,000 examples" or "5M tokens"
  std::string seed;

  // Totals.
  int64_t examples = 0;  // records scored
  int64_t kept = 0;      // kept by the difficulty filter
  int64_t selected = 0;

  std::vector<AllocationLine> allocation;

  std::vector<int64_t> cluster_sizes;           // examples per cluster, every cluster
  std::vector<int64_t> selected_cluster_sizes;  // sizes of the clusters that gave at least one selected example

  std::vector<float> difficulty_all;       // difficulty of every candidate (NaN entries are ignored)
  std::vector<float> difficulty_selected;  // difficulty of the selected examples

  // Mean loss per profile checkpoint: x[c] = distance[c] (achieved ‖θ − θ₀‖ or the checkpoint index);
  // an empty `distance` means x = 1, 2, … NaN means are left out of the curves.
  std::vector<double> distance;
  std::string distance_label = "distance from the base model ‖θ − θ₀‖";
  std::vector<double> mean_all;       // mean loss of all profiled examples at each checkpoint
  std::vector<double> mean_selected;  // mean loss of the selected examples at each checkpoint

  std::map<std::string, int64_t> skipped;  // skipped records by reason (data::skip_reason_name)
};

// Every number of `data` as JSON:
//   run {model, dataset, method, budget, seed}; totals {examples, kept, selected, skipped};
//   allocation [{level, domain, source, examples, score, share, allocated}];
//   clusters {count, with_selected, sizes {count, nan, min, max, mean, p10, p50, p90},
//             histogram {edges, all, with_selected}};
//   difficulty {all {…stats}, selected {…stats}, histogram {edges, all, selected}};
//   loss_profile {x, x_label, mean_all, mean_selected}; skipped {reason: count}.
// Histograms share their bins: counts[i] counts the values in [edges[i], edges[i+1]) (the last bin
// is closed); cluster-size edges are half-integers so each bin holds whole sizes. NaN is written as
// null; statistics of an empty sample are null.
nlohmann::json summary_json(const ReportData& data);

// The report as one HTML document (UTF-8): run description and totals, allocation tables, cluster-size
// histogram, difficulty densities of selected vs all on shared bins, mean-loss curves per checkpoint
// and the skipped-record table. Every user string is HTML-escaped; empty inputs show "no data".
std::string html_report(const ReportData& data);

}  // namespace curate::select
