// The HDF5 result file's layout: every path, attribute name and version in one place, with typed
// reads and writes. Writers: RunFile and ResultSink (rank 0 only); readers: the selection, the
// report, inspect. docs/DESIGN.md ("HDF5 file") says the same in a table.
//
// N records, K examples the profile pass scores (kept by the difficulty filter), C checkpoints of a
// pass, T scored tokens, U units, S calibration samples. Rows of a pass's datasets are the pass's
// examples in record order: every record for the difficulty pass, /profile/example for the profile.
//   /                         attrs format, version (3), fingerprint (every setting that changes results),
//                             input_files (fingerprint.h input_files_text: the files behind its content keys),
//                             settings (config/options.h settings_ini: every setting of the run that last
//                             opened the file for writing, as INI text with absolute paths; rewritten by each
//                             scoring run and each selection; `curate_tool explain RUN.h5 ID` reads it; absent in
//                             files written before it)
//   /examples/line            i64 [N]  the record's 1-based line number in the dataset
//   /examples/id              str [N]  the data.id_field value (or the line number as text)
//   /examples/{source,domain} str [N]
//   /examples/{prompt_tokens,reasoning_tokens,full_length} i64 [N]
//   /examples/status          u8 [N]  example_status.h: 0 ok (scored), 1 + skip reason; rows not
//                                      written yet also read 0, with full_length 0
//   /selection                external link to SEL.selection.h5:/selection of the latest selection (relative)
//   /selections               str [M] every selection file made from this file (output_files.h names them)
//   /filter/kept              u8 [N]  the profile pass scores these (difficulty filter); attrs method, kept
//   /calibration/loss         f32 [C, S] mean loss of the first T reasoning tokens; C = base + Gaussian 1..n
//   /calibration/sample       i64 [S]  record positions of the sample
//   /calibration/{mean_loss,ratio} f32 [C]; attrs chosen (Gaussian index), table (text), missed (1 when
//                             no checkpoint's ratio lies in pass.calibration_low..high), warning (text; empty if met)
//   /calibration/search_std   str [P]  the noise search's stds tried, in order (3 significant digits, as
//                                      an INI file takes them); perturb.gaussian_max_std = auto or --stage calibrate
//   /calibration/search_ratio f32 [P]  the last Gaussian checkpoint's ratio at each; attr search_found: the std
//                             the calibration used (the last tried; written with the table, after the search)
//   /difficulty/losses        f32|f16 [1, N, T] per-token losses at the chosen Gaussian checkpoint, NaN past the end
//   /profile/example          i64 [K]  record position (row of /examples/*) of each profile row, ascending
//   /profile/losses           f32|f16 [C, K, T] per-token losses at every profile checkpoint
//   /<pass>/losses            absent when store.token_losses = none
//   /<pass>/mean_loss         f32 [C, rows] mean over the scored tokens (of the float32 losses);
//                             /profile/mean_loss_first f32 [C, K] over the first pass.difficulty_tokens
//   /<pass>/distance          f32 [C] achieved ‖θ_j − θ₀‖ (directional) or /<pass>/noise_std (Gaussian)
//   /<pass>/nan_losses        u8 [C, rows] 1 where the example's scored losses hold a NaN (written with
//                             the unit's data; rows as /<pass>/mean_loss, calibration: as /calibration/loss)
//   /<pass>/done              u8 [C, U] unit u of checkpoint c is stored (written after its data)
//   /<pass>                   attrs tokens, checkpoints, token_losses (float32, float16 or none)
//                             and, once a run completes the pass, wall_ms, worker_ms, scored_examples,
//                             scored_tokens (summed over such runs), ranks (the report's pass costs)
// --stage gradients (issue 28): G sampled examples, D = gradients.dim, U units of the stage.
//   /gradients/example        i64 [G]  record positions (rows of /examples/*) of the sample, ascending
//   /gradients/projected      f32 [G, D] seeded random projection of the example's SFT-loss gradient at the
//                                      base model (model/gradients.h project_gradient), row r for example[r]
//   /gradients/norm           f32 [G]  ‖gradient‖ before the projection
//   /gradients/done           u8 [U]   unit u is stored (written after its rows)
//   /gradients                attrs dim, params, tokens, seed, examples (the settings that made it), projection
//                             (rademacher or gaussian), fingerprint (fingerprint.h gradient_fingerprint:
//                             a rerun under other settings is refused, or rebuilds the group with --fresh)
//   (also attrs wall_ms, worker_ms, scored_examples, scored_tokens, ranks once a run completes it, as a pass)
// SEL.selection.h5 (each selection's own file; output_files.h names it):
//   /selection/selected       i64 [S]  line numbers (/examples/line) of the selected examples, ascending
//   /selection/{cluster i64, score f32, candidate u8} [N]
//   /selection/allocation     str [rows + 1] the budget split, a header line first
//   /selection/outputs        str [6] "path<TAB>bytes<TAB>hash" of the files the selection wrote (relative to
//                             the result file's folder); attrs method, features, budget, budget_unit, seed,
//                             loss_not_rising, results (the result file's name), time (UTC)
//   (selection files written before these datasets kept allocation and outputs as attributes; still read)
// The result file's /selection is rewritten by every selection: an external link relative to the
// result file's folder; /selections (str [M]) lists every selection file made from it, same paths.
// Chunks: losses [1, loss_chunk_rows, T] (at most 64 KiB: one example across checkpoints reads C
// small chunks); means [1, 4096] (one checkpoint's means are few chunks); both written a unit at a time.
//
// Versions: 3 renamed /examples/id (i64 line numbers) to /examples/line and /examples/key to
// /examples/id; 2 stored only the profile rows the filter keeps. Version 2 files are still read
// (inspect, --stage select, the report), with the old names mapped; a resume refuses every version
// but kVersion, naming both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "curate/store/hdf5.h"
#include "results/pass.h"

namespace curate::service::layout {

inline constexpr const char* kFormat = "curate_dist results";
inline constexpr int64_t kVersion = 3;
inline constexpr int64_t kOldestReadable = 2;  // read with mapped names, never resumed

inline constexpr const char* kRoot = "/";
inline constexpr const char* kExamples = "/examples";
inline constexpr const char* kStatus = "/examples/status";
inline constexpr const char* kLine = "/examples/line";
inline constexpr const char* kId = "/examples/id";
inline constexpr const char* kSource = "/examples/source";
inline constexpr const char* kDomain = "/examples/domain";
inline constexpr const char* kPromptTokens = "/examples/prompt_tokens";
inline constexpr const char* kReasoningTokens = "/examples/reasoning_tokens";
inline constexpr const char* kFullLength = "/examples/full_length";
inline constexpr const char* kFilter = "/filter";
inline constexpr const char* kFilterKept = "/filter/kept";
inline constexpr const char* kSelection = "/selection";
inline constexpr const char* kSelected = "/selection/selected";
inline constexpr const char* kCluster = "/selection/cluster";
inline constexpr const char* kScore = "/selection/score";
inline constexpr const char* kCandidate = "/selection/candidate";
inline constexpr const char* kAllocation = "/selection/allocation";  // str [rows + 1], the header first
inline constexpr const char* kOutputs = "/selection/outputs";        // str [files] "path<TAB>bytes<TAB>hash"
inline constexpr const char* kGradients = "/gradients";
inline constexpr const char* kGradientExample = "/gradients/example";
inline constexpr const char* kGradientProjected = "/gradients/projected";
inline constexpr const char* kGradientNorm = "/gradients/norm";
inline constexpr const char* kGradientDone = "/gradients/done";
inline constexpr const char* kSelections = "/selections";  // result file: str [selections], every selection file

// Attribute names (of the root, a pass group, /filter or /selection).
namespace attr {
inline constexpr const char* kFormat = "format";
inline constexpr const char* kVersion = "version";
inline constexpr const char* kFingerprint = "fingerprint";
inline constexpr const char* kInputFiles = "input_files";
inline constexpr const char* kSettings = "settings";  // root: settings_ini of the last run that wrote the file
inline constexpr const char* kTokens = "tokens";
inline constexpr const char* kCheckpoints = "checkpoints";
inline constexpr const char* kTokenLosses = "token_losses";
inline constexpr const char* kMethod = "method";      // /filter, /selection
inline constexpr const char* kFeatures = "features";  // /selection: select.features ("loss" when absent)
inline constexpr const char* kKept = "kept";          // /filter
inline constexpr const char* kChosen = "chosen";      // /calibration
inline constexpr const char* kTable = "table";        // /calibration
inline constexpr const char* kMissed = "missed";
inline constexpr const char* kWarning = "warning";
inline constexpr const char* kBudget = "budget";  // /selection ...
inline constexpr const char* kBudgetUnit = "budget_unit";
inline constexpr const char* kBudgetSetting = "budget_setting";
inline constexpr const char* kSeed = "seed";
inline constexpr const char* kLossNotRising = "loss_not_rising";
inline constexpr const char* kResults = "results";
inline constexpr const char* kTime = "time";
inline constexpr const char* kAllocationV1 = "allocation";  // selection files before /selection/allocation
inline constexpr const char* kOutputsV1 = "outputs";        // ... and /selection/outputs
inline constexpr const char* kDim = "dim";                  // /gradients ...
inline constexpr const char* kParams = "params";
inline constexpr const char* kExamples = "examples";
inline constexpr const char* kProjection = "projection";
}  // namespace attr

// Datasets of a pass group (path(pass, name)).
namespace dataset {
inline constexpr const char* kDone = "done";
inline constexpr const char* kLoss = "loss";      // calibration
inline constexpr const char* kSample = "sample";  // calibration
inline constexpr const char* kRatio = "ratio";    // calibration
inline constexpr const char* kMeanLoss = "mean_loss";
inline constexpr const char* kMeanLossFirst = "mean_loss_first";  // profile
inline constexpr const char* kLosses = "losses";
inline constexpr const char* kExample = "example";  // profile
inline constexpr const char* kDistance = "distance";
inline constexpr const char* kNoiseStd = "noise_std";
inline constexpr const char* kNanLosses = "nan_losses";
}  // namespace dataset

// "/calibration", "/difficulty" or "/profile".
std::string group(Pass pass);
// group(pass) + "/" + name.
std::string path(Pass pass, std::string_view name);

// Whether `f` has /examples/status, which every curate_dist result file has from its creation.
bool is_result_file(const store::H5File& f);
int64_t version(const store::H5File& f);
// Throws StoreError naming the file and both versions when `f` is older than kOldestReadable or
// newer than kVersion.
void check_readable(const store::H5File& f);

// Writes the root attributes and creates the [records] /examples datasets of a new file, with
// /selection linked to `selection_file` (a name in the same folder).
void create_examples(store::H5File& f, const std::string& fingerprint, uint64_t records,
                     const std::string& selection_file);

// The root attribute input_files (fingerprint.h: input_files_text), '' in a file without it.
void write_input_files(store::H5File& f, const std::string& text);
std::string read_input_files(const store::H5File& f);

// The root attribute settings (config/options.h settings_ini), '' in a file without it.
void write_settings(store::H5File& f, const std::string& text);
std::string read_settings(const store::H5File& f);

// /examples/line and /examples/id (under their version-2 names in version-2 files).
std::vector<int64_t> read_lines(const store::H5File& f);
std::vector<std::string> read_ids(const store::H5File& f);

// What the profile pass's cost cut needs: prompt and reasoning tokens of every record, [N] each.
struct ExampleCosts {
  std::vector<int64_t> prompt_tokens, reasoning_tokens;
};
ExampleCosts read_example_costs(const store::H5File& f);

// Every unit of `pass` is stored (false when the pass was never started).
bool pass_complete(const store::H5File& f, Pass pass);
// The done flags [C, U] of `pass` (empty when it was never started).
std::vector<uint8_t> read_done(const store::H5File& f, Pass pass);
// The `checkpoints` attribute of a pass, split at commas.
std::vector<std::string> checkpoint_names(const store::H5File& f, Pass pass);

// /filter/kept, or nothing when no filter ran.
std::optional<std::vector<uint8_t>> read_filter(const store::H5File& f);
// (Re)writes /filter with attributes method and kept (the number of 1s).
void write_filter(store::H5File& f, const std::vector<uint8_t>& kept, const std::string& method);

// The calibration's outcome: the /calibration table and chosen Gaussian checkpoint (calibration.h).
struct CalibrationTable {
  std::vector<float> means, ratios;  // [C]
  int chosen = 0;                    // Gaussian index
  std::string text;                  // the table as logged
  std::string warning;               // non-empty when no checkpoint's ratio lies in the wanted band (the
                                     // closest was chosen): "calibration missed its target: ..."
};
void write_calibration(store::H5File& f, const CalibrationTable& table);
// The chosen Gaussian index of a finished calibration, or nothing.
std::optional<int> read_chosen_checkpoint(const store::H5File& f);
// The warning of a finished calibration that missed its target band; empty when it met it, when no
// calibration finished, or when the file predates the attribute.
std::string read_calibration_warning(const store::H5File& f);
// The noise search (noise_search.h) that set the calibration's max std: stds as text, ratios.
struct NoiseSearchTable {
  std::vector<std::string> stds;  // [P]
  std::vector<float> ratios;      // [P]
  std::string found;              // the std used, as text
};
void write_noise_search(store::H5File& f, const NoiseSearchTable& search);
// The stored search, or nothing when the calibration ran without one.
std::optional<NoiseSearchTable> read_noise_search(const store::H5File& f);
// /calibration/loss f32 [C, S].
std::vector<float> read_calibration_loss(const store::H5File& f);

// The rows of `pass` whose losses hold a NaN (/<pass>/nan_losses), per checkpoint: [C] lists of row
// indices, ascending; empty when the pass was never started or the file predates the dataset.
std::vector<std::vector<uint64_t>> read_nan_rows(const store::H5File& f, Pass pass);

// One run's share of a pass's cost (attributes of its group; never part of a result comparison).
struct PassCost {
  int64_t wall_ms = 0, worker_ms = 0, scored_examples = 0, scored_tokens = 0, ranks = 0;
};
// Adds wall_ms, worker_ms, scored_examples and scored_tokens to the sums of earlier runs; sets ranks.
void add_pass_cost(store::H5File& f, Pass pass, const PassCost& cost);
// The summed costs, or nothing when no run recorded them (files from before the report showed costs).
std::optional<PassCost> read_pass_cost(const store::H5File& f, Pass pass);

// The profile pass's per-example table `name` (dataset::kMeanLoss or kMeanLossFirst, f32 [C, K])
// spread over all records by /profile/example: [C, records], NaN where the pass scored nothing.
// Throws StoreError naming the dataset when the rows do not fit the records (damaged file).
std::vector<float> read_profile_table(const store::H5File& f, std::string_view name, uint64_t records);

// The settings that made /gradients (its attributes).
struct GradientAttrs {
  int64_t dim = 0, tokens = 0, examples = 0;  // examples: gradients.examples (the sample may hold fewer)
  uint64_t seed = 0;
  std::string params, projection, fingerprint;
  bool operator==(const GradientAttrs&) const = default;
};
void write_gradient_attrs(store::H5File& f, const GradientAttrs& attrs);
// The attributes of /gradients, or nothing when the group is missing or was cut off before they were
// written (its datasets are then no stage's: rebuild them).
std::optional<GradientAttrs> read_gradient_attrs(const store::H5File& f);

// What a selection file (SEL.selection.h5) says about its selection, besides the per-example columns.
// Tables are datasets, not attributes: an attribute lives in the object header (64 KiB), which a
// table of 10,000 sources overflows.
struct SelectionFacts {
  std::string method, budget_unit, results, time;  // results: the result file's name; time: UTC, ISO 8601
  std::string features = "loss";                   // select.features (files before it: loss)
  std::string budget_setting;                      // select.budget as written ("10%", "0.1", "40"); "" in old files
  int64_t budget = 0, seed = 0, selected = 0;      // selected: examples (the length of /selection/selected)
  bool loss_not_rising = false;                    // select.h: SelectResult::loss_not_rising
  std::vector<std::string> allocation;             // the allocation table's lines, the header first
  std::vector<std::string> outputs;                // "path<TAB>bytes<TAB>hash": files the selection vouches for
};
// The per-example columns of a selection file: N records.
struct SelectionArrays {
  std::vector<int64_t> selected_lines, cluster;  // [S] /examples/line values ascending, [N]
  std::vector<float> score;                      // [N]
  std::vector<uint8_t> candidate;                // [N]
};
void write_selection_file(store::H5File& f, const SelectionFacts& facts, const SelectionArrays& arrays);
// Reads the facts of a selection file, whichever version wrote it (older ones kept the tables as
// attributes). Throws StoreError naming the file when it holds no selection or a damaged one.
SelectionFacts read_selection_facts(const store::H5File& f);

// Points the result file's /selection at `selection` (a path relative to the result file's folder)
// and adds it to /selections (once): any HDF5 reader following the link sees the latest selection.
void link_selection(store::H5File& result, const std::string& selection);
// The selection file /selection points to ("" when the link is missing), and every selection file
// made from this result file (relative to its folder; empty before any selection).
std::string linked_selection(const store::H5File& result);
std::vector<std::string> read_selection_list(const store::H5File& result);

// What the selection and the report read of --stage gradients (its rows as stored above).
enum class GradientState { kAbsent, kIncomplete, kComplete };  // no /gradients; a unit not done; every unit done
GradientState gradient_state(const store::H5File& f);
struct GradientRows {
  int64_t dim = 0;               // D
  std::vector<int64_t> example;  // [G] rows of /examples, ascending
  std::vector<float> projected;  // [G, D] row-major
};
// The rows of a complete /gradients. Throws StoreError naming the file and the dataset when the stage is
// incomplete, or a dataset is missing, of the wrong shape or names a record outside /examples.
GradientRows read_gradients(const store::H5File& f);

}  // namespace curate::service::layout
