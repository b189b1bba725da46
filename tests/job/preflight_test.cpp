// require_model_gates: perturb.target neither model.path itself nor of another shape; config.json only.
#include "curate/job/preflight.h"

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::copy_model;
using curate::testing::golden_model;
using curate::testing::ScratchDir;

class ModelGatesTest : public ::testing::Test {
 protected:
  ModelGatesTest() {
    copy_model(golden_model("qwen2_tiny"), dir_ / "base");
    options_.engine.model = (dir_ / "base").string();
    options_.pass.difficulty_tokens = 4;
    options_.pass.profile_tokens = 8;
  }
  ScratchDir dir_;
  Options options_;
};

TEST_F(ModelGatesTest, AFineTunedTargetOfTheSameShapePasses) {
  copy_model(golden_model("qwen2_tiny"), dir_ / "tuned");
  std::string weights = curate::testing::read_file(dir_ / "tuned" / "model.safetensors");
  weights.back() = static_cast<char>(weights.back() ^ 1);  // other weights, same names and sizes
  curate::testing::write_file(dir_ / "tuned" / "model.safetensors", weights);
  options_.engine.target = (dir_ / "tuned").string();
  EXPECT_EQ(require_model_gates(options_).hidden_size, 64);
  options_.engine.target.clear();
  EXPECT_NO_THROW(require_model_gates(options_));
}

TEST_F(ModelGatesTest, TheBaseItselfIsRefused) {
  options_.engine.target = (dir_ / "base" / ".").string();  // the same folder, spelled otherwise
  EXPECT_THROW_WITH(require_model_gates(options_), ConfigError, "is model.path", "(the same folder)");
  copy_model(golden_model("qwen2_tiny"), dir_ / "copy");
  options_.engine.target = (dir_ / "copy").string();
  EXPECT_THROW_WITH(require_model_gates(options_), ConfigError, "(the same weights)", "fine-tuned");
}

TEST_F(ModelGatesTest, ATargetOfAnotherShapeIsRefused) {
  copy_model(golden_model("llama31_tiny"), dir_ / "llama");
  options_.engine.target = (dir_ / "llama").string();
  EXPECT_THROW_WITH(require_model_gates(options_), ConfigError, "is not of model.path's shape", "architectures");
}

}  // namespace
}  // namespace curate::service
