#include "results/output_plan.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/results/fingerprint.h"
#include "curate/store/journal.h"
#include "curate/util/atomic_file.h"
#include "curate/util/content_hash.h"
#include "curate/util/error.h"
#include "curate/util/log.h"
#include "curate/util/strings.h"
#include "results/journal_records.h"
#include "results/layout.h"
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
    if (kind == JournalRecord::kUnit || kind == JournalRecord::kStored) ++state.units;
    first = false;
  });
  return state;
}

// An HDF5 file (its signature first) whose first 16 MiB hold the results' format attribute, written
// when the file is created; or, when `journal` is a journal, any HDF5 file (the journal is synced before
// the result file is created, so a kill may leave the file without its attributes), or an empty file.
bool is_own_result_file(const std::filesystem::path& path, bool journal) {
  constexpr std::string_view kSignature = "\x89HDF\r\n\x1a\n";
  std::ifstream in(path, std::ios::binary);
  std::string head(16 << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.empty()) return true;
  if (!head.starts_with(kSignature)) return false;
  return journal || head.find(layout::kFormat) != std::string::npos;
}

[[noreturn]] void refuse(const std::filesystem::path& path, const std::string& why) {
  throw ConfigError(path.string() + " " + why);
}

}  // namespace

void check_result_files(const Options& options) {
  const std::string& out = options.run.output;
  if (out.empty()) throw ConfigError("output.path is empty: give the result file's name (e.g. --output.path run.h5)");
  if (std::filesystem::path(out).filename().empty() || std::filesystem::is_directory(out)) {
    throw ConfigError("output.path '" + out +
                      "' is a folder: give the name of the result file to write in it (e.g. --output.path " +
                      (std::filesystem::path(out) / "run.h5").string() + ")");
  }
  const std::vector<std::pair<std::string, std::filesystem::path>> inputs = {
      {"the dataset (data.path)", options.run.dataset},
      {"the model (model.path)", options.engine.model},
      {"the tokenizer (model.tokenizer)", options.run.tokenizer},
      {"the fine-tuned model (perturb.target)", options.engine.target}};
  const bool journal =
      store::is_journal(journal_path(options)) && std::filesystem::file_size(journal_path(options)) > 0;
  const std::vector<std::pair<std::filesystem::path, bool>> files = {
      // path, owned when it exists
      {out, is_own_result_file(out, journal)},
      {journal_path(options), store::is_journal(journal_path(options))},
      {RunFiles::of(out).lock, store::is_lock_file(RunFiles::of(out).lock)},
      {base_path(options), is_own_result_file(base_path(options), false)},
      {index_cache_path(options), data::is_index_cache(index_cache_path(options))},
      {hash_cache_path(options), HashCache::is_cache_file(hash_cache_path(options))}};
  for (const auto& [path, owned] : files) {
    for (const auto& [what, input] : inputs) {
      if (!input.empty() && std::filesystem::exists(input) && same_file(path, input)) {
        refuse(path, "(of output.path '" + out + "') is " + what + " '" + input.string() +
                         "': curate_dist never writes over an input; choose another output.path");
      }
    }
    const std::filesystem::file_status status = std::filesystem::status(path);
    if (!std::filesystem::exists(status)) continue;
    if (std::filesystem::is_directory(status)) {
      refuse(path, "is a folder, where curate_dist keeps a file of output.path '" + out +
                       "': it is left as it is; choose another output.path");
    }
    if (!std::filesystem::is_regular_file(status)) {
      refuse(path, "is not a regular file (a pipe or a device?): it is left as it is; choose another output.path");
    }
    if (!owned) {
      refuse(path, std::string("exists and is not ") + (path == out ? "a result file" : "a file of a run") +
                       " that curate_dist wrote: it is left as it is (curate_dist never moves, replaces or deletes "
                       "a file it did not write, --fresh included); move it away yourself, or choose another "
                       "output.path");
    }
  }
}

void check_result_files(const Options& options, const comm::Comm& comm) {
  std::string failure;
  std::exception_ptr error;
  if (comm.rank() == 0) {
    try {
      check_result_files(options);
    } catch (const std::exception& e) {
      failure = e.what();
      error = std::current_exception();
    }
  }
  failure = comm.broadcast(failure);
  if (error) std::rethrow_exception(error);
  if (!failure.empty()) throw ConfigError(failure);
}

std::filesystem::path journal_path(const Options& options) { return RunFiles::of(options.run.output).journal; }

std::filesystem::path base_path(const Options& options) { return RunFiles::of(options.run.output).base; }
std::filesystem::path index_cache_path(const Options& options) { return RunFiles::of(options.run.output).index; }
std::filesystem::path hash_cache_path(const Options& options) { return RunFiles::of(options.run.output).hashes; }

bool stage_stored(const Options& options, const std::string& print, uint64_t records) {
  if (options.run.fresh || std::filesystem::exists(journal_path(options))) return false;
  if (options.run.stage == Stage::kCalibrate) return false;  // it reads the stored calibration to print it
  if (check_resume(options.run.output, print, records).kind != ResumeCheck::kResumable) return false;
  const store::H5File file = store::H5File::open(options.run.output, /*writable=*/false);
  const Stage stage = options.run.stage;
  if (stage == Stage::kGradients) {
    const std::optional<layout::GradientAttrs> stored = layout::read_gradient_attrs(file);
    return stored && stored->fingerprint == gradient_fingerprint(options) &&
           layout::pass_complete(file, Pass::kGradients);
  }
  return (!scores_difficulty(stage) || layout::pass_complete(file, Pass::kDifficulty)) &&
         (!scores_profile(stage) || layout::pass_complete(file, Pass::kProfile));
}

OutputPlan prepare_output(const Options& options, const std::string& print, uint64_t records,
                          const std::string& files) {
  check_result_files(options);  // what follows moves, replaces or removes only files curate_dist made
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
