// End-to-end tests of the curate_tool binary: what a user types and sees.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <vector>

#include "support/test_support.h"

namespace {

using curate::testing::golden_model;
using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result run_command(const std::string& line) {
  std::string command = line + " 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Result run_tool(const std::string& args) { return run_command(std::string(CURATE_TOOL_PATH) + " " + args); }

TEST(CurateToolNll, MatchesGoldenAndKeepsOtherKeysInOrder) {
  ScratchDir dir;
  auto golden = nlohmann::json::parse(read_file(golden_model("qwen2_tiny") / "golden.json"));
  std::string input;
  int i = 0;
  for (const auto& s : golden["sequences"]) {
    input += nlohmann::ordered_json{{"id", i++}, {"input_ids", s["input_ids"]}, {"nll", "stale"}}.dump() + "\n";
    if (i == 2) input += "\n";  // blank lines are skipped
  }
  write_file(dir / "in.jsonl", input);
  auto result =
      run_tool("nll --model " + golden_model("qwen2_tiny_bf16").string() + " --input " + (dir / "in.jsonl").string() +
               " --output " + (dir / "out.jsonl").string() + " --batch-tokens 300");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream lines(read_file(dir / "out.jsonl"));
  std::string line;
  int j = 0;
  while (std::getline(lines, line)) {
    auto out = nlohmann::ordered_json::parse(line);
    EXPECT_EQ(out["id"], j);
    EXPECT_EQ(out.begin().key(), "id");
    const auto& want = golden["sequences"][j]["loss_bf16_weights"];
    ASSERT_EQ(out["nll"].size(), golden["sequences"][j]["input_ids"].size() - 1);
    for (std::size_t t = 0; t < want.size(); ++t) {
      EXPECT_NEAR(out["nll"][t].get<double>(), want[t].get<double>(), 1e-4);
    }
    ++j;
  }
  EXPECT_EQ(j, static_cast<int>(golden["sequences"].size()));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.jsonl.tmp"));
}

TEST(CurateToolNll, MalformedLineIsReportedWithItsNumber) {
  ScratchDir dir;
  write_file(dir / "in.jsonl", "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, \"x\"]}\n");
  auto result = run_tool("nll --model " + golden_model("qwen2_tiny").string() + " --input " +
                         (dir / "in.jsonl").string() + " --output " + (dir / "out.jsonl").string());
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("in.jsonl:2:"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("input_ids[1]"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.jsonl"));

  write_file(dir / "in.jsonl", "{\"input_ids\": [1]}\n{\"input_ids\": [1, 2]}\n{oops\n");
  result = run_tool("nll --model " + golden_model("qwen2_tiny").string() + " --input " + (dir / "in.jsonl").string() +
                    " --output " + (dir / "out.jsonl").string());
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.output.find("in.jsonl:3: not valid JSON"), std::string::npos) << result.output;
  write_file(dir / "in.jsonl", "{\"input_ids\": [1, 5000]}\n");
  result = run_tool("nll --model " + golden_model("qwen2_tiny").string() + " --input " + (dir / "in.jsonl").string() +
                    " --output " + (dir / "out.jsonl").string());
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.output.find("5000"), std::string::npos) << result.output;
}

TEST(CurateTool, UsageErrorsAndBadModelExitCodes) {
  ScratchDir dir;
  write_file(dir / "in.jsonl", "{\"input_ids\": [1, 2, 3]}\n");
  EXPECT_EQ(run_tool("").exit_code, 2);
  EXPECT_EQ(run_tool("frobnicate").exit_code, 2);
  auto missing = run_tool("nll --input x");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("--model"), std::string::npos) << missing.output;
  auto bad_model = run_tool("nll --model " + dir.path().string() + " --input " + (dir / "in.jsonl").string() +
                            " --output " + (dir / "o.jsonl").string());
  EXPECT_EQ(bad_model.exit_code, 4);
  EXPECT_NE(bad_model.output.find("config.json"), std::string::npos) << bad_model.output;
  auto bad_device = run_tool("nll --model " + golden_model("qwen2_tiny").string() + " --input " +
                             (dir / "in.jsonl").string() + " --output o --device tpu");
  EXPECT_EQ(bad_device.exit_code, 2);
  EXPECT_NE(bad_device.output.find("tpu"), std::string::npos);
  EXPECT_EQ(run_tool("nll --help").exit_code, 0);
  // An output that cannot be written is an output problem (exit 5), not a usage error.
  auto unwritable =
      run_tool("nll --model " + golden_model("qwen2_tiny").string() + " --input " + (dir / "in.jsonl").string() +
               " --output " + (dir / "no_such_folder" / "o.jsonl").string());
  EXPECT_EQ(unwritable.exit_code, 5) << unwritable.output;
  EXPECT_NE(unwritable.output.find("no_such_folder"), std::string::npos) << unwritable.output;
  auto unwritable_model = run_tool("make-model --shape tiny-llama --output " + (dir / "in.jsonl" / "m").string());
  EXPECT_EQ(unwritable_model.exit_code, 5) << unwritable_model.output;  // a folder under a file cannot be made
  EXPECT_NE(unwritable_model.output.find("in.jsonl/m"), std::string::npos) << unwritable_model.output;
}

TEST(CurateTool, MakeModelThenScoreIt) {
  ScratchDir dir;
  auto made = run_tool("make-model --shape tiny-llama --seed 3 --dtype bfloat16 --shard-bytes 200000 --output " +
                       (dir / "m").string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "m" / "model.safetensors.index.json"));
  write_file(dir / "in.jsonl", "{\"input_ids\": [1, 2, 3, 4, 5]}\n");
  auto scored = run_tool("nll --model " + (dir / "m").string() + " --input " + (dir / "in.jsonl").string() +
                         " --output " + (dir / "out.jsonl").string());
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  auto out = nlohmann::json::parse(read_file(dir / "out.jsonl"));
  ASSERT_EQ(out["nll"].size(), 4u);
  // A random model with std 0.02 is nearly uniform: loss close to log(vocab).
  EXPECT_NEAR(out["nll"][0].get<double>(), std::log(1000.0), 0.5);
}

TEST(CurateToolTokenize, MatchesGoldenIdsInOrder) {
  ScratchDir dir;
  std::istringstream golden(read_file(curate::testing::golden_encodings("llama3_1")));
  std::string input, line;
  std::vector<nlohmann::json> want;
  while (std::getline(golden, line)) {
    auto row = nlohmann::json::parse(line);
    input += nlohmann::json{{"text", row["text"]}}.dump() + "\n";
    want.push_back(row["ids"]);
  }
  write_file(dir / "in.jsonl", input);
  auto result = run_tool("tokenize --tokenizer " + curate::testing::tokenizer_dir("llama3_1").string() + " --input " +
                         (dir / "in.jsonl").string() + " --output " + (dir / "out.jsonl").string() +
                         " --threads 2 --window-bytes 1000");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream out(read_file(dir / "out.jsonl"));
  std::size_t i = 0;
  while (std::getline(out, line)) EXPECT_EQ(nlohmann::json::parse(line)["ids"], want.at(i++)) << i;
  EXPECT_EQ(i, want.size());
  EXPECT_NE(result.output.find("MB/s"), std::string::npos);

  write_file(dir / "bad.jsonl", "{\"text\": \"fine\"}\n{\"txt\": \"oops\"}\n");
  auto bad = run_tool("tokenize --tokenizer " + curate::testing::tokenizer_dir("qwen3").string() + " --input " +
                      (dir / "bad.jsonl").string() + " --output " + (dir / "o.jsonl").string());
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.output.find("bad.jsonl:2:"), std::string::npos) << bad.output;
}

TEST(CurateToolPrepare, WritesExamplesAndSkipReport) {
  ScratchDir dir;
  const std::string fixtures = CURATE_TEST_SOURCE_DIR "/data/fixtures/datasets/";
  auto result =
      run_tool("prepare --tokenizer " + curate::testing::tokenizer_dir("qwen3").string() + " --input " + fixtures +
               "m23k.jsonl --output " + (dir / "p.jsonl").string() +
               " --data.id_field qid --data.generation_prompt false --data.response_prefix '<|im_start|>think\\n'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream rows(read_file(dir / "p.jsonl"));
  std::string line;
  std::vector<nlohmann::json> kept;
  while (std::getline(rows, line)) kept.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0]["id"], "m-1");
  EXPECT_EQ(kept[0]["source"], "medqa");
  // score.window = response (default): the ids run to the end of the response and EOS, so they are the
  // whole example; the first scored token is the first after the generation prompt.
  EXPECT_EQ(kept[0]["window"], "response");
  EXPECT_EQ(kept[0]["full_length"].get<std::size_t>(), kept[0]["input_ids"].size());
  EXPECT_EQ(kept[0]["input_ids"].back(), 151645);  // <|im_end|>, Qwen's EOS
  auto reasoning = run_tool("prepare --tokenizer " + curate::testing::tokenizer_dir("qwen3").string() + " --input " +
                            fixtures + "m23k.jsonl --output " + (dir / "r.jsonl").string() +
                            " --data.id_field qid --data.generation_prompt false --data.response_prefix "
                            "'<|im_start|>think\\n' --score.window reasoning");
  ASSERT_EQ(reasoning.exit_code, 0) << reasoning.output;
  const nlohmann::json first =
      nlohmann::json::parse(read_file(dir / "r.jsonl").substr(0, read_file(dir / "r.jsonl").find('\n')));
  EXPECT_EQ(first["window"], "reasoning");
  EXPECT_GT(first["full_length"].get<std::size_t>(), first["input_ids"].size());  // the answer is not in the ids
  const std::string report = read_file(dir / "p.jsonl.skipped.tsv");
  EXPECT_NE(report.find("3\tmissing_field"), std::string::npos) << report;
  EXPECT_NE(report.find("4\tmalformed_json"), std::string::npos) << report;
  EXPECT_NE(result.output.find("skipped 3"), std::string::npos) << result.output;

  auto strict = run_tool("prepare --tokenizer " + curate::testing::tokenizer_dir("qwen3").string() + " --input " +
                         fixtures + "m23k.jsonl --output " + (dir / "s.jsonl").string() + " --data.strict");
  EXPECT_EQ(strict.exit_code, 3);
  EXPECT_NE(strict.output.find("m23k.jsonl:3: missing_field"), std::string::npos) << strict.output;
}

// curate_dist's names (--model.tokenizer, --data.path) and the older ones (--tokenizer, --input) are the
// same settings: the same output; a required one missing under both names is named with its alias.
TEST(CurateToolPrepare, SharedOptionNamesAndTheirAliases) {
  ScratchDir dir;
  const std::string data = CURATE_TEST_SOURCE_DIR "/data/fixtures/datasets/m23k.jsonl";
  const std::string tokenizer = curate::testing::tokenizer_dir("qwen3").string();
  auto shared = run_tool("prepare --model.tokenizer " + tokenizer + " --data.path " + data + " --output " +
                         (dir / "shared.jsonl").string() + " --data.id_field qid");
  ASSERT_EQ(shared.exit_code, 0) << shared.output;
  auto old = run_tool("prepare --tokenizer " + tokenizer + " --input " + data + " --output " +
                      (dir / "old.jsonl").string() + " --data.id_field qid");
  ASSERT_EQ(old.exit_code, 0) << old.output;
  EXPECT_EQ(read_file(dir / "shared.jsonl"), read_file(dir / "old.jsonl"));
  EXPECT_FALSE(read_file(dir / "shared.jsonl").empty());
  auto missing = run_tool("prepare --model.tokenizer " + tokenizer + " --output " + (dir / "x.jsonl").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("--data.path (or --input) is required"), std::string::npos) << missing.output;
  auto help = run_tool("prepare --help");
  EXPECT_NE(help.output.find("--input arg"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("the same as --data.path"), std::string::npos) << help.output;
}

TEST(CurateTool, ConformanceOnTheReferenceSuite) {
  const std::string suite = CURATE_TEST_SOURCE_DIR "/data/reference/temp";
  auto result = run_tool("conformance --suite " + suite);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("allocation: 667/667 identical"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("select_given_clusters: 40/40 identical"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("conformance: 3 passed, 0 failed"), std::string::npos) << result.output;
  ScratchDir dir;
  std::ofstream(dir / "k_rule.json") << R"({"pairs": [{"allocated": 8, "per_cluster": 4, "k": 3}]})";
  auto altered = run_tool("conformance --suite " + dir.path().string());
  EXPECT_EQ(altered.exit_code, 1) << altered.output;
  EXPECT_NE(altered.output.find("k_rule: 0/1 identical FAILED"), std::string::npos) << altered.output;
  EXPECT_EQ(run_tool("conformance --suite " + (dir / "none").string()).exit_code, 2);
}

// `curate_tool check`: what a user sees before spending GPU hours (the cases are in data/check_test.cpp).
TEST(CurateToolCheck, ReportsPreviewsAndExitCodes) {
  ScratchDir dir;
  write_file(
      dir / "d.jsonl",
      R"({"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "<think>Two and two.</think>4"}]})"
      "\n{broken\n");
  auto ok =
      run_tool("check --tokenizer " + curate::testing::tokenizer_dir("qwen3").string() + " --input " +
               (dir / "d.jsonl").string() + " --preview 1 --data.think_begin '<think>' --data.think_end '</think>'");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  for (const char* needle :
       {"2 records, 1 usable, 1 skipped", "formats (data.format = auto): messages 1",
        "skipped: malformed_json 1 (first: line 2, not valid JSON)",
        "chat template: tokenizer (the tokenizer's own: the chat template of ", "found in 1 of 1 assistant texts",
        "---- preview 1: line 1", "<|im_start|>user\nWhat is 2+2?", "scored window ("}) {
    EXPECT_NE(ok.output.find(needle), std::string::npos) << needle << "\n" << ok.output;
  }
  write_file(dir / "none.jsonl", "{\"text\": \"a\"}\n");
  auto none = run_tool("check --input " + (dir / "none.jsonl").string());
  EXPECT_EQ(none.exit_code, 3) << none.output;
  EXPECT_NE(none.output.find("no usable record"), std::string::npos) << none.output;
  auto unknown = run_tool("check --input " + (dir / "d.jsonl").string() + " --tokenizer " +
                          curate::testing::tokenizer_dir("qwen3").string() + " --data.chat_template vicuna");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("auto (the tokenizer's own), chatml, llama3, plain and file:PATH.jinja"),
            std::string::npos)
      << unknown.output;
  write_file(dir / "a.json", "[{\"prompt\": \"p\", \"reasoning\": \"r\"}]");
  auto array = run_tool("check --input " + (dir / "a.json").string());  // read as it is, no conversion asked
  EXPECT_EQ(array.exit_code, 0) << array.output;
  EXPECT_NE(array.output.find("(JSON array): 1 records, 1 usable"), std::string::npos) << array.output;
  // With the job's configuration: a count budget above the usable records is refused (exit 2), a fraction is not.
  std::ofstream(dir / "run.ini") << "[model]\npath = " << curate::testing::tokenizer_dir("qwen3").string()
                                 << "\n[data]\npath = " << (dir / "a.json").string() << "\n[select]\nbudget = 5\n";
  auto over = run_tool("check --config " + (dir / "run.ini").string());
  EXPECT_EQ(over.exit_code, 2) << over.output;
  EXPECT_NE(over.output.find("select.budget = 5 is above the 1 usable records"), std::string::npos) << over.output;
  std::ofstream(dir / "fraction.ini") << "[model]\npath = " << curate::testing::tokenizer_dir("qwen3").string()
                                      << "\n[data]\npath = " << (dir / "a.json").string()
                                      << "\n[select]\nbudget = 10%\n";
  auto fraction = run_tool("check --config " + (dir / "fraction.ini").string());
  EXPECT_EQ(fraction.exit_code, 0) << fraction.output;
}

// One vocabulary (issue 26): every dotted option of every curate_tool subcommand is an option of
// curate_dist, with the same default where both --help texts show one.
TEST(CurateTool, EverySubcommandSpeaksCurateDistsOptionNames) {
  const std::regex option(R"(^\s+--([a-z_]+\.[a-z_]+)(?: arg)?(?: \(=([^)]*)\))?)");
  // name -> default ("" when none shown); an older name ("the same as --x (older name)") is left out.
  auto options_of = [&](const Result& help) {
    std::map<std::string, std::string> found;
    std::vector<std::string> lines;
    std::istringstream in(help.output);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::smatch m;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (!std::regex_search(lines[i], m, option)) continue;
      std::string entry = lines[i];  // the option's line and its wrapped description
      for (std::size_t j = i + 1; j < lines.size() && lines[j].find("--") == std::string::npos && !lines[j].empty();
           ++j)
        entry += " " + lines[j];
      if (entry.find("(older name)") == std::string::npos) found[m[1]] = m[2];
    }
    return found;
  };
  const Result dist_help = run_command(std::string(CURATE_DIST_PATH) + " --help");
  ASSERT_EQ(dist_help.exit_code, 0) << dist_help.output;
  const auto dist = options_of(dist_help);
  ASSERT_GT(dist.size(), 50u) << dist_help.output;

  std::vector<std::string> commands;
  std::istringstream lines(run_tool("--help").output);
  const std::regex command(R"(^  ([a-z-]+) )");
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, m, command)) commands.push_back(m[1]);
  }
  ASSERT_GE(commands.size(), 9u);
  int checked = 0;
  for (const std::string& name : commands) {
    const Result help = run_tool(name + " --help");
    ASSERT_EQ(help.exit_code, 0) << name << ": " << help.output;
    for (const auto& [key, value] : options_of(help)) {
      ++checked;
      const auto it = dist.find(key);
      ASSERT_NE(it, dist.end()) << "curate_tool " << name << " --" << key << " is no option of curate_dist";
      if (!value.empty() && !it->second.empty()) {
        EXPECT_EQ(value, it->second) << "curate_tool " << name << " --" << key << "'s default";
      }
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
