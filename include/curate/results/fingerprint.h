// A run's fingerprint: every input and setting that changes results, by content, never by path.
// Rank 0 hashes the inputs once per run (hash_inputs, answered by a HashCache beside the output for
// files whose identity did not change); the text goes into the result file and the journal, and a
// stored run is resumed only under an equal fingerprint. Torch-free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "curate/config/options.h"
#include "curate/util/content_hash.h"
#include "curate/util/option_table.h"

namespace curate::service {

// What the run's inputs hold.
struct InputContent {
  std::vector<FileHash> model;      // folder_print of model.path
  std::vector<FileHash> tokenizer;  // the tokenizer files (tokenizer.json, tokenizer_config.json,
                                    // special_tokens_map.json) of model.tokenizer, or the file it names
  std::vector<FileHash> target;     // folder_print of perturb.target (empty when none)
  bool has_target = false;
  ContentHash dataset;  // data::RecordIndex::content: the dataset file's bytes
};

// Hashes model.path, the tokenizer and perturb.target (each file once; `cache` answers files whose
// identity is unchanged); `dataset` is the record index's content hash (so the dataset is not read
// twice). Throws ModelError naming the option and the file that cannot be read.
InputContent hash_inputs(const Options& options, const ContentHash& dataset, HashCache* cache);

// model.content, tokenizer.content, target.content ('' without a target) and dataset.content: digests
// of the prints above, so that a copy of a folder, `touch`, or another path to the same bytes is the
// same input, and any changed byte of a file that decides results is another.
options::Fingerprint content_entries(const InputContent& content);

// Every setting that changes results, as key = value: content_entries, the noise generator's version
// and the table entries marked Affects::kResults (never paths, batching, threads or timeouts). Stored in
// the result file (format_fingerprint's text) so that a resumed run is known to continue the same
// computation.
options::Fingerprint fingerprint_entries(const Options& options, const InputContent& content);
std::string fingerprint(const Options& options, const InputContent& content);  // format_fingerprint(...)
// fingerprint_entries leave out the [gradients] keys: --stage gradients adds to a scored file without
// changing its fingerprint. This is theirs (and the projection generator's version), kept on /gradients:
// a rerun with other gradient settings is refused, or rebuilds /gradients alone with --fresh.
std::string gradient_fingerprint(const Options& options);

// The per-file prints behind the content keys, one "role\tname\tsize\thash" line per file (role:
// model, tokenizer, target). Stored beside the fingerprint so that a refusal names the changed files.
std::string input_files_text(const InputContent& content);

// Why a stored run cannot be resumed under `wanted`: each changed key with its stored and wanted
// value (a content key also with the files that changed, from the two input_files_text's; either may
// be ''), then the remedy. Keys in `ignored` are skipped. Empty when nothing else differs.
std::string explain_difference(std::string_view stored, std::string_view stored_files, std::string_view wanted,
                               std::string_view wanted_files, const std::vector<std::string>& ignored = {});

// The content keys of the inputs only a scoring run reads: the selection ignores them.
inline const std::vector<std::string> kModelContentKeys = {"model.content", "tokenizer.content", "target.content"};

}  // namespace curate::service
