// `curate_tool explain`: one example of a finished run, whole: its text, token counts, losses,
// cluster, score and why the latest selection took it or not. Read-only; torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "curate/config/options.h"

namespace curate::service {

// Which example: by its id (/examples/id: the data.id_field value, or the line number as text) or by
// its 1-based line in the dataset; exactly one of the two.
struct ExplainOptions {
  std::string id;    // --id
  int64_t line = 0;  // --line
};

// Prints the example of `job`'s result file (output.path) that `which` names: the record's text
// (control characters escaped), status, token counts, difficulty loss, the profile means per
// checkpoint, and, from the selection the result file links (/selection; else select.output's), its
// cluster, score, rank by score within the cluster, its allocation row and the verdict (selected,
// skipped, filtered by difficulty, not a candidate, below its cluster's cut, ...). Throws ConfigError
// (exit 2) when `which` is not one example or names none, and what read_columns throws for a result
// file whose passes are not complete.
void explain(const Options& job, const ExplainOptions& which, std::ostream& out);

// The settings of the run that wrote `result` (its settings attribute, layout.h), with argv's
// --section.key value over them (argv[0] is a program name), validated, output.path set to `result`:
// what `curate_tool explain RUN.h5 ID` explains with. Throws ConfigError (exit 2) when the file records
// no settings (written before it did: use the --config form) or names no dataset; DataError (exit 3)
// naming the missing file when data.path no longer exists (the dataset moved: give --data.path).
Options recorded_settings(const std::filesystem::path& result, int argc, char** argv);

}  // namespace curate::service
