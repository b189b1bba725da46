#include "curate/compare/options.h"

#include <algorithm>
#include <cmath>

#include "curate/util/error.h"
#include "curate/util/strings.h"

namespace curate::compare {

options::Group compare_table(CompareOptions& o) {
  options::Group g("[compare]");
  g.add("compare.methods", o.methods,
        "--stage compare: selection methods compared at select.budget (temp, random, longest, middle-perplexity, "
        "difficulty, learnability, s2l)")
      .add("compare.seeds", o.seeds, "selections per seeded method (temp, random, s2l): select.seed + 0..seeds-1")
      .add("compare.eval_examples", o.eval_examples,
           "held-out split of the scored records, per source, drawn before any selection and kept out of every "
           "pool (0 = none)")
      .add("compare.eval_seed", o.eval_seed, "seed of the held-out draw")
      .add("compare.eval_path", o.eval_path,
           "your benchmark (JSONL, any data.* format) with checkable answers: the primary evaluation set")
      .path()
      .add("compare.answer_field", o.answer_field, "field of an evaluation record holding its answer")
      .add("compare.extractor", o.extractor,
           "auto, number, boxed or choice: how an answer is read from a response without the field")
      .add("compare.output", o.output, "folder of the compare outputs (default: OUTPUT stem + .compare)")
      .path()
      .add("compare.finetuning_type", o.finetuning_type, "A/B fine-tunes: full or lora")
      .add("compare.epochs", o.epochs, "A/B fine-tunes: epochs")
      .add("compare.learning_rate", o.learning_rate, "A/B fine-tunes: learning rate")
      .add("compare.template", o.template_name, "A/B fine-tunes: LLaMA-Factory chat template (qwen, llama3, chatml...)")
      .add("compare.batch_size", o.batch_size, "A/B fine-tunes: per-device batch")
      .add("compare.gradient_accumulation", o.gradient_accumulation, "A/B fine-tunes: gradient accumulation steps")
      .add("compare.cutoff_len", o.cutoff_len, "A/B fine-tunes: longest tokenized example")
      .add("compare.lora_rank", o.lora_rank, "A/B fine-tunes with lora: rank")
      .add("compare.max_new_tokens", o.max_new_tokens, "A/B evaluation: most tokens of a greedy answer")
      .add("compare.bootstrap", o.bootstrap, "A/B table: bootstrap resamples of the difference to random")
      .add("compare.device", o.device, "A/B fine-tunes: auto (LLaMA-Factory's choice) or cpu");
  return g;
}

std::vector<select::SelectMethod> parse_methods(const std::string& text) {
  std::vector<select::SelectMethod> methods;
  std::vector<std::string> names(1);
  for (char c : text) {
    if (c == ',')
      names.emplace_back();
    else if (c != ' ' && c != '\t')
      names.back() += c;
  }
  for (const std::string& name : names) {
    if (name.empty()) continue;
    const auto* found = std::find_if(std::begin(select::kSelectMethods), std::end(select::kSelectMethods),
                                     [&](const auto& entry) { return name == entry.first; });
    if (found == std::end(select::kSelectMethods)) {
      throw ConfigError(cat("compare.methods: '", name,
                            "' is not a selection method; use temp, random, longest, middle-perplexity, difficulty, "
                            "learnability or s2l"));
    }
    if (std::find(methods.begin(), methods.end(), found->second) != methods.end()) {
      throw ConfigError(cat("compare.methods names '", name, "' twice"));
    }
    methods.push_back(found->second);
  }
  if (methods.empty()) throw ConfigError("compare.methods is empty: name at least one method (e.g. temp, random)");
  return methods;
}

bool seeded(select::SelectMethod method) {
  using select::SelectMethod;
  return method == SelectMethod::kTemp || method == SelectMethod::kRandom || method == SelectMethod::kS2l;
}

void validate(const CompareOptions& o) {
  parse_methods(o.methods);
  if (o.seeds < 1) throw ConfigError(cat("compare.seeds = ", o.seeds, " must be at least 1"));
  if (o.eval_examples < 0) throw ConfigError(cat("compare.eval_examples = ", o.eval_examples, " must be 0 or more"));
  if (o.extractor != "auto" && o.extractor != "number" && o.extractor != "boxed" && o.extractor != "choice") {
    throw ConfigError(cat("compare.extractor = '", o.extractor, "' is unknown; use auto, number, boxed or choice"));
  }
  if (o.finetuning_type != "full" && o.finetuning_type != "lora") {
    throw ConfigError(cat("compare.finetuning_type = '", o.finetuning_type, "' is unknown; use full or lora"));
  }
  if (!(o.epochs > 0) || !(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    throw ConfigError(
        cat("compare.epochs = ", o.epochs, " and compare.learning_rate = ", o.learning_rate, " must be positive"));
  }
  if (o.template_name.empty()) throw ConfigError("compare.template is empty: name a LLaMA-Factory template");
  if (o.batch_size < 1 || o.gradient_accumulation < 1 || o.cutoff_len < 1 || o.lora_rank < 1 || o.max_new_tokens < 1 ||
      o.bootstrap < 1) {
    throw ConfigError(
        "compare.batch_size, gradient_accumulation, cutoff_len, lora_rank, max_new_tokens and bootstrap must be "
        "at least 1");
  }
  if (o.device != "auto" && o.device != "cpu") {
    throw ConfigError(cat("compare.device = '", o.device, "' is unknown; use auto or cpu"));
  }
}

}  // namespace curate::compare
