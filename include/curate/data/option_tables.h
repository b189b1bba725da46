// The data component's option tables (util/option_table.h), shared by curate_dist and curate_tool
// (prepare, check). Each binds the fields of the struct it is given; the defaults are the struct's.
#pragma once

#include "curate/data/prompt.h"
#include "curate/data/record.h"
#include "curate/util/option_table.h"

namespace curate::data {

// [data] record fields and markers (data.*; data.strict never changes results, the rest do).
options::Group data_table(DataOptions& options);
// [data] chat template, system prompt, generation prompt, response prefix and score.window.
options::Group prompt_table(PromptOptions& options);

}  // namespace curate::data
