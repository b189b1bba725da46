// The premise section's numbers: the selection's loss-pattern clusters against --stage gradients'
// projected gradients (select/premise.h), or why there are none.
#include <map>
#include <utility>
#include <vector>

#include "curate/select/premise.h"
#include "curate/util/strings.h"
#include "report/report_gather.h"
#include "results/layout.h"

namespace curate::service {
namespace {

report::PremiseClustering view(std::string name, const select::PremiseNumbers& x) {
  report::PremiseClustering c;
  c.name = std::move(name);
  c.same_pairs = x.same_pairs, c.other_pairs = x.other_pairs, c.random_pairs = x.random_pairs;
  c.spearman_pairs = x.spearman_pairs;
  c.same_cluster = x.same_cluster, c.other_cluster = x.other_cluster, c.random = x.random;
  c.gap = x.gap, c.gap_low = x.gap_interval.low, c.gap_high = x.gap_interval.high;
  c.gap_other = x.gap_other, c.gap_other_low = x.gap_other_interval.low, c.gap_other_high = x.gap_other_interval.high;
  c.spearman = x.spearman;
  return c;
}

}  // namespace

report::Premise gather_premise(const store::H5File& f, const select::SelectOptions& options, const SelectionColumns& in,
                               const select::SelectResult& result) {
  report::Premise p;
  const layout::GradientState state = layout::gradient_state(f);
  if (state != layout::GradientState::kComplete || in.gradient_dim < 1) {
    p.state = state == layout::GradientState::kIncomplete ? "incomplete" : "absent";
    p.note = state == layout::GradientState::kIncomplete
                 ? "The gradient stage of this result file is incomplete: resume it (curate_dist with the same "
                   "configuration and --stage gradients), then select again to see whether examples with similar loss "
                   "patterns have similar gradients."
                 : "No projected gradients in this result file, so the premise of the method (examples with similar "
                   "loss patterns have similar gradients) is not tested here: run curate_dist with the same "
                   "configuration and --stage gradients (gradients.examples examples are sampled), then select again.";
    return p;
  }
  p.dim = in.gradient_dim;
  p.sampled = static_cast<int64_t>(in.gradients.size()) / in.gradient_dim;
  if (options.features == select::SelectFeatures::kGradients) {
    p.state = "gradient features";
    p.note =
        "This selection clusters on the gradients themselves (select.features = gradients), so its clusters "
        "cannot test whether loss patterns predict gradients: the test is in the report of a selection with "
        "select.features = loss.";
    return p;
  }
  if (options.method != select::SelectMethod::kTemp && options.method != select::SelectMethod::kS2l) {
    p.state = "not clustered";
    p.note = cat("select.method = ", select::select_method_name(options.method),
                 " does not cluster by loss pattern; the premise test runs on the clusters of temp or s2l.");
    return p;
  }

  // Each sampled candidate of a clustered group, with its group's loss-pattern features as clustered.
  const select::SelectInput input = in.select_input();
  std::map<std::pair<int32_t, int32_t>, std::vector<int64_t>> members;  // (domain, source) -> candidates
  for (std::size_t i = 0; i < in.records(); ++i) {
    if (in.candidate[i]) members[{in.domain.ids[i], in.source.ids[i]}].push_back(static_cast<int64_t>(i));
  }
  const auto c = static_cast<std::size_t>(in.checkpoints);
  std::vector<float> features, difficulty;
  std::vector<int32_t> group, cluster;
  std::vector<int64_t> gradient_row;
  int32_t g = 0;
  for (const auto& [key, rows] : members) {
    const std::vector<float> x = select::cluster_features(input, rows, options);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto i = static_cast<std::size_t>(rows[r]);
      const int64_t row = in.gradient_row[i];
      if (row < 0) continue;
      gradient_row.push_back(row);
      features.insert(features.end(), x.begin() + static_cast<std::ptrdiff_t>(r * c),
                      x.begin() + static_cast<std::ptrdiff_t>((r + 1) * c));
      difficulty.push_back(in.difficulty[i]);
      group.push_back(g);
      cluster.push_back(result.cluster[i]);
    }
    ++g;
  }
  select::PremiseOptions premise_options;
  premise_options.seed = options.seed;
  const select::PremiseResult r = select::premise_test(
      {in.gradient_dim, in.gradients, group, cluster, in.checkpoints, features, difficulty, gradient_row},
      premise_options);
  p.examples = r.examples, p.groups = r.groups, p.clusters = r.clusters;
  if (!r.testable) {
    p.state = "untestable";
    p.note = r.verdict;
    return p;
  }
  p.state = "tested";
  p.clusterings = {view("loss-pattern clusters", r.loss), view("random clusters (control)", r.random_clusters),
                   view("difficulty clusters (control)", r.difficulty_clusters)};
  p.holds = r.holds;
  p.verdict = r.verdict;
  return p;
}

}  // namespace curate::service
