#include "curate/data/option_tables.h"

namespace curate::data {

using options::Affects;

options::Group data_table(DataOptions& o) {
  options::Group g("[data]");
  const Affects r = Affects::kResults;
  g.add("data.format", o.format, "auto, sharegpt, flat or pretokenized", r)
      .add("data.id_field", o.id_field,
           "field with a stable example id; empty: the line number (file:line for a folder); auto: \"id\" when every "
           "record has a distinct one, else line numbers",
           r)
      .add("data.source_field", o.source_field, "field naming the source", r)
      .add("data.domain_field", o.domain_field, "field naming the domain", r)
      .add("data.conversations_field", o.conversations_field, "sharegpt turns", r)
      .add("data.messages_field", o.messages_field,
           "sharegpt turns in OpenAI style, when there is no conversations_field", r)
      .add("data.prompt_field", o.prompt_field, "flat prompt (OpenThoughts: problem)", r)
      .add("data.reasoning_field", o.reasoning_field, "flat reasoning", r)
      .add("data.answer_field", o.answer_field, "flat answer", r)
      .add("data.response_field", o.response_field, "flat assistant text with reasoning markers", r)
      .add("data.think_begin", o.think_begin,
           "reasoning begin marker; auto: detected from the first 1000 records (<think> or <|begin_of_thought|>, or "
           "none)",
           r)
      .add("data.think_end", o.think_end, "reasoning end marker; auto together with data.think_begin", r)
      .add("data.ids_field", o.ids_field, "pretokenized ids", r)
      .add("data.reasoning_start_field", o.reasoning_start_field, "pretokenized first reasoning token", r)
      .add("data.max_line_bytes", o.max_line_bytes, "longer lines are skipped", r)
      .add("data.max_prompt_tokens", o.max_prompt_tokens,
           "records with a longer prompt are skipped as prompt_too_long (0: the model's context length minus the "
           "scored window)",
           r)
      .add("data.strict", o.strict, "stop at the first bad record")
      .add("data.allow_duplicate_ids", o.allow_duplicate_ids,
           "accept records that share a data.id_field value (then the selected ids cannot tell them apart)");
  return g;
}

options::Group prompt_table(PromptOptions& o) {
  options::Group g("[data] prompt");
  const Affects r = Affects::kResults;
  g.add("data.chat_template", o.chat_template,
        "auto (the tokenizer's own Jinja template), chatml, llama3, plain or file:PATH.jinja", r)
      .add("data.system_prompt", o.system_prompt, "auto (the template's default), none, or the text", r)
      .add("data.generation_prompt", o.generation_prompt, "emit the assistant header", r)
      .add("data.response_prefix", o.response_prefix, "text before the reasoning (\\n escapes)", r)
      .add_enum("score.window", o.window, kScoreWindows,
                "response (the reference's: the whole assistant text + EOS after the prompt) or reasoning (between the "
                "markers)",
                r);
  return g;
}

}  // namespace curate::data
