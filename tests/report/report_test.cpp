// Outputs of the selection stage: summary JSON and HTML report (the export: export_test.cpp).
#include "curate/report/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "curate/util/error.h"
#include "report/report_helpers.h"

namespace curate::report {
namespace {

using nlohmann::json;

// ---- report ----
using namespace testing;

TEST(Report, SummaryJsonHasEveryNumber) {
  ReportData d = small_report();
  json j = json::parse(summary_json(d).dump());  // through text, as a script would read it
  EXPECT_EQ(j["run"]["model"], "Qwen2.5-7B");
  EXPECT_EQ(j["run"]["seed"], "17");
  EXPECT_EQ(j["totals"], json({{"examples", 1234}, {"kept", 900}, {"selected", 4}, {"skipped", 7}}));
  ASSERT_EQ(j["allocation"].size(), 4u);
  EXPECT_EQ(j["allocation"][2], json({{"level", "source"},
                                      {"domain", "math"},
                                      {"source", "numina"},
                                      {"examples", 700},
                                      {"score", 0.8},
                                      {"share", 0.75},
                                      {"allocated", 3}}));

  const json& clusters = j["clusters"];
  EXPECT_EQ(clusters["count"], 4);
  EXPECT_EQ(clusters["with_selected"], 2);
  EXPECT_EQ(clusters["sizes"]["min"], 1.0);
  EXPECT_EQ(clusters["sizes"]["max"], 10.0);
  EXPECT_EQ(clusters["sizes"]["mean"], 4.0);
  EXPECT_EQ(clusters["sizes"]["p50"], 2.5);
  // Sizes 1..10 at step 1: edges 0.5, 1.5, …, 10.5, one size per bin.
  const json& ch = clusters["histogram"];
  ASSERT_EQ(ch["edges"].size(), 11u);
  EXPECT_EQ(ch["edges"].front(), 0.5);
  EXPECT_EQ(ch["edges"].back(), 10.5);
  EXPECT_EQ(ch["all"], json({1, 1, 1, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(ch["with_selected"], json({0, 0, 1, 0, 0, 0, 0, 0, 0, 1}));

  const json& dh = j["difficulty"]["histogram"];
  ASSERT_EQ(dh["all"].size() + 1, dh["edges"].size());
  EXPECT_EQ(sum(dh["all"]), 4);
  EXPECT_EQ(sum(dh["selected"]), 2);
  EXPECT_DOUBLE_EQ(dh["edges"].front().get<double>(), 0.1);  // 1-2-5 step 0.05 over [0.1, 0.9]
  EXPECT_DOUBLE_EQ(dh["edges"].back().get<double>(), 0.9);
  EXPECT_EQ(dh["all"].back(), 1);  // the maximum falls in the closed last bin
  EXPECT_EQ(j["difficulty"]["all"]["count"], 4);
  EXPECT_NEAR(j["difficulty"]["selected"]["mean"].get<double>(), 0.55, 1e-6);

  EXPECT_EQ(j["loss_profile"]["x"], json({0.0, 0.5, 1.0}));
  EXPECT_EQ(j["loss_profile"]["mean_all"], json({1.0, 1.5, 2.5}));
  EXPECT_EQ(j["loss_profile"]["mean_selected"], json({1.1, 1.4, 2.0}));
  EXPECT_EQ(j["skipped"], json({{"malformed_json", 2}, {"empty_reasoning", 5}}));
}

TEST(Report, SummaryJsonWritesNaNAsNullAndIndexesCheckpoints) {
  ReportData d;
  d.difficulty_all = {NAN, 1.0f};
  d.mean_all = {1.0, NAN};
  d.allocation = {{"domain", "x", "", 1, NAN, NAN, 0}};
  json j = json::parse(summary_json(d).dump());
  EXPECT_EQ(j["difficulty"]["all"]["count"], 1);
  EXPECT_EQ(j["difficulty"]["all"]["nan"], 1);
  EXPECT_TRUE(j["difficulty"]["selected"]["mean"].is_null());
  EXPECT_EQ(j["loss_profile"]["x"], json({1.0, 2.0}));
  EXPECT_EQ(j["loss_profile"]["x_label"], "checkpoint");
  EXPECT_TRUE(j["loss_profile"]["mean_all"][1].is_null());
  EXPECT_TRUE(j["allocation"][0]["score"].is_null());
  EXPECT_TRUE(j["clusters"]["histogram"]["edges"].empty());
}

// Checks that tags nest, that only the report's own elements occur (so no user text became markup)
// and returns the element names seen.
TEST(Report, HtmlEscapesUserTextAndShowsTheAllocation) {
  ReportData d = small_report();
  d.model = "<b>model</b>";
  d.allocation.push_back({"source", "medicine", "<script>&\"", 12, 0.1, 0.0, 0});
  d.skipped["<x>"] = 1;
  std::string html = html_report(d);
  auto seen = check_markup(html);
  EXPECT_EQ(seen.count("svg"), 3u);
  EXPECT_NE(html.find("&lt;script&gt;&amp;&quot;"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;model&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;x&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>math</td><td>numina</td><td class=\"num\">700</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>medicine</td><td class=\"num\">200</td>"), std::string::npos);
  EXPECT_NE(html.find("1,234"), std::string::npos);
  EXPECT_NE(html.find("75.0%"), std::string::npos);
  EXPECT_EQ(html.find("no data"), std::string::npos);
  expect_no_external_resources(html);
}

TEST(Report, ThePremiseSectionShowsNumbersOnlyWhenTested) {
  ReportData d = small_report();
  d.premise.note = "run --stage gradients <now>";
  std::string html = html_report(d);
  EXPECT_NE(html.find("<section id=\"premise\">"), std::string::npos);
  EXPECT_NE(html.find("run --stage gradients &lt;now&gt;"), std::string::npos);
  json j = json::parse(summary_json(d).dump());
  EXPECT_EQ(j["premise"]["state"], "absent");
  EXPECT_TRUE(j["premise"]["holds"].is_null());
  EXPECT_TRUE(j["premise"]["verdict"].is_null());

  d.premise.state = "tested";
  d.premise.holds = false;
  d.premise.verdict = "The premise does not hold on this run: <numbers>";
  PremiseClustering loss;
  loss.name = "loss-pattern clusters";
  loss.same_cluster = 0.25, loss.other_cluster = 0.2, loss.random = 0.1;
  loss.gap = 0.15, loss.gap_low = 0.1, loss.gap_high = 0.2;
  loss.gap_other = 0.05, loss.gap_other_low = -0.01, loss.gap_other_high = 0.11;
  loss.spearman = -0.2;
  d.premise.clusterings = {loss, PremiseClustering{"random clusters (control)"}};
  html = html_report(d);
  EXPECT_NE(html.find("<p class=\"warn\">The premise does not hold on this run: &lt;numbers&gt;</p>"),
            std::string::npos);
  EXPECT_NE(html.find("0.05 <span class=\"note\">[-0.01, 0.11]</span>"), std::string::npos);
  EXPECT_NE(html.find("aria-label=\"gap of the gradient cosine"), std::string::npos);
  j = json::parse(summary_json(d).dump());
  EXPECT_EQ(j["premise"]["holds"], false);
  EXPECT_EQ(j["premise"]["clusterings"][0]["gap_other_interval"], json({-0.01, 0.11}));
  EXPECT_TRUE(j["premise"]["clusterings"][1]["gap"].is_null());  // NaN: null, never a made-up number
}

TEST(Report, EmptyAndNaNInputsSayNoData) {
  ReportData empty;
  std::string html = html_report(empty);
  check_markup(html);
  EXPECT_EQ(occurrences(html, "no data"), 3u);
  EXPECT_NE(html.find("No record was skipped"), std::string::npos);
  EXPECT_NO_THROW(summary_json(empty).dump());

  ReportData nan;
  nan.difficulty_all = {NAN, NAN};
  nan.difficulty_selected = {NAN};
  nan.mean_all = {NAN, 1.0, NAN, 2.0};
  nan.mean_selected = {NAN, NAN, NAN, NAN};
  nan.distance = {0, 1, NAN, 3};
  nan.allocation = {{"domain", "d", "", 0, NAN, NAN, 0}};
  nan.cluster_sizes = {5};  // one value: a one-bin histogram
  html = html_report(nan);
  check_markup(html);
  EXPECT_EQ(occurrences(html, "no data"), 1u);  // difficulty only
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
  EXPECT_NO_THROW(summary_json(nan).dump());

  ReportData narrow;  // a span below the resolution of the values: no endless tick loop
  narrow.distance = {1e9, 1e9 + 1e-6};
  narrow.mean_all = {1.0, 2.0};
  narrow.difficulty_all = {1e9f, 1e9f};
  check_markup(html_report(narrow));
}

// ---- curator views: calibration, funnel, per-source views, examples, run facts ----

}  // namespace
}  // namespace curate::report
