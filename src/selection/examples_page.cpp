// The rows of SEL.examples.html (selection_outputs.h examples_page): the selected examples' columns and
// the beginning of their reasoning text, read from the dataset in one pass.
#include <algorithm>
#include <filesystem>
#include <vector>

#include "curate/data/dataset.h"
#include "curate/data/detect.h"
#include "curate/util/strings.h"
#include "selection/selection_outputs.h"

namespace curate::service {

report::ExamplesPage examples_page(const RecordSource& source, const SelectionColumns& columns,
                                   const select::SelectResult& result, const SelectionFiles& files,
                                   const std::filesystem::path& results) {
  namespace fs = std::filesystem;
  report::ExamplesPage page;
  page.title = files.selected.filename().string();
  page.results = fs::absolute(results).lexically_normal().string();
  page.report = fs::absolute(files.report).lexically_proximate(fs::absolute(files.examples).parent_path()).string();
  page.selected = static_cast<int64_t>(result.selected.size());
  std::vector<std::size_t> positions(result.selected.begin(), result.selected.end());
  std::sort(positions.begin(), positions.end());  // dataset order
  if (positions.size() > report::kMaxExampleRows) positions.resize(report::kMaxExampleRows);
  if (positions.empty()) return page;
  const data::RecordIndex index = data::load_or_build_index(source.dataset, source.index);
  data::DataOptions data = source.data;
  if (data::needs_resolution(data)) data::resolve_auto(data, source.dataset.string(), index);
  const std::vector<data::ParseResult> records = data::read_records(source.dataset, index, positions, data);
  for (std::size_t k = 0; k < positions.size(); ++k) {
    const std::size_t i = positions[k];
    report::ExampleRow row;
    row.id = columns.id[i];
    row.line = columns.line[i];
    row.source = columns.source[i];
    row.domain = columns.domain[i];
    row.cluster = result.cluster[i];
    row.score = result.score[i];
    row.difficulty = columns.difficulty[i];
    row.prompt_tokens = columns.prompt_tokens[i];
    row.reasoning_tokens = columns.reasoning_tokens[i];
    const data::ParseResult& record = records[k];
    if (!record.example)
      row.text = cat("(the record no longer parses: ", record.detail, "; the dataset changed since it was scored)");
    else if (record.example->reasoning.empty())
      row.text = record.example->pretokenized ? "(pretokenized: token ids, no text)" : "(no reasoning text)";
    else
      row.text = record.example->reasoning.substr(0, 4 * report::kExampleTextChars);  // the page shortens it
    page.rows.push_back(std::move(row));
  }
  return page;
}

}  // namespace curate::service
