// Option tables (util/option_table.h): parsing through the Boost adapter from the command line and
// INI text, --help text, the fingerprint's entries, its stored text and the difference of two.
#include "curate/util/option_table.h"

#include <gtest/gtest.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "curate/util/error.h"
#include "curate/util/option_table_boost.h"

namespace curate::options {
namespace {

namespace po = boost::program_options;

enum class Mode { kFast, kExact };
constexpr std::pair<const char*, Mode> kModes[] = {{"fast", Mode::kFast}, {"exact", Mode::kExact}};

struct Settings {
  int64_t batch = 128;
  double scale = 0.002;
  std::string name = "base";
  bool strict = false;
  bool fresh = false;
  Mode mode = Mode::kExact;
  uint64_t seed = 7;
};

Group table(Settings& s) {
  Group g("[demo]");
  g.add("demo.batch", s.batch, "rows per batch")
      .add("demo.scale", s.scale, "noise scale", Affects::kResults)
      .add("demo.name", s.name, "a name", Affects::kResults)
      .add("demo.strict", s.strict, "stop at the first error")
      .switch_flag("fresh", s.fresh, "start over")
      .add_enum("demo.mode", s.mode, kModes, "fast or exact", Affects::kResults)
      .add("demo.seed", s.seed, "seed", Affects::kResults);
  return g;
}

// Parses `args` (without argv[0]) and then `ini` into `s` through the table, as curate_dist does.
void parse(Settings& s, std::vector<std::string> args, const std::string& ini = "") {
  const po::options_description desc = describe(table(s), true);
  std::vector<const char*> argv = {"prog"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  po::variables_map vm;
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), desc), vm);
  std::istringstream text(ini);
  po::store(po::parse_config_file(text, desc), vm);
  po::notify(vm);
}

TEST(OptionTable, DefaultsComeFromTheStruct) {
  Settings s;
  const Group g = table(s);
  ASSERT_EQ(g.entries().size(), 7u);
  EXPECT_EQ(g.entries()[0].default_text, "128");
  EXPECT_EQ(g.entries()[1].default_text, "0.002");  // shortest round trip, not 0.0020000000000000000416
  EXPECT_EQ(g.entries()[3].default_text, "false");
  EXPECT_EQ(g.entries()[5].default_text, "exact");
}

TEST(OptionTable, ParsesCommandLineAndIniIntoTheFields) {
  Settings s;
  parse(s, {"--demo.batch", "64", "--demo.mode", "fast", "--fresh"}, "[demo]\nname = other\nscale = 0.5\nbatch = 9\n");
  EXPECT_EQ(s.batch, 64);  // the command line wins over the file
  EXPECT_EQ(s.name, "other");
  EXPECT_EQ(s.scale, 0.5);
  EXPECT_EQ(s.mode, Mode::kFast);
  EXPECT_TRUE(s.fresh);
  EXPECT_FALSE(s.strict);
  EXPECT_EQ(s.seed, 7u);  // untouched: the default
}

TEST(OptionTable, UnknownEnumNameNamesTheKeyAndTheChoices) {
  Settings s;
  try {
    parse(s, {"--demo.mode", "slow"});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("demo.mode = 'slow' is unknown: use fast or exact"), std::string::npos)
        << e.what();
  }
}

TEST(OptionTable, BadNumberIsABoostError) {
  Settings s;
  EXPECT_THROW(parse(s, {"--demo.batch", "many"}), po::error);
}

TEST(OptionTable, HelpShowsKeysDefaultsAndHelpButNoHiddenEntry) {
  Settings s;
  Group g = table(s);
  g.add("test.secret", s.strict, "hidden switch");
  g.entries().back().hidden = true;
  std::ostringstream help;
  help << describe(g, false);
  EXPECT_NE(help.str().find("--demo.batch arg (=128)"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("noise scale"), std::string::npos);
  EXPECT_NE(help.str().find("(=exact)"), std::string::npos);
  EXPECT_EQ(help.str().find("test.secret"), std::string::npos);
  std::ostringstream all;
  all << describe(g, true);
  EXPECT_NE(all.str().find("test.secret"), std::string::npos);
}

// An older name (alias) sets the same field; no name's default overwrites a given value; a required
// entry missing under every name is named with its aliases.
TEST(OptionTable, AliasesAndRequiredEntries) {
  Settings s;
  Group g("[cmd]");
  g.add("data.path", s.name, "dataset").alias("input").required();
  g.add("demo.batch", s.batch, "rows").alias("batch");
  const po::options_description desc = describe(g, false);
  const auto given = [&](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "prog");
    po::variables_map vm;
    po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), desc), vm);
    po::notify(vm);
    return vm;
  };
  check_required({g}, given({"--input", "x.jsonl"}));
  EXPECT_EQ(s.name, "x.jsonl");
  EXPECT_EQ(s.batch, 128);  // neither name given: the struct's default stays
  check_required({g}, given({"--data.path", "y.jsonl", "--batch", "5"}));
  EXPECT_EQ(s.name, "y.jsonl");
  EXPECT_EQ(s.batch, 5);
  try {
    check_required({g}, given({"--demo.batch", "6"}));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--data.path (or --input) is required"), std::string::npos) << e.what();
  }
  std::ostringstream help;
  help << desc;
  EXPECT_NE(help.str().find("the same as --data.path"), std::string::npos) << help.str();
  EXPECT_NE(help.str().find("rows (default: 128)"), std::string::npos) << help.str();
}

TEST(OptionTable, FingerprintHoldsOnlyResultsEntriesInTableOrder) {
  Settings s;
  s.name = "two\nlines\\";
  const Fingerprint f = results_entries({table(s)});
  const Fingerprint expected = {
      {"demo.scale", "0.002"}, {"demo.name", "two\nlines\\"}, {"demo.mode", "exact"}, {"demo.seed", "7"}};
  EXPECT_EQ(f, expected);
  const std::string text = format_fingerprint(f);
  EXPECT_NE(text.find("demo.name=two\\nlines\\\\\n"), std::string::npos) << text;  // one line per setting
  EXPECT_EQ(parse_fingerprint(text), f);
}

TEST(OptionTable, DiffNamesEachChangedKeyWithBothValues) {
  const Fingerprint stored = {{"a", "1"}, {"b", "x"}, {"gone", "g"}};
  const Fingerprint wanted = {{"a", "1"}, {"b", "y"}, {"new", "n"}};
  const std::vector<Change> changes = diff_fingerprints(stored, wanted);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "b");
  EXPECT_EQ(changes[0].old_value, "x");
  EXPECT_EQ(changes[0].new_value, "y");
  EXPECT_EQ(changes[1].key, "new");
  EXPECT_EQ(changes[1].old_value, "(absent)");
  EXPECT_EQ(changes[2].key, "gone");
  EXPECT_EQ(changes[2].new_value, "(absent)");
  EXPECT_TRUE(diff_fingerprints(stored, stored).empty());
}

TEST(OptionTable, ExplainDifferenceListsChangesAndSkipsIgnoredKeys) {
  const std::string stored = format_fingerprint({{"run.seed", "0"}, {"score.device", "cuda"}, {"data.think_end", ""}});
  const std::string wanted =
      format_fingerprint({{"run.seed", "5"}, {"score.device", "auto"}, {"data.think_end", "</t>"}});
  const std::string text = explain_difference(stored, wanted);
  EXPECT_NE(text.find("3 setting(s) differ"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  run.seed: 0 -> 5"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  data.think_end: '' -> </t>"), std::string::npos) << text;
  EXPECT_NE(text.find("restore these settings"), std::string::npos) << text;
  EXPECT_EQ(explain_difference(stored, stored), "");
  EXPECT_EQ(explain_difference(format_fingerprint({{"score.device", "cuda"}}),
                               format_fingerprint({{"score.device", "auto"}}), {"score.device"}),
            "");
}

TEST(OptionTable, OlderSemicolonFormIsRefusedWithAReason) {
  const std::string old = "model=/m@1;finetuned=;dataset=/d@2;seed=0";
  EXPECT_THROW(parse_fingerprint(old), ConfigError);
  const std::string text = explain_difference(old, format_fingerprint({{"run.seed", "0"}}));
  EXPECT_NE(text.find("older curate_dist"), std::string::npos) << text;
  EXPECT_THROW(parse_fingerprint("curate_dist fingerprint v2\nno equals sign\n"), ConfigError);
}

}  // namespace
}  // namespace curate::options

namespace curate::options {
namespace {

// A table with a path entry, for format_ini.
Group file_table(Settings& s, std::string& path) {
  Group g = table(s);
  g.add("data.path", path, "a file").path();
  return g;
}

TEST(OptionTable, FormatIniReadsBackToTheSameValuesWithPathsAbsolute) {
  Settings written;
  std::string path = "sub/data.jsonl";
  written.batch = 3;
  written.scale = 0.125;
  written.name = "a name with = and spaces inside";
  written.mode = Mode::kFast;
  written.fresh = true;
  const std::string ini = format_ini({file_table(written, path)}, "line one\nline two");
  EXPECT_EQ(ini.rfind("# line one\n# line two\n[demo]\nbatch = 3\n", 0), 0u) << ini;
  EXPECT_NE(ini.find("[data]\npath = " + (std::filesystem::current_path() / "sub/data.jsonl").string() + "\n"),
            std::string::npos)
      << ini;
  EXPECT_EQ(ini.find("fresh"), std::string::npos) << ini;  // a switch is one invocation's, never an INI key
  Settings read;
  std::string read_path;
  const po::options_description desc = describe(file_table(read, read_path), true);
  po::variables_map vm;
  std::istringstream text(ini);
  po::store(po::parse_config_file(text, desc), vm);
  po::notify(vm);
  EXPECT_EQ(read.batch, 3);
  EXPECT_EQ(read.scale, 0.125);
  EXPECT_EQ(read.name, written.name);
  EXPECT_EQ(read.mode, Mode::kFast);
  EXPECT_FALSE(read.fresh);
  EXPECT_EQ(read_path, (std::filesystem::current_path() / "sub/data.jsonl").string());
}

TEST(OptionTable, FormatIniCommentsOutWhatAnIniLineCannotHold) {
  for (const std::string& value : {std::string("C# notes"), std::string("two\nlines"), std::string(" padded")}) {
    Settings s;
    s.name = value;
    const std::string ini = format_ini({table(s)}, "");
    EXPECT_NE(ini.find("# demo.name: not written (its value holds a '#', a line break or blanks at an end"),
              std::string::npos)
        << ini;
    EXPECT_EQ(ini.find("name = "), std::string::npos) << ini;
  }
}

}  // namespace
}  // namespace curate::options
