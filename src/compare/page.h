// The comparison page of --stage compare and its JSON (internal to curate_compare): what each
// selection holds (overlap, shares per domain and source, difficulty, brittleness and length, training
// tokens against the tokens the method scored) and, once launch/ab.sh has run, its A/B tables.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "curate/config/options.h"
#include "curate/select/options.h"
#include "selection/columns.h"

namespace curate::compare {

// The result file's per-record columns (N records, C profile checkpoints).
struct Columns {
  service::SelectionColumns in;                       // candidate: kept by the filter (before the held-out split)
  std::vector<uint8_t> scored;                        // [N] 1: status ok and a finite difficulty
  std::map<std::string, int64_t> pass_scored_tokens;  // tokens each pass scored (its cost attributes), by pass
};

struct Selection {
  std::string name;  // method, or method-sSEED for seeded methods; its files are NAME.selected.jsonl & co.
  select::SelectMethod method;
  uint64_t seed = 0;
  std::vector<int64_t> selected;  // record positions, ascending
  std::string same_as;            // an earlier selection of the method with the same records ("" if none)
  std::string shortfall;          // why the budget was not met ("" when it was)
  std::string file, ids, report;  // its records, ids and report (file names in the compare folder)
  std::string dataset_name;       // its entry in the folder's dataset_info.json
};

struct PageInput {
  const service::Options& options;
  const Columns& columns;
  const std::vector<Selection>& selections;
  const std::vector<std::size_t>& heldout;
  std::string folder;         // compare.output as resolved
  nlohmann::json ab_plan;     // what launch/ab/ab.py runs (compare.json "ab")
  nlohmann::json ab_results;  // ab/results.json, null before the A/B ran
};

// compare.json: settings, selections (names, files, sizes, same_as), overlap, shares, distributions,
// tokens, "ab" (the plan) and "ab_results" (when present).
nlohmann::json compare_json(const PageInput& input);

// compare.html from the same numbers: one static page, inline CSS and SVG, every text escaped.
std::string compare_html(const PageInput& input, const nlohmann::json& summary);

}  // namespace curate::compare
