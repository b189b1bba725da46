#include "curate/select/conformance.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "curate/util/error.h"

namespace curate::select {
namespace {

namespace fs = std::filesystem;

const fs::path kSuite = fs::path(CURATE_TEST_SOURCE_DIR) / "data/reference/temp";

// Every case of the TEMP fixtures (tests/data/reference/temp, PROVENANCE.md): allocation lines,
// select-given-clusters cases (exact part) and k-rule pairs, all identical, fragile lines included.
TEST(Conformance, EveryReferenceCaseIsIdentical) {
  const std::vector<ConformanceFile> files = check_conformance(kSuite);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].name, "allocation");
  EXPECT_EQ(files[0].cases, 667);
  EXPECT_EQ(files[0].identical, 667);
  EXPECT_EQ(files[1].name, "select_given_clusters");
  EXPECT_EQ(files[1].cases, 40);
  EXPECT_EQ(files[1].identical, 40);
  EXPECT_EQ(files[2].name, "k_rule");
  EXPECT_EQ(files[2].identical, files[2].cases);
  EXPECT_GT(files[2].cases, 40);
  for (const ConformanceFile& file : files) {
    EXPECT_TRUE(file.passed()) << file.name << ": " << (file.failures.empty() ? "" : file.failures.front());
  }
  std::ostringstream out;
  EXPECT_EQ(run_conformance(kSuite, out), 0);
  EXPECT_NE(out.str().find("allocation: 667/667 identical (15 fragile, 15 of them identical; 67 where the reference "
                           "raises, flagged; 67 NaN-as-0 variants)\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("select_given_clusters: 40/40 identical (63 sources; random fill: counts equal)\n"),
            std::string::npos);
  EXPECT_TRUE(out.str().ends_with("conformance: 3 passed, 0 failed\n")) << out.str();
}

// A temporary suite folder holding altered copies; removed at the end.
struct TempSuite {
  fs::path dir = fs::temp_directory_path() / ("curate_conformance_" + std::to_string(::getpid()) + "_" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempSuite() { fs::create_directories(dir); }
  ~TempSuite() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Conformance, AlteredAnswersFail) {
  TempSuite suite;
  // a0003: TEMP gives bio/b the single unit; claim bio/a got it instead.
  std::string allocation = read(kSuite / "allocation.jsonl");
  const std::string answer = R"("allocation":{"bio/a":0,"bio/b":1,"law/c":0})";
  const auto at = allocation.find(answer);
  ASSERT_NE(at, std::string::npos);
  allocation.replace(at, answer.size(), R"("allocation":{"bio/a":1,"bio/b":0,"law/c":0})");
  suite.write("allocation.jsonl", allocation);
  std::string k_rule = read(kSuite / "k_rule.json");
  const std::string pair = R"("allocated": 8,
   "per_cluster": 4,
   "k": 2)";
  const auto p = k_rule.find(pair);
  ASSERT_NE(p, std::string::npos);
  k_rule.replace(p, pair.size(), R"("allocated": 8, "per_cluster": 4, "k": 3)");
  suite.write("k_rule.json", k_rule);
  std::ostringstream out;
  EXPECT_EQ(run_conformance(suite.dir, out), 2);
  EXPECT_NE(out.str().find("allocation: 666/667 identical"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("a0003: bio/a allocated 0 (reference 1) bio/b allocated 1 (reference 0)"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("allocated 8, per_cluster 4: k 2 (reference 3)"), std::string::npos) << out.str();
  EXPECT_TRUE(out.str().ends_with("conformance: 0 passed, 2 failed\n")) << out.str();
}

TEST(Conformance, BadSuiteNamesTheFileAndLine) {
  EXPECT_THROW(check_conformance("/nonexistent/suite"), ConfigError);
  TempSuite suite;
  EXPECT_THROW(check_conformance(suite.dir), ConfigError);  // none of the files
  suite.write("select_given_clusters.jsonl", "{\"id\": \"s0\", \"seed\": 42, \"sources\": []}\n{not json\n");
  try {
    check_conformance(suite.dir);
    FAIL() << "malformed line accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("select_given_clusters.jsonl:2: not a JSON object"), std::string::npos)
        << e.what();
  }
  suite.write("select_given_clusters.jsonl", "{\"id\": \"s0\", \"sources\": []}\n");
  try {
    check_conformance(suite.dir);
    FAIL() << "missing key accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("select_given_clusters.jsonl:1: malformed case"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

// The command line of the torch-free binary: exit 0 on the suite, 1 on an altered copy, 2 for a
// missing folder, 3 for a malformed file.
int run_binary(const std::string& arguments, std::string& output) {
  const std::string command = std::string(CURATE_CONFORMANCE_BIN) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  output.clear();
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Conformance, CommandLine) {
  std::string output;
  EXPECT_EQ(run_binary("--suite " + kSuite.string(), output), 0) << output;
  EXPECT_TRUE(output.starts_with("allocation: 667/667 identical")) << output;
  EXPECT_NE(output.find("k_rule: "), std::string::npos) << output;
  EXPECT_TRUE(output.ends_with("conformance: 3 passed, 0 failed\n")) << output;

  TempSuite suite;
  std::string cases = read(kSuite / "select_given_clusters.jsonl");
  const auto at = cases.find("\"path\":\"kmeans\"");  // s000: claim the reference took everything
  ASSERT_NE(at, std::string::npos);
  cases.replace(at, 15, "\"path\":\"take_all\"");
  suite.write("select_given_clusters.jsonl", cases);
  EXPECT_EQ(run_binary("--suite " + suite.dir.string(), output), 1) << output;
  EXPECT_NE(output.find("select_given_clusters: 39/40 identical"), std::string::npos) << output;
  EXPECT_NE(output.find("s000: source '_u': path kmeans (reference take_all)"), std::string::npos) << output;
  EXPECT_TRUE(output.ends_with("conformance: 0 passed, 1 failed\n")) << output;

  EXPECT_EQ(run_binary("--suite " + (suite.dir / "missing").string(), output), 2) << output;
  EXPECT_NE(output.find("is not a folder"), std::string::npos) << output;
  suite.write("k_rule.json", "{\"pairs\": [{\"allocated\": 1}]}");
  EXPECT_EQ(run_binary("--suite " + suite.dir.string(), output), 3) << output;
  EXPECT_NE(output.find("k_rule.json: malformed case"), std::string::npos) << output;
  EXPECT_EQ(run_binary("--suite", output), 2) << output;
}

}  // namespace
}  // namespace curate::select
