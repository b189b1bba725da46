// The report's per-source sections: example cards, curator sections, bounded size, a realistic page
// (written for the browser test: CURATE_REPORT_EXAMPLE).
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

ExampleView example(ExampleView::Status status, const std::string& key, double difficulty) {
  ExampleView e;
  e.status = status;
  e.key = key;
  e.line = 7;
  e.prompt = "Prompt of " + key + ": " + kHostile;
  e.window = "Window of " + key + " " + kHostile;
  e.window_tokens = 48;
  e.difficulty = difficulty;
  e.cluster = status == ExampleView::Status::kFilteredOut ? -1 : 2;
  e.brittleness = status == ExampleView::Status::kFilteredOut ? NAN : 0.25;
  e.why = "why " + key + " " + kHostile;
  return e;
}

// Two domains, three sources (one hostile name), the unparsed group, a calibration that missed.
ReportData curator_report() {
  ReportData d = small_report();
  d.allocation = {{"domain", "math", "", 700, 0.0, 0.75, 3},
                  {"domain", "medicine", "", 200, 0.0, 0.25, 1},
                  {"source", "math", "numina", 500, 0.0, 0.45, 2},
                  {"source", "math", kHostile, 200, 0.0, 0.3, 1},
                  {"source", "medicine", "medqa", 200, 0.0, 1.0, 1}};
  d.calibration.lines = {{"base", 1.0, 1.0}, {"gaussian 1", 1.2, 1.2}, {"gaussian 2", 1.6, 1.6}};
  d.calibration.chosen = 2;
  d.calibration.low = 2;
  d.calibration.high = 3;
  d.calibration.tokens = 100;
  d.calibration.samples = 64;
  d.passes = {{"calibration", 3, 192, 19200, 12.0, 24.0, 3}, {"difficulty", 1, 1234, 123400, 30.0, 60.0, 3}};
  d.settings = {{"model.path", "base"}, {"select.method", kHostile}};
  d.fingerprint = "model=" + kHostile + ";seed=17";
  d.device = "cuda";
  d.links = {{"selected", "run.selected.jsonl"}, {"ids", "run \"x\".selected_ids.txt"}};
  SourceView numina{"math",     "numina",     600,  {{"bad_token_ids", 1}}, 599,   500, 498, 2, {1.0, 1.5},
                    {1.1, 1.9}, {10, 20, 30}, {20}, {100, 200, 300},        {300}, {}};
  numina.examples = {example(ExampleView::Status::kSelected, "sel-1", 2.5),
                     example(ExampleView::Status::kNotPicked, "not-1", 2.2),
                     example(ExampleView::Status::kFilteredOut, "filt-1", 0.4)};
  SourceView hostile{"math", kHostile, 200, {}, 200, 200, 200, 1, {1.0, 1.2}, {1.0, 1.3}, {5}, {5}, {50}, {50}, {}};
  SourceView medqa{"medicine", "medqa", 227, {}, 227, 200, 200, 1, {2.0, 2.5}, {2.1, 2.6}, {7}, {7}, {70}, {70}, {}};
  SourceView unknown{"", "", 7, {{"malformed_json", 2}, {"empty_reasoning", 5}}, 0, 0, 0, 0, {}, {}, {}, {},
                     {}, {}, {}};
  d.sources = {numina, hostile, medqa, unknown};
  return d;
}

TEST(Report, CuratorSectionsArePresentAndEscaped) {
  const std::string html = html_report(curator_report());
  auto seen = check_markup(html);
  expect_no_external_resources(html);
  for (const char* id :
       {"run", "calibration", "funnel", "allocation", "clusters", "difficulty", "loss", "sources", "skipped"}) {
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
    EXPECT_NE(html.find(std::string("<a href=\"#") + id + "\">"), std::string::npos) << id;
  }
  // Calibration: every checkpoint, the chosen one marked, and the miss called out.
  EXPECT_NE(html.find("<tr class=\"chosen\"><td>gaussian 2 ◀ chosen</td><td class=\"num\">1.6</td>"),
            std::string::npos);
  EXPECT_NE(html.find("Calibration missed"), std::string::npos);
  // Funnel totals over the sources: 600 + 200 + 227 + 7 read; 1 + 7 skipped; 1,026 scored; 4 selected.
  EXPECT_NE(html.find("<tr><td>read</td><td class=\"num\">1,034</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>skipped</td><td class=\"num\">8</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>scored (difficulty pass)</td><td class=\"num\">1,026</td>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>profiled</td><td class=\"num\">898</td>"), std::string::npos);
  EXPECT_NE(html.find("unknown (record not parsed)"), std::string::npos);
  // Three sources in full: 3 charts each, plus the 3 overview charts.
  EXPECT_EQ(seen.count("svg"), 12u);
  EXPECT_EQ(occurrences(html, "<span class=\"tag\">selected</span>"), 1u);
  EXPECT_EQ(occurrences(html, "<span class=\"tag\">not picked</span>"), 1u);
  EXPECT_EQ(occurrences(html, "<span class=\"tag\">filtered out</span>"), 1u);
  // Run facts: tokens/s = 123,400 / 30 s; GPU-hours = 60 s / 3600.
  EXPECT_NE(html.find("<th class=\"num\">GPU-hours</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">4,113</td><td class=\"num\">0.0167</td>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"run.selected.jsonl\">run.selected.jsonl</a>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"run &quot;x&quot;.selected_ids.txt\">"), std::string::npos);
  // Hostile text: source name, setting, fingerprint, key-based prompt/window/why of 3 examples.
  EXPECT_EQ(occurrences(html, kHostile), 0u);
  EXPECT_GE(occurrences(html, kHostileEscaped), 3u * 3u + 4u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("'q'"), std::string::npos);

  json j = json::parse(summary_json(curator_report()).dump());
  EXPECT_EQ(j["funnel"]["read"], 1034);
  EXPECT_EQ(j["funnel"]["selected"], 4);
  EXPECT_EQ(j["calibration"]["in_band"], false);
  EXPECT_EQ(j["calibration"]["checkpoints"][2]["ratio"], 1.6);
  ASSERT_EQ(j["sources"].size(), 4u);
  EXPECT_EQ(j["sources"][0]["examples"][1]["status"], "not picked");
  EXPECT_EQ(j["sources"][0]["prompt_tokens"]["all"]["mean"], 20.0);
  EXPECT_EQ(j["passes"][1]["tokens"], 123400);
}

TEST(Report, NaNLossesAreAWarningInThePageAndTheSummary) {
  ReportData data = curator_report();
  EXPECT_EQ(html_report(data).find("NaN losses:"), std::string::npos);
  data.nan_losses = {{"profile", "directional 2", 3}};
  const std::string html = html_report(data);
  EXPECT_NE(
      html.find(
          "<p class=\"warn\"><b>NaN losses:</b> 3 example(s) of the profile pass have NaN losses at directional 2"),
      std::string::npos);
  const json j = json::parse(summary_json(data).dump());
  ASSERT_EQ(j["nan_losses"].size(), 1u);
  EXPECT_EQ(j["nan_losses"][0]["checkpoint"], "directional 2");
  EXPECT_EQ(j["nan_losses"][0]["examples"], 3);
}

TEST(Report, SharesAddUpWithinEachDomainAndZeroScoresAreExplained) {
  const std::string html = html_report(curator_report());
  // math's two sources (45% + 30% of 0.75... given as fractions of the domain) get a subtotal row.
  EXPECT_NE(html.find("<tr class=\"sub\"><td>math</td><td>all sources of math</td><td class=\"num\">700</td>"),
            std::string::npos);
  // No per-domain subtotal for a domain with one source, and no grand total of source shares.
  EXPECT_EQ(html.find("all sources of medicine"), std::string::npos);
  EXPECT_NE(html.find("<tfoot><tr><td colspan=\"2\">total</td><td class=\"num\">900</td><td></td><td class=\"num\">"
                      "</td>"),
            std::string::npos);
  EXPECT_NE(html.find("5 of 5 group scores are 0"), std::string::npos);
  EXPECT_NE(html.find("split uniformly"), std::string::npos);

  ReportData d = small_report();  // positive scores: no zero-score note
  EXPECT_EQ(html_report(d).find("group scores are 0"), std::string::npos);
}

TEST(Report, CalibrationInBandAndFixedCheckpoint) {
  ReportData d = curator_report();
  d.calibration.lines[2].ratio = 2.5;
  std::string html = html_report(d);
  EXPECT_EQ(html.find("Calibration missed"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"ok\">The chosen checkpoint's ratio 2.5 lies in the wanted band."), std::string::npos);
  d.calibration = {};
  d.calibration.chosen = 4;
  html = html_report(d);
  EXPECT_NE(html.find("used Gaussian checkpoint 4, fixed by pass.gaussian_checkpoint"), std::string::npos);
}

TEST(Report, ExampleTextIsShortenedToValidUtf8) {
  ReportData d = curator_report();
  ExampleView& e = d.sources[0].examples[0];
  e.prompt = std::string(1000, 'a') + "tail";
  e.window = "ok \x01 bad\xFF byte é 数";
  std::string html = html_report(d);
  check_markup(html);
  EXPECT_NE(html.find(std::string(240, 'a') + "…"), std::string::npos);
  EXPECT_EQ(html.find(std::string(241, 'a')), std::string::npos);
  EXPECT_NE(html.find("ok \xEF\xBF\xBD bad\xEF\xBF\xBD byte é 数"), std::string::npos);
}

TEST(Report, SpreadPickTakesEvenQuantilesOfTheKey) {
  const std::vector<float> key = {5, 1, NAN, 3, 2, 4, 0, 6};
  const std::vector<std::size_t> members = {0, 1, 2, 3, 4, 5, 6, 7};
  // Order by key: 6(0) 1(1) 4(2) 3(3) 5(4) 0(5) 7(6) 2(NaN); quantiles (j + .5)/3 × 8 -> 1, 4, 6.
  EXPECT_EQ(spread_pick(members, key, 3), (std::vector<std::size_t>{1, 5, 7}));
  EXPECT_EQ(spread_pick(members, key, 1), (std::vector<std::size_t>{5}));
  const std::vector<std::size_t> two = {2, 6};
  EXPECT_EQ(spread_pick(two, key, 5), (std::vector<std::size_t>{6, 2}));
  EXPECT_TRUE(spread_pick(std::span<const std::size_t>(), key, 3).empty());
}

TEST(Report, ShownSourcesAreTheLargestAndTheReportStaysSmall) {
  ReportData d;
  d.distance = {0, 1, 2, 3, 4, 5, 6, 7};
  const std::string big(5000, 'x');
  for (int i = 0; i < 60; ++i) {
    SourceView s{"d" + std::to_string(i % 3),
                 "s" + std::to_string(i),
                 200000,
                 {},
                 200000,
                 1000 + i,
                 1000 + i,
                 10,
                 {},
                 {},
                 {},
                 {},
                 {},
                 {},
                 {}};
    for (int c = 0; c < 8; ++c) s.mean_all.push_back(1 + 0.1 * c), s.mean_selected.push_back(1.2 + 0.1 * c);
    std::mt19937 rng(static_cast<unsigned>(i));
    std::lognormal_distribution<float> length(5, 1);
    for (int k = 0; k < 200000; ++k)
      s.prompt_tokens_all.push_back(length(rng)), s.response_tokens_all.push_back(length(rng) * 10);
    for (int k = 0; k < 10; ++k)
      s.prompt_tokens_selected.push_back(length(rng)), s.response_tokens_selected.push_back(length(rng) * 10);
    for (int k = 0; k < examples_per_status(kMaxSourceViews); ++k) {
      for (auto status :
           {ExampleView::Status::kSelected, ExampleView::Status::kNotPicked, ExampleView::Status::kFilteredOut}) {
        ExampleView e = example(status, big, 1.0);
        e.prompt = e.window = e.why = big;
        s.examples.push_back(e);
      }
    }
    d.sources.push_back(std::move(s));
  }
  const std::vector<std::size_t> shown = shown_sources(d.sources);
  ASSERT_EQ(shown.size(), kMaxSourceViews);
  EXPECT_EQ(shown.front(), 40u);  // the 20 with the most kept examples, in table order
  EXPECT_EQ(shown.back(), 59u);
  EXPECT_EQ(examples_per_status(3), 3);
  EXPECT_EQ(examples_per_status(kMaxSourceViews), 1);
  const std::string html = html_report(d);
  check_markup(html);
  EXPECT_LT(html.size(), 400000u) << "12M examples in 60 sources";
  EXPECT_NE(html.find("40 more group(s) appear in the funnel table only"), std::string::npos);
}

// A realistic report; with CURATE_REPORT_EXAMPLE=path the page is written there to be looked at.
ReportData synthetic_report() {
  std::mt19937 rng(7);
  ReportData d;
  d.model = "Qwen2.5-7B-Instruct";
  d.dataset = "/data/m23k/m23k_train.jsonl.zst";
  d.method = "loss-profile k-means, budget by domain";
  d.budget = "2,000 examples";
  d.seed = "20260117";
  d.examples = 23493;
  d.kept = 17620;
  d.selected = 2000;
  const std::vector<std::pair<std::string, std::vector<std::string>>> domains = {
      {"medicine", {"medqa", "medmcqa", "pubmedqa"}}, {"math", {"numina", "aime"}}, {"code", {"apps"}}};
  std::vector<AllocationLine> sources;
  int64_t left = d.selected;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    int64_t examples = i == 0 ? 11000 : i == 1 ? 5120 : 1500;
    double share = i == 0 ? 0.55 : i == 1 ? 0.33 : 0.12;
    int64_t allocated = i + 1 == domains.size() ? left : std::llround(share * d.selected);
    left -= allocated;
    d.allocation.push_back({"domain", domains[i].first, "", examples, 1.3 - 0.2 * i, share, allocated});
    for (std::size_t s = 0; s < domains[i].second.size(); ++s) {
      double part = 1.0 / domains[i].second.size();
      sources.push_back({"source", domains[i].first, domains[i].second[s], std::llround(examples * part),
                         1.3 - 0.2 * i + 0.05 * s, share * part, std::llround(allocated * part)});
    }
  }
  d.allocation.insert(d.allocation.end(), sources.begin(), sources.end());
  std::lognormal_distribution<double> size(3.5, 0.8);
  std::bernoulli_distribution picked(0.7);
  for (int c = 0; c < 300; ++c) {
    auto s = std::max<int64_t>(1, std::llround(size(rng)));
    d.cluster_sizes.push_back(s);
    if (picked(rng)) d.selected_cluster_sizes.push_back(s);
  }
  std::normal_distribution<float> all(1.25f, 0.35f), selected(1.55f, 0.22f);
  for (int i = 0; i < 17620; ++i) d.difficulty_all.push_back(all(rng));
  for (int i = 0; i < 2000; ++i) d.difficulty_selected.push_back(selected(rng));
  for (int c = 0; c <= 8; ++c) {
    double r = 0.02 * c;
    d.distance.push_back(r * (1 + 0.03 * std::sin(c)));
    d.mean_all.push_back(0.92 + 28 * r * r + 0.5 * r);
    d.mean_selected.push_back(0.88 + 14 * r * r + 0.3 * r);
  }
  d.skipped = {{"empty_reasoning", 41}, {"malformed_json", 3}, {"missing_field", 12}};
  d.calibration.lines = {{"base", 0.91, 1.0},
                         {"gaussian 1", 1.02, 1.12},
                         {"gaussian 2", 1.49, 1.64},
                         {"gaussian 3", 2.31, 2.54},
                         {"gaussian 4", 3.9, 4.29}};
  d.calibration.chosen = 3;
  d.calibration.low = 2, d.calibration.high = 3, d.calibration.tokens = 100, d.calibration.samples = 256;
  d.passes = {{"calibration", 5, 1280, 128000, 41, 287, 8},
              {"difficulty", 1, 23437, 2343700, 610, 4270, 8},
              {"profile", 8, 140960, 131000000, 9100, 63700, 8},
              {"selection", 0, 17620, 0, 12, NAN, 1}};
  d.settings = {{"model.path", d.model}, {"select.method", "temp"}, {"select.budget", "2000"}};
  d.fingerprint = "model=Qwen2.5-7B-Instruct@1700000000;dataset=/data/m23k/m23k_train.jsonl.zst@1;seed=0";
  d.device = "cuda";
  d.links = {{"selected", "run.selected.jsonl"}, {"summary", "run.summary.json"}};
  std::uniform_real_distribution<float> unit(0, 1);
  for (const AllocationLine& line : d.allocation) {
    if (line.level != "source") continue;
    SourceView s{line.domain,
                 line.source,
                 line.examples + 20,
                 {{"bad_token_ids", 2}},
                 line.examples + 18,
                 line.examples,
                 line.examples,
                 line.allocated,
                 {},
                 {},
                 {},
                 {},
                 {},
                 {},
                 {}};
    for (int c = 0; c <= 8; ++c) {
      s.mean_all.push_back(d.mean_all[static_cast<std::size_t>(c)] * (0.9 + 0.2 * unit(rng)));
      s.mean_selected.push_back(d.mean_selected[static_cast<std::size_t>(c)] * (0.9 + 0.2 * unit(rng)));
    }
    std::lognormal_distribution<float> prompt(5, 0.6), response(7, 0.5);
    for (int64_t i = 0; i < line.examples; ++i)
      s.prompt_tokens_all.push_back(prompt(rng)), s.response_tokens_all.push_back(response(rng));
    for (int64_t i = 0; i < line.allocated; ++i)
      s.prompt_tokens_selected.push_back(prompt(rng) * 1.2f),
          s.response_tokens_selected.push_back(response(rng) * 1.3f);
    for (auto status :
         {ExampleView::Status::kSelected, ExampleView::Status::kNotPicked, ExampleView::Status::kFilteredOut}) {
      for (int k = 0; k < 2; ++k) {
        ExampleView e;
        e.status = status;
        e.key = line.source + "-" + std::to_string(100 + k);
        e.line = 1000 + k;
        e.prompt =
            "A 45-year-old man presents with chest pain radiating to the left arm. <b>What</b> is the next step?";
        e.window = "Okay, let's think about this step by step.\nFirst, chest pain & arm radiation suggest \"MI\".";
        e.window_tokens = 48;
        e.difficulty = 1.2 + 0.3 * k;
        e.cluster = status == ExampleView::Status::kFilteredOut ? -1 : 3 + k;
        e.brittleness = status == ExampleView::Status::kFilteredOut ? NAN : 0.1 * (k + 1);
        e.why = status == ExampleView::Status::kSelected
                    ? "taken: cluster 3 gave 2 of its 5 members, ranked by brittleness"
                : status == ExampleView::Status::kNotPicked
                    ? "not picked: ranked below the cluster's lowest taken key 0.31"
                    : "filtered out: difficulty below the lowest kept (1.9) of the source";
        s.examples.push_back(e);
      }
    }
    d.sources.push_back(std::move(s));
  }
  return d;
}

TEST(Report, RealisticReport) {
  std::string html = html_report(synthetic_report());
  check_markup(html);
  EXPECT_EQ(html.find("no data"), std::string::npos);
  EXPECT_LT(html.size(), 200000u);
  if (const char* path = std::getenv("CURATE_REPORT_EXAMPLE")) {
    std::ofstream(path) << html;
  }
}

}  // namespace
}  // namespace curate::report
