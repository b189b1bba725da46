// curate_dist's option table (service/options.h): parsing into the one owner of each setting, the
// stage enum, --help, and which settings the fingerprint holds.
#include "curate/config/options.h"

#include "curate/results/fingerprint.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::service {
namespace {

Options parsed(std::vector<std::string> args) {
  args.insert(args.begin(), {"curate_dist", "--model.path", "/models/base", "--data.path", "/data/d.jsonl"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  Options options;
  EXPECT_TRUE(parse_options(static_cast<int>(argv.size()), argv.data(), options));
  validate(options);
  return options;
}

bool has_key(const options::Fingerprint& f, const std::string& key) {
  for (const options::Setting& s : f) {
    if (s.key == key) return true;
  }
  return false;
}

TEST(ServiceOptions, EachSettingHasOneOwner) {
  const Options o = parsed({"--run.seed", "3", "--perturb.target", "/models/tuned", "--stage", "select"});
  EXPECT_EQ(o.engine.model, "/models/base");
  EXPECT_EQ(o.engine.target, "/models/tuned");
  EXPECT_EQ(o.engine.perturb.seed, 3u);
  EXPECT_EQ(o.run.stage, Stage::kSelect);
  EXPECT_EQ(o.run.tokenizer, "/models/base");  // default: the model folder
  EXPECT_EQ(o.engine.threads, 1);
}

TEST(ServiceOptions, UnknownStageIsAConfigError) {
  try {
    parsed({"--stage", "score"});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("stage = 'score' is unknown: use difficulty, profile, select, all, compare, "
                                         "calibrate or gradients"),
              std::string::npos)
        << e.what();
  }
}

TEST(ServiceOptions, CompareStageAndItsSettings) {
  const Options o = parsed({"--stage", "compare", "--compare.methods", "temp,s2l", "--compare.seeds", "2"});
  EXPECT_EQ(o.run.stage, Stage::kCompare);
  EXPECT_EQ(o.compare.seeds, 2);
  EXPECT_THROW(parsed({"--stage", "compare", "--compare.methods", "temp,best"}), ConfigError);
  EXPECT_NO_THROW(parsed({"--stage", "select", "--compare.methods", "temp,best"}));  // checked where it is used
  // [compare] never changes the scores: a run resumes under other compare settings.
  EXPECT_EQ(fingerprint_entries(parsed({}), InputContent{}),
            fingerprint_entries(parsed({"--compare.seeds", "5", "--compare.learning_rate", "1e-3"}), InputContent{}));
}

// A UTF-8 BOM (Notepad and other Windows editors save one) is not part of the first key.
TEST(ServiceOptions, IniFileWithAByteOrderMarkIsRead) {
  const std::string path = ::testing::TempDir() + "bom_run.ini";
  std::ofstream(path, std::ios::binary) << "\xEF\xBB\xBFstage = select\n[run]\nseed = 4\n";
  const Options o = parsed({"--config", path});
  EXPECT_EQ(o.run.stage, Stage::kSelect);
  EXPECT_EQ(o.engine.perturb.seed, 4u);
  std::remove(path.c_str());
}

TEST(ServiceOptions, NegativeCountsAndTimesNameTheOption) {
  EXPECT_THROW_WITH(parsed({"--score.batch_tokens", "0"}), ConfigError, "score.batch_tokens = 0 must be at least 1");
  EXPECT_THROW_WITH(parsed({"--run.worker_timeout", "-5"}), ConfigError, "run.worker_timeout = -5");
  EXPECT_THROW_WITH(parsed({"--score.threads", "-1"}), ConfigError, "score.threads = -1");
}

TEST(ServiceOptions, FingerprintHoldsResultsSettingsOnly) {
  const options::Fingerprint f = fingerprint_entries(parsed({}), InputContent{});
  for (const char* key :
       {"model.content", "tokenizer.content", "target.content", "dataset.content", "perturb.noise_version", "run.seed",
        "pass.unit_examples", "score.device", "score.threads", "score.window", "perturb.max_radius",
        "data.messages_field", "data.chat_template", "filter.method", "store.token_losses", "test.fake_worker"}) {
    EXPECT_TRUE(has_key(f, key)) << key;
  }
  for (const char* key :
       {"model.path", "data.path", "perturb.target", "output.path", "score.batch_tokens", "score.lm_head_rows",
        "score.max_padding", "score.weight_broadcast", "run.log_level", "run.flush_seconds", "data.strict",
        "select.budget", "select.threads", "plan.gpu_tokens_per_second"}) {
    EXPECT_FALSE(has_key(f, key)) << key;
  }
  EXPECT_EQ(f.front().key, "model.content");
  for (const options::Setting& s : f) EXPECT_EQ(s.value.find("/models/"), std::string::npos) << s.key;  // no paths
}

TEST(ServiceOptions, BatchingLeavesTheFingerprintAndASeedChangesIt) {
  const InputContent content;
  const std::string base = fingerprint(parsed({}), content);
  EXPECT_EQ(
      fingerprint(parsed({"--score.batch_tokens", "64", "--score.lm_head_rows", "8", "--run.progress_seconds", "1"}),
                  content),
      base);
  const std::string seeded = fingerprint(parsed({"--run.seed", "5"}), content);
  const std::string why = options::explain_difference(base, seeded);
  EXPECT_NE(why.find("1 setting(s) differ"), std::string::npos) << why;
  EXPECT_NE(why.find("run.seed: 0 -> 5"), std::string::npos) << why;
}

TEST(ServiceOptions, HelpListsTheTablesButNotTheTestKeys) {
  std::string arg0 = "curate_dist", arg1 = "--help";
  char* argv[] = {arg0.data(), arg1.data()};
  std::ostringstream captured;
  std::streambuf* previous = std::cout.rdbuf(captured.rdbuf());
  Options o;
  const bool go_on = parse_options(2, argv, o);
  std::cout.rdbuf(previous);
  EXPECT_FALSE(go_on);
  const std::string help = captured.str();
  for (const char* key : {"--stage", "--score.batch_tokens arg (=16384)", "--perturb.gaussian_min_std arg (=0.002)",
                          "--data.think_end", "--filter.method", "--select.output", "--plan.cpu_tokens_per_second"}) {
    EXPECT_NE(help.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(help.find("test.fake_worker"), std::string::npos);
}

}  // namespace
}  // namespace curate::service

namespace curate::service {
namespace {

TEST(ServiceOptions, RecordedSettingsParseBackUnderTheCommandLine) {
  Options o = parsed({"--select.budget", "10%", "--data.think_begin", "<think>", "--data.think_end", "</think>",
                      "--output.path", "runs/r.h5", "--pass.profile_tokens", "77"});
  const std::string ini = settings_ini(o);
  EXPECT_NE(ini.find("[output]\npath = " + (std::filesystem::current_path() / "runs/r.h5").string()), std::string::npos)
      << ini;
  std::string arg0 = "curate_tool explain", arg1 = "--pass.difficulty_tokens", arg2 = "9";
  char* argv[] = {arg0.data(), arg1.data(), arg2.data()};
  Options back;
  ASSERT_TRUE(parse_options(3, argv, back, ini, "r.h5's recorded settings"));
  validate(back);
  EXPECT_EQ(back.select.budget.text, "10%");
  EXPECT_EQ(back.data.think_begin, "<think>");
  EXPECT_EQ(back.pass.profile_tokens, 77);
  EXPECT_EQ(back.pass.difficulty_tokens, 9);  // the command line over the recorded settings
  EXPECT_EQ(back.run.dataset, "/data/d.jsonl");
  EXPECT_EQ(back.run.output, (std::filesystem::current_path() / "runs/r.h5").string());
  EXPECT_NE(settings_ini(back).find("\ndifficulty_tokens = 9\n"), std::string::npos);
  // Every setting survives: the fingerprint of the settings read back is the original's, but for the override.
  back.pass.difficulty_tokens = o.pass.difficulty_tokens;
  EXPECT_EQ(options::results_entries(option_groups(back)), options::results_entries(option_groups(o)));
  try {
    Options bad;
    parse_options(1, argv, bad, "[select]\nbudget_typo = 3\n", "r.h5's recorded settings");
    FAIL() << "an unknown recorded key is refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("(in r.h5's recorded settings or on the command line)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace curate::service
