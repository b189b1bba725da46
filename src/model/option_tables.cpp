#include "curate/model/option_tables.h"

#include <exception>
#include <string>

#include "curate/util/error.h"

namespace curate::model {

using options::Affects;

namespace {

// perturb.gaussian_max_std: a std, or "auto" (search_max_std; the value keeps its default, the search's start).
options::EnumField max_std_field(PerturbOptions& o) {
  options::EnumField f;
  f.get = [&o] { return o.search_max_std ? std::string("auto") : options::value_text(&o.gaussian_max_std); };
  f.set = [&o](const std::string& text) {
    if (text == "auto") {
      o.search_max_std = true;
      return;
    }
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw ConfigError("perturb.gaussian_max_std = '" + text + "' is neither a number nor auto");
    o.gaussian_max_std = value;
    o.search_max_std = false;
  };
  f.names = "a standard deviation (0.008) or auto";
  return f;
}

}  // namespace

options::Group perturb_table(PerturbOptions& o) {
  options::Group g("[perturb]");
  const Affects r = Affects::kResults;
  g.add("perturb.gaussian_checkpoints", o.gaussian_checkpoints, "number of cumulative Gaussian checkpoints", r)
      .add("perturb.gaussian_min_std", o.gaussian_min_std, "noise std of step 1 (absolute, per element)", r)
      .add_parsed("perturb.gaussian_max_std", max_std_field(o),
                  "total noise std of the last checkpoint, or auto: searched on the calibration sample until a "
                  "checkpoint's loss ratio lies in pass.calibration_low..high (--stage calibrate prints it)",
                  r)
      .add("perturb.allow_calibration_miss", o.allow_calibration_miss,
           "a calibration that misses its band goes on with the closest checkpoint (a warning) instead of exit 3")
      .add("perturb.directional_checkpoints", o.directional_checkpoints, "checkpoints along the fine-tuning direction",
           r)
      .add("perturb.max_radius", o.max_radius, "distance of the last directional checkpoint", r)
      .add("perturb.min_radius", o.min_radius, "distance of the first (0 = max_radius / n)", r)
      .add("perturb.direction_excludes_embeddings", o.direction_excludes_embeddings,
           "leave embeddings out of the direction", r);
  return g;
}

options::Group score_table(EngineOptions& o) {
  options::Group g("[score]");
  const Affects r = Affects::kResults;
  g.add("score.device", o.device, "auto (cuda when the rank sees a GPU, else cpu), cpu, cuda or cuda:N", r)
      .add("score.dtype", o.dtype, "auto (bfloat16 on CUDA, float32 on CPU), float32, bfloat16 or float16", r)
      .add("score.threads", o.threads, "torch CPU threads per rank (fixed for reproducible bits)", r)
      .add("score.batch_tokens", o.score.batch_tokens, "padded tokens per forward batch")
      .add("score.lm_head_rows", o.score.lm_head_rows, "scored positions per lm_head chunk")
      .add("score.max_padding", o.score.max_padding, "largest padding fraction of a batch")
      .add("score.weight_broadcast", o.weight_broadcast,
           "auto, nccl or disk: how the scoring ranks of a node get the weights (auto = NCCL from one reader on CUDA "
           "nodes with several ranks, else each rank reads the disk); never changes results");
  return g;
}

options::Group gradient_table(GradientOptions& o) {
  options::Group g("[gradients]");
  const Affects r = Affects::kResults;
  g.add("gradients.tokens", o.tokens, "response tokens in the SFT loss (the first N; prompt masked)", r)
      .add("gradients.params", o.params,
           "default (last layer's attention and MLP projections and the final norm), all, or a comma-separated "
           "list of parameter names",
           r)
      .add("gradients.dim", o.dim, "dimension of the random projection of each gradient", r)
      .add_enum("gradients.projection", o.projection, kProjectionKinds, "entries of the projection matrix", r);
  return g;
}

}  // namespace curate::model
