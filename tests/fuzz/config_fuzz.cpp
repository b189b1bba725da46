// config.json: model::parse_model_config, then what loading does with an accepted config (the
// parameter count that tools print, the list of tensors the weights must hold, the JSON written
// back by make-model, which must parse to the same config).
#include "curate/model/config.h"
#include "curate/util/error.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace curate::model;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ModelConfig config;
  try {
    config = parse_model_config(text, "config.json");
  } catch (const curate::ModelError&) {
    return 0;
  }
  CURATE_FUZZ_CHECK(config.hidden_size > 0 && config.num_attention_heads > 0 && config.head_dim > 0);
  CURATE_FUZZ_CHECK(config.num_attention_heads % config.num_key_value_heads == 0);
  CURATE_FUZZ_CHECK(config.num_parameters() > 0);
  const std::vector<TensorSpec> specs = expected_tensors(config);
  CURATE_FUZZ_CHECK(!specs.empty());
  const ModelConfig again = parse_model_config(model_config_to_json(config), "written config.json");
  CURATE_FUZZ_CHECK(again.num_parameters() == config.num_parameters());
  CURATE_FUZZ_CHECK(again.rope_scaling.type == config.rope_scaling.type);
  return 0;
}
