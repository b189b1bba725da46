#include "compare/compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "compare/page.h"
#include "curate/compare/options.h"
#include "curate/util/error.h"

namespace curate::compare {
namespace {

// Sources of 60, 30 and 10 scored rows, interleaved, plus unscored rows of source 0.
struct Rows {
  std::vector<int32_t> source;
  std::vector<uint8_t> scored;
  std::vector<std::string> names{"a", "b", "c"};
  Rows() {
    for (int i = 0; i < 100; ++i) {
      source.push_back(i < 60 ? 0 : i < 90 ? 1 : 2);
      scored.push_back(1);
    }
    for (int i = 0; i < 20; ++i) source.push_back(0), scored.push_back(0);
  }
};

TEST(DrawHeldout, StratifiedBySourceAmongScoredRows) {
  const Rows rows;
  const std::vector<std::size_t> held = draw_heldout(rows.source, rows.scored, rows.names, 10, 7);
  ASSERT_EQ(held.size(), 10u);
  EXPECT_TRUE(std::is_sorted(held.begin(), held.end()));
  EXPECT_EQ(std::adjacent_find(held.begin(), held.end()), held.end());  // distinct
  int per[3] = {0, 0, 0};
  for (std::size_t i : held) {
    ASSERT_EQ(rows.scored[i], 1) << "row " << i << " was not scored";
    ++per[rows.source[i]];
  }
  EXPECT_EQ(per[0], 6);
  EXPECT_EQ(per[1], 3);
  EXPECT_EQ(per[2], 1);
}

TEST(DrawHeldout, RemainderGoesToTheLargestFractions) {
  const Rows rows;  // 7 of 100: exact shares 4.2, 2.1, 0.7 -> floors 4, 2, 0 and the one left to c (0.7)
  const std::vector<std::size_t> held = draw_heldout(rows.source, rows.scored, rows.names, 7, 0);
  int per[3] = {0, 0, 0};
  for (std::size_t i : held) ++per[rows.source[i]];
  EXPECT_EQ(per[0], 4);
  EXPECT_EQ(per[1], 2);
  EXPECT_EQ(per[2], 1);
}

TEST(DrawHeldout, SeededAndReproducible) {
  const Rows rows;
  const auto a = draw_heldout(rows.source, rows.scored, rows.names, 20, 1);
  EXPECT_EQ(a, draw_heldout(rows.source, rows.scored, rows.names, 20, 1));
  EXPECT_NE(a, draw_heldout(rows.source, rows.scored, rows.names, 20, 2));
  EXPECT_TRUE(draw_heldout(rows.source, rows.scored, rows.names, 0, 1).empty());
}

TEST(DrawHeldout, RefusesToHoldOutEveryScoredRow) {
  const Rows rows;
  EXPECT_THROW(draw_heldout(rows.source, rows.scored, rows.names, 100, 0), ConfigError);
  EXPECT_NO_THROW(draw_heldout(rows.source, rows.scored, rows.names, 99, 0));
}

TEST(Jaccard, IntersectionOverUnion) {
  const std::vector<int64_t> a{1, 2, 3, 4}, b{3, 4, 5}, none;
  EXPECT_DOUBLE_EQ(jaccard(a, b), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(jaccard(a, a), 1.0);
  EXPECT_DOUBLE_EQ(jaccard(a, none), 0.0);
  EXPECT_DOUBLE_EQ(jaccard(none, none), 1.0);
}

TEST(CompareOptions, MethodsParsedInOrderAndChecked) {
  const auto methods = parse_methods(" temp,random , longest");
  ASSERT_EQ(methods.size(), 3u);
  EXPECT_EQ(methods[0], select::SelectMethod::kTemp);
  EXPECT_EQ(methods[2], select::SelectMethod::kLongest);
  EXPECT_THROW(parse_methods("temp, best"), ConfigError);
  EXPECT_THROW(parse_methods("temp, temp"), ConfigError);
  EXPECT_THROW(parse_methods(" , "), ConfigError);
  EXPECT_TRUE(seeded(select::SelectMethod::kRandom));
  EXPECT_FALSE(seeded(select::SelectMethod::kLongest));
  CompareOptions o;
  EXPECT_NO_THROW(validate(o));
  o.finetuning_type = "qlora";
  EXPECT_THROW(validate(o), ConfigError);
}

TEST(ComparePage, EscapesEveryNameAndShowsTheABTables) {
  service::Options options;
  Columns c;
  c.in.checkpoints = 2;
  c.in.source =
      service::name_ids({"<script>alert(1)</script>", "<script>alert(1)</script>", "<script>alert(1)</script>"});
  c.in.domain = service::name_ids({"d&d", "d&d", "d&d"});
  c.in.status = {0, 0, 0};
  c.in.candidate = {1, 1, 1};
  c.in.full_length = {10, 20, 30};
  c.in.reasoning_tokens = {5, 10, 15};
  c.in.difficulty = {1, 2, 3};
  c.in.mean_loss = {1, 1, 1, 2, 3, 4};
  c.scored = {1, 1, 1};
  std::vector<Selection> selections{{"temp-s0", select::SelectMethod::kTemp, 0, {0, 1}, "", ""},
                                    {"temp-s1", select::SelectMethod::kTemp, 1, {0, 1}, "temp-s0", ""},
                                    {"random-s0", select::SelectMethod::kRandom, 0, {1}, "", ""}};
  selections[0].file = selections[1].file = "temp-s0.selected.jsonl";
  const std::vector<std::size_t> heldout{2};
  nlohmann::json results = {
      {"tables", {{{"title", "benchmark <b>"}, {"columns", {"model", "x"}}, {"rows", {{"temp", "<i>0.5</i>"}}}}}}};
  const PageInput input{options, c, selections, heldout, "out.compare", {{"template", "chatml"}}, results};
  const nlohmann::json s = compare_json(input);
  EXPECT_EQ(s["overlap"]["names"].size(), 2u);  // temp-s1 is temp-s0's records: counted once
  EXPECT_DOUBLE_EQ(s["overlap"]["jaccard"][0][1].get<double>(), 0.5);
  EXPECT_EQ(s["pool"]["examples"], 2);  // the held-out row is out of the pool
  EXPECT_EQ(s["selections"][1]["file"], "temp-s0.selected.jsonl");
  const std::string html = compare_html(input, s);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("benchmark &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("Not run yet"), std::string::npos);
}

}  // namespace
}  // namespace curate::compare
