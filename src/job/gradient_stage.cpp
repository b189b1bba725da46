// --stage gradients on rank 0 (docs/DESIGN.md, "--stage gradients"): the sample, its plan and the
// /gradients group's settings; the units go through run_pass like a scoring pass's.
#include <filesystem>

#include "curate/results/fingerprint.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/option_table.h"
#include "curate/util/strings.h"
#include "job/coordinator.h"
#include "job/gradient_sample.h"
#include "results/output_plan.h"

namespace curate::service {
namespace {

layout::GradientAttrs wanted_attrs(const Options& options) {
  const GradientStageOptions& g = options.gradients;
  const char* projection = "";
  for (const auto& [name, kind] : model::kProjectionKinds) {
    if (kind == g.numerics.projection) projection = name;
  }
  return {g.numerics.dim,
          g.numerics.tokens,
          g.examples,
          g.numerics.seed,
          g.numerics.params,
          projection,
          gradient_fingerprint(options)};
}

// FNV-1a over the settings and the sample: the tag of the stage's units (Unit::settings).
uint64_t settings_tag(const std::string& fingerprint, const std::vector<uint64_t>& positions) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto add = [&](const void* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) h = (h ^ static_cast<const unsigned char*>(data)[i]) * 0x100000001b3ull;
  };
  add(fingerprint.data(), fingerprint.size());
  add(positions.data(), positions.size() * sizeof(uint64_t));
  return h;
}

[[noreturn]] void refuse_other_settings(const Options& options, const layout::GradientAttrs& stored) {
  std::string changes;
  try {
    changes = options::describe_changes(options::diff_fingerprints(
        options::parse_fingerprint(stored.fingerprint), options::parse_fingerprint(gradient_fingerprint(options))));
  } catch (const ConfigError& e) {
    changes = cat(" (", e.what(), ")");
  }
  throw ConfigError(cat(options.run.output, " holds /gradients made under other [gradients] settings:", changes,
                        "\nrerun with the stored settings to resume or reuse them, or add --fresh to rebuild "
                        "/gradients alone (the scored passes are kept)"));
}

void require_difficulty(const Options& options, const store::H5File& file) {
  if (layout::pass_complete(file, Pass::kDifficulty)) return;
  throw ConfigError(cat(options.run.output,
                        ": its difficulty pass is not finished; --stage gradients needs every "
                        "example's tokens and status: finish it first (--stage difficulty, profile or all with "
                        "the same configuration)"));
}

}  // namespace

void require_gradient_input(const Options& options, const std::string& print, uint64_t records,
                            const std::string& files) {
  const ResumeCheck check = check_resume(options.run.output, print, records, files);
  if (check.kind == ResumeCheck::kMissing && !std::filesystem::exists(journal_path(options))) {
    throw ConfigError(cat(options.run.output,
                          " does not exist: --stage gradients computes gradients for the examples "
                          "of a scored result file; run --stage difficulty (or profile, or all) with this "
                          "configuration and output.path first"));
  }
  if (check.kind == ResumeCheck::kOtherConfiguration) {
    throw ConfigError(check.detail +
                      "; --stage gradients adds to the result file of this configuration's scoring "
                      "run: use that run's settings (only [gradients] may differ)");
  }
  if (check.kind != ResumeCheck::kResumable) return;  // a killed run's file: rebuilt from its journal, checked then
  const store::H5File file = store::H5File::open(options.run.output, /*writable=*/false);
  require_difficulty(options, file);
  const std::optional<layout::GradientAttrs> stored = layout::read_gradient_attrs(file);
  if (stored && !options.run.fresh && stored->fingerprint != gradient_fingerprint(options)) {
    refuse_other_settings(options, *stored);
  }
}

void Coordinator::run_gradients() {
  const store::H5File& file = sink_->file();
  require_difficulty(options_, file);
  const layout::GradientAttrs wanted = wanted_attrs(options_);
  std::optional<layout::GradientAttrs> stored = layout::read_gradient_attrs(file);
  if (stored && (options_.run.fresh || stored->fingerprint != wanted.fingerprint)) {
    if (!options_.run.fresh) refuse_other_settings(options_, *stored);
    log::warn(cat("--fresh: removing ", options_.run.output, ":", layout::kGradients, " (dim ", stored->dim, ", ",
                  stored->examples, " examples, params ", stored->params, "); computing it again"));
    sink_->drop_gradients();
    stored.reset();
  }
  PassPlan p;
  p.pass = Pass::kGradients;
  p.slots = {{model::Family::kBase, 0}};
  p.tokens = options_.gradients.numerics.tokens;
  p.unit_examples = options_.pass.unit_examples;
  p.gradient = wanted;
  if (stored) {  // the sample drawn when the group was made (the selection may have changed since)
    for (int64_t position : file.read_i64(layout::kGradientExample))
      p.positions.push_back(static_cast<uint64_t>(position));
  } else {
    const SampleFrame frame = read_sample_frame(file);
    p.positions = gradient_sample(frame, options_.gradients.examples, options_.gradients.numerics.seed);
    log::info(cat("gradients: ", p.positions.size(), " examples sampled (seed ", wanted.seed, ", stratified over ",
                  frame.cluster.empty() ? "sources; no selection yet" : "sources and the selection's clusters",
                  "); dim ", wanted.dim, ", params ", wanted.params, ", first ", wanted.tokens, " response tokens"));
  }
  if (p.positions.empty()) {
    throw DataError(cat(options_.run.output,
                        " holds no scored example with a prompt and a response: nothing to "
                        "compute gradients for"));
  }
  p.settings = settings_tag(wanted.fingerprint, p.positions);
  p.cut_evenly();
  run_pass(p);
}

}  // namespace curate::service
