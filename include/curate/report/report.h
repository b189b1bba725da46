// What the selection stage did, for people and for scripts: a summary JSON with every number, one
// self-contained HTML page (inline CSS and SVG, no script, no external resource), and a page of every
// selected example (a table with a search box: inline CSS and a small inline script). Torch-free.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace curate::report {

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

// One row of the calibration table: a checkpoint of the calibration sample and its loss ratio.
struct CalibrationLine {
  std::string checkpoint;  // e.g. "base", "gaussian 3"
  double mean_loss = NAN;  // mean loss of the sample's first `tokens` reasoning tokens
  double ratio = NAN;      // mean_loss / the base model's
};

// How the Gaussian checkpoint of the difficulty pass was chosen.
struct Calibration {
  std::vector<CalibrationLine> lines;  // empty when the checkpoint was fixed (pass.gaussian_checkpoint)
  int chosen = -1;                     // index into lines; with no lines, the fixed Gaussian checkpoint
  double low = NAN, high = NAN;        // wanted ratio band [low, high]
  int64_t tokens = 0;                  // reasoning tokens scored per example
  int64_t samples = 0;                 // examples in the sample
  // Whether the chosen ratio lies in the band (false also when nothing was chosen).
  bool in_band() const;
};

// Cost of one scoring pass, summed over the runs that completed it (a run killed mid-pass is missing).
struct PassFacts {
  std::string name;  // calibration, difficulty, profile, selection
  int64_t checkpoints = 0;
  int64_t examples = 0;         // examples scored (all checkpoints)
  int64_t tokens = 0;           // reasoning tokens scored (all checkpoints)
  double seconds = NAN;         // wall time
  double worker_seconds = NAN;  // wall time × scoring ranks (GPU-seconds on CUDA)
  int64_t ranks = 0;            // MPI ranks of the last run
};

// Examples whose losses hold a NaN at one checkpoint of a pass (counted as not scored).
struct NanLossLine {
  std::string pass;        // calibration, difficulty, profile
  std::string checkpoint;  // e.g. "gaussian 2"
  int64_t examples = 0;
};

// One example shown to the curator, with why it was or was not taken. Text is raw: the report escapes it.
struct ExampleView {
  enum class Status { kSelected, kNotPicked, kFilteredOut };
  Status status = Status::kSelected;
  std::string key;            // the example's id
  int64_t line = 0;           // 1-based line in the dataset
  std::string prompt;         // the prompt (the report shortens it)
  std::string window;         // the first tokens of the scored reasoning window, as text
  int64_t window_tokens = 0;  // tokens in `window`
  double difficulty = NAN;
  int32_t cluster = -1;      // k-means cluster within the source, -1 when not clustered
  double brittleness = NAN;  // loss rise along the profile: last − first checkpoint
  std::string why;           // why it was or was not taken, one sentence
};

// Everything shown for one (domain, source) group. Records whose source is unknown (they failed to
// parse) form a group with an empty source and domain.
struct SourceView {
  std::string domain;
  std::string source;
  // Funnel: read → skipped (by reason) → scored → kept by the difficulty filter → profiled → selected.
  int64_t read = 0;
  std::map<std::string, int64_t> skipped;
  int64_t scored = 0, kept = 0, profiled = 0, selected = 0;
  // Mean profile loss per checkpoint (x as ReportData::distance), all profiled vs selected examples.
  std::vector<double> mean_all, mean_selected;
  // Token lengths of the scored examples and of the selected ones.
  std::vector<float> prompt_tokens_all, prompt_tokens_selected;
  std::vector<float> response_tokens_all, response_tokens_selected;
  std::vector<ExampleView> examples;  // a handful per status, in the order shown
};

// The test of the method's premise (select/premise.h) for one clustering of the sampled examples.
// Cosines are of projected gradients, means over pairs; NaN where a mean has no pair.
struct PremiseClustering {
  std::string name;  // "loss-pattern clusters", "random clusters (control)", "difficulty clusters (control)"
  int64_t same_pairs = 0, other_pairs = 0, random_pairs = 0, spearman_pairs = 0;
  double same_cluster = NAN, other_cluster = NAN, random = NAN;       // mean cosine: same cluster, same source
                                                                      // other cluster, every pair
  double gap = NAN, gap_low = NAN, gap_high = NAN;                    // same_cluster - random, 95% bootstrap interval
  double gap_other = NAN, gap_other_low = NAN, gap_other_high = NAN;  // same_cluster - other_cluster
  double spearman = NAN;  // rank correlation of the clustering's distance and the cosine; NaN: none
};

// Does the selection's premise hold on this run: do examples in one loss-pattern cluster have
// similar gradients? Numbers only when state is "tested"; otherwise `note` says why and what to run.
struct Premise {
  std::string state = "absent";  // absent | incomplete | not clustered | gradient features | untestable | tested
  std::string note;              // what to do, when not tested
  int64_t sampled = 0;           // examples with a projected gradient (--stage gradients)
  int64_t examples = 0, groups = 0, clusters = 0;  // analysed: in a loss-pattern cluster, nonzero gradient
  int64_t dim = 0;                                 // projected dimension
  std::vector<PremiseClustering> clusterings;      // loss-pattern clusters first, then the two controls
  bool holds = false;                              // the loss-pattern gap's interval lies above 0
  std::string verdict;                             // the sentence, with the numbers
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

  Calibration calibration;
  std::vector<SourceView> sources;  // every group, in the order of the funnel table
  std::vector<PassFacts> passes;
  std::vector<NanLossLine> nan_losses;  // checkpoints with at least one NaN-loss example; shown as warnings
  std::vector<std::pair<std::string, std::string>> settings;  // options that change results: name, value
  std::string fingerprint;                                    // the result file's configuration fingerprint
  std::string device;                                         // score.device (GPU-hours are shown for cuda devices)
  std::vector<std::pair<std::string, std::string>> links;     // output files: label, name relative to the report
  Premise premise;                                            // the premise test (--stage gradients)
};

// Per-source sections shown in full (charts and examples): the kMaxSourceViews sources with the most
// kept examples (ties: the earlier one), in their order in `sources`; every source is in the funnel
// table. The group of unparsed records (empty source and domain) is never shown in full.
inline constexpr std::size_t kMaxSourceViews = 20;
std::vector<std::size_t> shown_sources(const std::vector<SourceView>& sources);

// Rows of a per-source table (funnel, allocation) shown one by one: the kMaxTableRows largest groups
// (read records; allocation: examples), in table order; the others are summed into one row. The
// summary JSON and SEL.scores.tsv hold every group. With the per-source sections and examples bounded
// too, the page stays a few hundred KB at any number of sources.
inline constexpr std::size_t kMaxTableRows = 100;
// Which of `sizes` are shown one by one (1) or folded into the "other groups" row (0).
std::vector<uint8_t> largest_rows(const std::vector<int64_t>& sizes);

// Examples of one status to show per source when `shown` sources are shown in full: 3 up to 8
// sources, 2 up to 14, else 1, so that the report stays a few hundred KB whatever the dataset's size.
int examples_per_status(std::size_t shown);

// `count` members spread over the order of `key` (ascending, ties by position in `members`): the
// members at quantiles (j + 0.5) / count of that order. Non-finite keys sort last. Deterministic.
std::vector<std::size_t> spread_pick(std::span<const std::size_t> members, std::span<const float> key,
                                     std::size_t count);

// One selected example, a row of the examples page. Text is raw: the page escapes it.
struct ExampleRow {
  std::string id;  // the example's id
  int64_t line = 0;
  std::string source, domain;
  int32_t cluster = -1;  // k-means cluster within the source, -1 when not clustered
  double score = NAN, difficulty = NAN;
  int64_t prompt_tokens = 0, reasoning_tokens = 0;
  std::string text;  // the reasoning text (or why it cannot be shown); the page shows its beginning
};

// The examples page (SEL.examples.html): the selection's rows, in dataset order.
struct ExamplesPage {
  std::string title;     // the selection's records file name
  std::string results;   // the result file as `curate_tool explain RESULTS ID` takes it
  std::string report;    // the selection report, relative to the page ("" for no link)
  int64_t selected = 0;  // examples selected; rows holds the first kMaxExampleRows of them
  std::vector<ExampleRow> rows;
};
// The page lists at most this many rows (a budget is usually about 1,000 examples) and this many
// characters of each one's text, so that it stays under ~10 MB; it says when it lists fewer rows.
inline constexpr std::size_t kMaxExampleRows = 20000;
inline constexpr std::size_t kExampleTextChars = 300;

// The examples page as one HTML document (UTF-8): a line saying how many were selected and listed and
// that `curate_tool explain RESULTS ID` prints any example whole; a search box that hides the rows no
// cell of which holds its text (case-insensitive; PAGE#TEXT opens it filtered by TEXT; hidden without
// JavaScript, when the page is a plain table); a table with id, line, source, domain, cluster, score, difficulty,
// prompt and reasoning tokens and the text's first kExampleTextChars characters. Every user string has its control
// characters shown as \xNN (util/terminal.h escape_control) and is HTML-escaped.
std::string examples_html(const ExamplesPage& page);

// Every number of `data` as JSON:
//   run {model, dataset, method, budget, seed}; totals {examples, kept, selected, skipped};
//   allocation [{level, domain, source, examples, score, share, allocated}];
//   clusters {count, with_selected, sizes {count, nan, min, max, mean, p10, p50, p90},
//             histogram {edges, all, with_selected}};
//   difficulty {all {…stats}, selected {…stats}, histogram {edges, all, selected}};
//   loss_profile {x, x_label, mean_all, mean_selected}; skipped {reason: count};
//   premise {state, note, sampled, examples, groups, clusters, dim, holds, verdict, clusterings [{name,
//            same_cluster, other_cluster, random, gap, gap_interval [low, high], gap_other,
//            gap_other_interval, spearman, pairs {same, other, random, spearman}}]} (holds and verdict
//            null, clusterings empty, unless state is "tested").
// Histograms share their bins: counts[i] counts the values in [edges[i], edges[i+1]) (the last bin
// is closed); cluster-size edges are half-integers so each bin holds whole sizes. NaN is written as
// null; statistics of an empty sample are null.
nlohmann::json summary_json(const ReportData& data);

// The report as one HTML document (UTF-8): run description and totals, allocation tables, cluster-size
// histogram, difficulty densities of selected vs all on shared bins, mean-loss curves per checkpoint
// and the skipped-record table. Every user string is HTML-escaped; empty inputs show "no data".
std::string html_report(const ReportData& data);

}  // namespace curate::report
