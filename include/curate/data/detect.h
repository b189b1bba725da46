// Settings read from the data rather than from the user: data.think_begin / data.think_end = auto
// (the reasoning markers the records use) and data.id_field = auto (a unique "id" field, else line
// numbers). Resolved once per run, before anything is parsed or fingerprinted, so the fingerprint
// holds what was detected: a later detection that differs cannot resume silently. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/data/record.h"

namespace curate::data {

// Reasoning markers of public datasets, in the order detection prefers on a tie.
struct KnownMarkers {
  const char* begin;
  const char* end;
};
inline constexpr KnownMarkers kKnownMarkers[] = {{"<think>", "</think>"},
                                                 {"<|begin_of_thought|>", "<|end_of_thought|>"}};

struct MarkerDetection {
  std::string begin, end;      // the markers to use; both empty: none (an assistant text is all reasoning)
  int64_t sampled = 0;         // non-blank records looked at
  std::vector<int64_t> found;  // per kKnownMarkers entry: sampled records holding its begin marker
  std::string note;            // what was found and chosen, for the log and `curate_tool check`
};

// Looks at the first `sample` non-blank records of `dataset` (dataset_files.h) for each known begin
// marker, as written or JSON-escaped. One kind found: that pair. None: no markers. Both: the pair of
// most records when the other is in at most 1% of the marked records (named in the note), else
// ConfigError (exit 2) asking to set data.think_begin and data.think_end.
MarkerDetection detect_markers(const std::string& dataset, int64_t sample = 1000);

// Resolves every "auto" of `options` for `dataset`: think_begin/think_end together (detect_markers;
// one of them auto and not the other is a ConfigError), id_field from `index` ("id" when
// index.ids_unique, else "" = line numbers, or "file:line" for several files). Returns one note per
// resolved setting ("data.id_field = auto: ..."). Throws ConfigError as detect_markers.
std::vector<std::string> resolve_auto(DataOptions& options, const std::string& dataset, const RecordIndex& index);

// Whether any of these settings is still "auto" (resolve_auto needs the index then).
bool needs_resolution(const DataOptions& options);

}  // namespace curate::data
