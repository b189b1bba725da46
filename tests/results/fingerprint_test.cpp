// The run's fingerprint by content (service/fingerprint.h): paths, copies and `touch` leave it,
// a changed byte of a model, tokenizer, target or dataset file changes it, a refusal names the changed
// file, and the hash cache answers unchanged files.
#include "curate/results/fingerprint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

using curate::testing::ScratchDir;
using curate::testing::write_file;
namespace fs = std::filesystem;

class FingerprintTest : public ::testing::Test {
 protected:
  FingerprintTest() {
    make_model(dir_ / "base", "weights-1");
    options_.engine.model = (dir_ / "base").string();
    options_.run.tokenizer = options_.engine.model;
    options_.run.dataset = (dir_ / "d.jsonl").string();
  }
  void make_model(const fs::path& dir, const std::string& weights) {
    fs::create_directories(dir);
    write_file(dir / "config.json", "{\"model_type\": \"qwen2\"}");
    write_file(dir / "tokenizer.json", "{\"model\": {}}");
    write_file(dir / "model.safetensors", weights);
  }
  std::string print(const Options& o, HashCache* cache = nullptr) {
    content_ = hash_inputs(o, dataset_, cache);
    return fingerprint(o, content_);
  }

  ScratchDir dir_;
  Options options_;
  ContentHash dataset_{1, 2};
  InputContent content_;
};

TEST_F(FingerprintTest, CopiesOtherPathsAndTouchLeaveIt) {
  const std::string first = print(options_);
  fs::copy(dir_ / "base", dir_ / "copy", fs::copy_options::recursive);
  Options copied = options_;
  copied.engine.model = copied.run.tokenizer = (dir_ / "copy").string();
  EXPECT_EQ(print(copied), first);
  copied.engine.model = copied.run.tokenizer = (dir_ / "copy/").string() + "../base";  // another spelling
  EXPECT_EQ(print(copied), first);
  fs::last_write_time(dir_ / "base/model.safetensors", fs::file_time_type::clock::now() + std::chrono::hours(1));
  EXPECT_EQ(print(options_), first);
  for (const options::Setting& s : content_entries(content_))
    EXPECT_EQ(s.value.find(dir_.path().string()), std::string::npos);
}

TEST_F(FingerprintTest, AChangedByteOfAnyInputChangesItAndTheRefusalNamesTheFile) {
  const std::string first = print(options_);
  const std::string first_files = input_files_text(content_);
  write_file(dir_ / "base/model.safetensors", "weights-2");  // same size, other bytes
  const std::string second = print(options_);
  ASSERT_NE(second, first);
  const std::string why = explain_difference(first, first_files, second, input_files_text(content_));
  EXPECT_NE(why.find("model.content: "), std::string::npos) << why;
  EXPECT_NE(why.find("(files of model.path that differ: model.safetensors)"), std::string::npos) << why;
  EXPECT_NE(why.find("restore those files"), std::string::npos) << why;
  EXPECT_EQ(why.find("tokenizer.content"), std::string::npos) << why;

  write_file(dir_ / "base/generation_config.json", "{}");
  const std::string files_before = input_files_text(content_);
  const std::string third = print(options_);
  EXPECT_NE(explain_difference(second, files_before, third, input_files_text(content_))
                .find("added to model.path: generation_config.json"),
            std::string::npos);

  const std::string before_dataset = third;
  dataset_ = ContentHash{1, 3};
  const std::string why_data = explain_difference(before_dataset, "", print(options_), "");
  EXPECT_NE(why_data.find("dataset.content: "), std::string::npos) << why_data;
  EXPECT_NE(why_data.find("(the bytes of data.path differ)"), std::string::npos) << why_data;
}

TEST_F(FingerprintTest, TokenizerIsItsFilesWhereverTheyLie) {
  const std::string first = print(options_);
  fs::create_directories(dir_ / "tok");
  fs::copy_file(dir_ / "base/tokenizer.json", dir_ / "tok/tokenizer.json");
  Options o = options_;
  o.run.tokenizer = (dir_ / "tok").string();
  EXPECT_EQ(print(o), first);                                // a folder with the same tokenizer files
  o.run.tokenizer = (dir_ / "tok/tokenizer.json").string();  // the file itself
  EXPECT_EQ(print(o), first);
  write_file(dir_ / "tok/tokenizer.json", "{\"model\": {\"x\": 1}}");
  const std::string edited = print(o);
  const std::string why = explain_difference(first, "", edited, "");
  EXPECT_NE(why.find("tokenizer.content"), std::string::npos) << why;
  EXPECT_EQ(why.find("model.content"), std::string::npos) << why;
}

TEST_F(FingerprintTest, TargetWeightsArePartOfIt) {
  make_model(dir_ / "tuned", "tuned-1");
  Options o = options_;
  const std::string none = print(o);
  o.engine.target = (dir_ / "tuned").string();
  const std::string tuned = print(o);
  EXPECT_NE(tuned, none);
  write_file(dir_ / "tuned/model.safetensors", "tuned-2");
  const std::string files = input_files_text(content_);
  const std::string replaced = print(o);
  const std::string why = explain_difference(tuned, files, replaced, input_files_text(content_));
  EXPECT_NE(why.find("target.content"), std::string::npos) << why;
  EXPECT_NE(why.find("files of perturb.target that differ: model.safetensors"), std::string::npos) << why;
}

TEST_F(FingerprintTest, TheCacheAnswersUnchangedFilesAndRehashesChangedOnes) {
  const fs::path cache_file = dir_ / "run.h5.hashes";
  std::string first;
  {
    HashCache cache(cache_file);
    first = print(options_, &cache);
    EXPECT_EQ(cache.hashed(), 3);  // config.json, model.safetensors, tokenizer.json (the tokenizer reuses the model's)
    cache.save();
  }
  {
    HashCache cache(cache_file);
    EXPECT_EQ(print(options_, &cache), first);
    EXPECT_EQ(cache.hashed(), 0);
    EXPECT_EQ(cache.reused(), 3);
    cache.save();
  }
  write_file(dir_ / "base/model.safetensors", "weights-3");
  HashCache cache(cache_file);
  EXPECT_NE(print(options_, &cache), first);
  EXPECT_EQ(cache.hashed(), 1);
}

TEST_F(FingerprintTest, TheChatTemplateFilesAreInTheTokenizerContent) {
  // data.chat_template = file:PATH: the file's bytes decide the prompts, as the tokenizer's template does.
  Options o = options_;
  write_file(dir_ / "mine.jinja", "{{ messages[0]['content'] }}");
  o.prompt.chat_template = "file:" + (dir_ / "mine.jinja").string();
  const std::string first = print(o);
  const std::string first_files = input_files_text(content_);
  write_file(dir_ / "mine.jinja", "{{ messages[0]['content'] }}!");
  const std::string second = print(o);
  ASSERT_NE(second, first);
  const std::string why = explain_difference(first, first_files, second, input_files_text(content_));
  EXPECT_NE(why.find("tokenizer.content: "), std::string::npos) << why;
  EXPECT_NE(why.find("data.chat_template file"), std::string::npos) << why;

  // chat_template.jinja in the tokenizer folder (transformers' form) is a tokenizer file.
  const std::string before = print(options_);
  write_file(dir_ / "base/chat_template.jinja", "{{ messages }}");
  EXPECT_NE(print(options_), before);
}

TEST_F(FingerprintTest, AMissingModelFolderIsAModelError) {
  Options o = options_;
  o.engine.model = o.run.tokenizer = (dir_ / "absent").string();
  EXPECT_THROW_WITH(hash_inputs(o, dataset_, nullptr), ModelError, "model.path", "absent");
}

}  // namespace
}  // namespace curate::service

namespace curate::service {
namespace {

// --stage gradients adds to a scored file: its [gradients] keys never change the file's fingerprint,
// only the group's own (gradient_fingerprint), which holds each of them and the generator's version.
TEST_F(FingerprintTest, GradientSettingsHaveTheirOwnFingerprint) {
  const std::string first = print(options_), gradients = gradient_fingerprint(options_);
  Options other = options_;
  other.gradients.examples = 7;
  other.gradients.numerics.dim = 32;
  other.gradients.numerics.seed = 3;
  other.gradients.numerics.params = "all";
  other.gradients.numerics.tokens = 5;
  other.gradients.numerics.projection = model::ProjectionKind::kGaussian;
  EXPECT_EQ(print(other), first);
  EXPECT_EQ(first.find("gradients."), std::string::npos);
  const std::vector<options::Change> changes = options::diff_fingerprints(
      options::parse_fingerprint(gradients), options::parse_fingerprint(gradient_fingerprint(other)));
  EXPECT_EQ(changes.size(), 6u);
  EXPECT_NE(gradients.find(model::kProjectionVersion), std::string::npos);
  other.engine.perturb.seed = 9;  // a setting of the file is not the group's
  other.gradients = options_.gradients;
  EXPECT_EQ(gradient_fingerprint(other), gradients);
}

}  // namespace
}  // namespace curate::service
