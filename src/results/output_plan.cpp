#include "results/output_plan.h"

#include "curate/store/journal.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/journal_records.h"
#include "results/output_files.h"
#include "results/run_file.h"

namespace curate::service {
namespace {

struct JournalState {
  std::string fingerprint;  // "" for none or an unreadable journal
  bool base = false;        // the header is 'B'
  bool clean = false;       // the last record is 'C'
  int64_t units = 0;        // unit records
};
JournalState journal_state(const std::filesystem::path& path) {
  JournalState state;
  bool first = true;
  store::Journal::read(path, [&](std::span<const std::byte> record) {
    const std::optional<JournalRecord> kind = record_kind(record);
    if (first && (kind == JournalRecord::kFresh || kind == JournalRecord::kBase)) {
      state.fingerprint = header_fingerprint(record);
      state.base = kind == JournalRecord::kBase;
    }
    state.clean = record.size() == 1 && kind == JournalRecord::kClean;
    if (kind == JournalRecord::kUnit) ++state.units;
    first = false;
  });
  return state;
}

}  // namespace

std::filesystem::path journal_path(const Options& options) { return RunFiles::of(options.run.output).journal; }

std::filesystem::path base_path(const Options& options) { return RunFiles::of(options.run.output).base; }
std::filesystem::path index_cache_path(const Options& options) { return RunFiles::of(options.run.output).index; }
std::filesystem::path hash_cache_path(const Options& options) { return RunFiles::of(options.run.output).hashes; }

OutputPlan prepare_output(const Options& options, const std::string& print, uint64_t records,
                          const std::string& files) {
  const std::filesystem::path output = options.run.output, journal = journal_path(options);
  if (options.run.fresh) {  // whatever is there, resumable or not: apply_output_plan drops journal and base
    if (std::filesystem::exists(output)) {
      const ResumeCheck check = check_resume(output, print, records, files);
      const char* what = check.kind == ResumeCheck::kDamaged     ? "damaged "
                         : check.kind == ResumeCheck::kResumable ? "resumable "
                                                                 : "";
      log::warn(cat("--fresh: moved ", what, output.string(), " to ", move_aside(output).string(), "; starting over",
                    check.kind == ResumeCheck::kResumable ? "" : " (" + check.detail + ")"));
    } else if (std::filesystem::exists(journal)) {
      log::warn("--fresh: discarding " + journal.string() + "; starting over");
    }
    return {.new_journal = true};
  }
  const JournalState state = std::filesystem::exists(journal) ? journal_state(journal) : JournalState{};
  const bool journal_matches = state.fingerprint == print;
  const ResumeCheck check = check_resume(output, print, records, files);
  if (check.kind == ResumeCheck::kOtherConfiguration && check.stored_nothing && state.units == 0) {
    // A run that failed before storing a unit (a model folder without config.json, a worker that could
    // not load): it holds nothing to keep, and the fixed rerun must not be refused.
    log::warn(output.string() + " holds no results yet (an earlier run stopped before storing any); replacing it");
    std::filesystem::remove(output);
    return {.new_journal = true};
  }
  switch (check.kind) {
    case ResumeCheck::kResumable:
      if (journal_matches && !state.clean) {
        // Killed (or a node lost): HDF5 writes data, heaps and chunk indexes in no set order between
        // flushes, so even units written before the last flush are not to be trusted. The journal has
        // every unit of the run: rebuild from it.
        log::warn(output.string() + " was not closed cleanly (killed?); rebuilding it from " + journal.string());
        std::filesystem::remove(output);
        return {.restore_base = state.base};
      }
      if (journal_matches) return {};
      // Closed by a finished run (which removes its journal): the new journal starts from a copy of it.
      return {.new_journal = true, .snapshot = true};
    case ResumeCheck::kMissing:
      if (std::filesystem::exists(journal) && !journal_matches) {
        log::warn(journal.string() + " belongs to another configuration; starting a new one");
      }
      if (journal_matches) {
        log::warn(output.string() + " is missing; rebuilding it from " + journal.string());
        return {.restore_base = state.base};
      }
      return {.new_journal = true};
    case ResumeCheck::kOtherConfiguration:
      throw ConfigError(check.detail + "; or give another output.path, or --fresh to move it aside and start over");
    case ResumeCheck::kDamaged:
      if (journal_matches) {
        log::warn(output.string() + " is damaged (" + check.detail + "); moved to " + move_aside(output).string() +
                  ", rebuilding it from " + journal.string());
        return {.restore_base = state.base};
      }
      throw StoreError(check.detail +
                       "; no journal of this configuration can rebuild it: --fresh moves it aside and "
                       "starts over");
  }
  return {.new_journal = true};
}

std::filesystem::path apply_output_plan(const Options& options, const OutputPlan& plan) {
  const std::filesystem::path output = options.run.output, journal = journal_path(options), base = base_path(options);
  if (plan.new_journal) {
    std::filesystem::remove(journal);
    std::filesystem::remove(base);
  }
  if (plan.snapshot) {
    log::info(cat("keeping a copy of ", output.string(), " (", std::filesystem::file_size(output) >> 20, " MiB) as ",
                  base.string(), " until this run ends, so that a kill cannot lose its results"));
    store::copy_durably(output, base);
  }
  if (plan.restore_base) {
    if (!std::filesystem::exists(base)) {
      throw StoreError(journal.string() + " continues the results kept in " + base.string() +
                       ", which is missing: restore it, or --fresh to start over");
    }
    store::copy_durably(base, output);
  }
  return journal;
}

}  // namespace curate::service
