#include "curate/data/detect.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "curate/data/dataset_files.h"
#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::data {
namespace {

constexpr std::size_t kKinds = std::size(kKnownMarkers);

// The marker as it may appear inside a JSON string (escaped), for a search in the raw line.
std::string json_escaped(const std::string& text) {
  const std::string quoted = nlohmann::json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}

std::string pair_name(std::size_t kind) { return cat(kKnownMarkers[kind].begin, " ... ", kKnownMarkers[kind].end); }

}  // namespace

MarkerDetection detect_markers(const std::string& dataset, int64_t sample) {
  MarkerDetection d;
  d.found.assign(kKinds, 0);
  DatasetLines lines(dataset);
  Line line;
  while (d.sampled < sample && lines.next(line)) {
    if (!line.too_long && line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++d.sampled;
    for (std::size_t k = 0; k < kKinds; ++k) {
      const std::string begin = kKnownMarkers[k].begin;
      if (line.text.find(begin) != std::string::npos || line.text.find(json_escaped(begin)) != std::string::npos)
        ++d.found[k];
    }
  }
  const std::size_t best = static_cast<std::size_t>(std::max_element(d.found.begin(), d.found.end()) - d.found.begin());
  int64_t others = 0, marked = 0;
  for (std::size_t k = 0; k < kKinds; ++k) {
    marked += d.found[k];
    if (k != best) others += d.found[k];
  }
  const std::string of = cat(" of the first ", d.sampled, " records");
  if (marked == 0) {
    d.note = cat("data.think_begin/think_end = auto: no known reasoning marker in any", of,
                 ": an assistant text is all reasoning (set data.think_begin and data.think_end if the records "
                 "use other markers)");
    return d;
  }
  if (others * 100 > marked) {
    std::string counts;
    for (std::size_t k = 0; k < kKinds; ++k) counts += cat(k ? ", " : "", kKnownMarkers[k].begin, " in ", d.found[k]);
    throw ConfigError(cat("data.think_begin/think_end = auto: the records mix reasoning markers (", counts, of,
                          "): set data.think_begin and data.think_end to the markers to split at"));
  }
  d.begin = kKnownMarkers[best].begin;
  d.end = kKnownMarkers[best].end;
  d.note = cat("data.think_begin/think_end = auto: ", pair_name(best), " (in ", d.found[best], of, ")");
  if (others > 0) d.note += cat("; ", others, " record(s) hold other markers and are split at these");
  return d;
}

bool needs_resolution(const DataOptions& options) {
  return options.think_begin == "auto" || options.think_end == "auto" || options.id_field == "auto";
}

std::vector<std::string> resolve_auto(DataOptions& options, const std::string& dataset, const RecordIndex& index) {
  std::vector<std::string> notes;
  if ((options.think_begin == "auto") != (options.think_end == "auto")) {
    throw ConfigError(
        "data.think_begin and data.think_end are detected together: set both to auto, or both to "
        "the markers");
  }
  if (options.think_begin == "auto") {
    const MarkerDetection d = detect_markers(dataset);
    options.think_begin = d.begin;
    options.think_end = d.end;
    notes.push_back(d.note);
  }
  if (options.id_field == "auto") {
    options.id_field = index.ids_unique ? "id" : "";
    notes.push_back(index.ids_unique
                        ? cat("data.id_field = auto: \"id\" (all ", index.size(), " records have one, all distinct)")
                    : index.several ? "data.id_field = auto: file name:line (the records lack a distinct \"id\" field)"
                                    : "data.id_field = auto: line numbers (the records lack a distinct \"id\" field)");
  }
  return notes;
}

}  // namespace curate::data
