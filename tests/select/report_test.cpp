// Outputs of the selection stage: ShareGPT export, dataset_info.json entry, summary JSON, HTML report.
#include "curate/select/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "curate/select/export.h"
#include "curate/util/error.h"

namespace curate::select {
namespace {

using nlohmann::json;

data::Example chat_example() {
  data::Example e;
  e.id = "q-17";
  e.source = "numina";
  e.domain = "math";
  e.context = {{"user", "What is 2+2?"}, {"assistant", "Do you want a proof?"}, {"user", "Yes."}};
  e.reasoning = "Two plus two is four.";
  e.answer = "4";
  return e;
}

// ---- export ----

TEST(Export, ChatExampleInShareGptForm) {
  std::string line = to_sharegpt(chat_example());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"conversations\":[", 0), 0u) << line;  // key order kept
  json j = json::parse(line);
  ASSERT_EQ(j["conversations"].size(), 4u);
  const char* tags[] = {"human", "gpt", "human", "gpt"};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(j["conversations"][i]["from"], tags[i]);
  EXPECT_EQ(j["conversations"][0]["value"], "What is 2+2?");
  EXPECT_EQ(j["conversations"][3]["value"], "<think>\nTwo plus two is four.\n</think>\n\n4");
  EXPECT_FALSE(j.contains("system"));
  EXPECT_FALSE(j.contains("input_ids"));
  EXPECT_EQ(j["id"], "q-17");
  EXPECT_EQ(j["source"], "numina");
  EXPECT_EQ(j["domain"], "math");
}

TEST(Export, FlatRecordRoundTripsThroughTheParser) {
  data::DataOptions flat;
  auto parsed = data::parse_record(
      R"({"prompt": "A 45-year-old man has chest pain. Next step?", "reasoning": "Rule out MI first.",)"
      R"( "distilled_answer_string": "ECG", "source": "medqa", "domain": "medicine"})",
      3, flat);
  ASSERT_TRUE(parsed.example) << parsed.detail;
  std::string line = to_sharegpt(*parsed.example);
  json j = json::parse(line);
  ASSERT_EQ(j["conversations"].size(), 2u);
  EXPECT_EQ(j["conversations"][0]["from"], "human");
  EXPECT_EQ(j["conversations"][1]["value"], "<think>\nRule out MI first.\n</think>\n\nECG");
  EXPECT_EQ(j["id"], "3");

  // Read back as ShareGPT with the export markers: the same example.
  data::DataOptions sharegpt;
  sharegpt.think_begin = "<think>\n";
  sharegpt.think_end = "\n</think>\n\n";
  auto again = data::parse_record(line, 3, sharegpt);
  ASSERT_TRUE(again.example) << again.detail;
  EXPECT_EQ(again.example->context.size(), 1u);
  EXPECT_EQ(again.example->context[0].content, parsed.example->context[0].content);
  EXPECT_EQ(again.example->reasoning, parsed.example->reasoning);
  EXPECT_EQ(again.example->answer, parsed.example->answer);
  EXPECT_EQ(again.example->source, "medqa");
  EXPECT_EQ(again.example->domain, "medicine");
}

TEST(Export, SystemMessagesGoToTheSystemField) {
  data::Example e = chat_example();
  e.context.insert(e.context.begin(), {"system", "You are careful."});
  json j = json::parse(to_sharegpt(e));
  EXPECT_EQ(j["system"], "You are careful.");
  ASSERT_EQ(j["conversations"].size(), 4u);
  EXPECT_EQ(j["conversations"][0]["from"], "human");

  e.context.push_back({"system", "Answer briefly."});
  j = json::parse(to_sharegpt(e));
  EXPECT_EQ(j["system"], "You are careful.\n\nAnswer briefly.");
}

TEST(Export, EscapesJsonAndKeepsUtf8) {
  data::Example e;
  e.id = "id \"quoted\"";
  e.context = {{"user", "Say \"hi\" \\ then\ttab\nnewline \x01 ctrl"}};
  e.reasoning = "Café, 数学, 🙂 </think> inside";
  e.answer = "é";
  std::string line = to_sharegpt(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("Café, 数学, 🙂"), std::string::npos) << "non-ASCII is written as UTF-8, not \\u escapes";
  EXPECT_NE(line.find(R"(Say \"hi\" \\ then\ttab\nnewline \u0001 ctrl)"), std::string::npos) << line;
  json j = json::parse(line);
  EXPECT_EQ(j["conversations"][0]["value"], e.context[0].content);
  EXPECT_EQ(j["conversations"][1]["value"], "<think>\n" + e.reasoning + "\n</think>\n\né");
  EXPECT_EQ(j["id"], e.id);
}

TEST(Export, CustomMarkers) {
  ExportOptions options;
  options.think_open = "<|begin_of_thought|>";
  options.think_close = "<|end_of_thought|>";
  json j = json::parse(to_sharegpt(chat_example(), options));
  EXPECT_EQ(j["conversations"].back()["value"], "<|begin_of_thought|>Two plus two is four.<|end_of_thought|>4");
}

TEST(Export, PretokenizedExamplesKeepTheirIds) {
  data::Example e;
  e.id = "9";
  e.source = "s";
  e.pretokenized = true;
  e.input_ids = {151644, 872, 198, 17, 10, 17};
  e.reasoning_start = 3;
  json j = json::parse(to_sharegpt(e));
  EXPECT_FALSE(j.contains("conversations"));
  EXPECT_EQ(j["input_ids"], json({151644, 872, 198, 17, 10, 17}));
  EXPECT_EQ(j["reasoning_start"], 3);
  EXPECT_EQ(j["id"], "9");
  EXPECT_EQ(j["source"], "s");
  EXPECT_EQ(j["domain"], "default");
}

TEST(Export, UnknownRoleIsADataError) {
  data::Example e = chat_example();
  e.context[1].role = "tool";
  EXPECT_THROW(to_sharegpt(e), DataError);
}

TEST(Export, DatasetInfoEntry) {
  std::string text = dataset_info_entry("curated \"v1\"", "selected.jsonl");
  EXPECT_EQ(text.back(), '\n');
  json j = json::parse(text);
  ASSERT_EQ(j.size(), 1u);
  const json& entry = j.at("curated \"v1\"");
  EXPECT_EQ(entry["file_name"], "selected.jsonl");
  EXPECT_EQ(entry["formatting"], "sharegpt");
  EXPECT_EQ(entry["columns"], json({{"messages", "conversations"}, {"system", "system"}}));
  EXPECT_EQ(entry["tags"],
            json({{"role_tag", "from"}, {"content_tag", "value"}, {"user_tag", "human"}, {"assistant_tag", "gpt"}}));
}

// ---- report ----

ReportData small_report() {
  ReportData d;
  d.model = "Qwen2.5-7B";
  d.dataset = "m23k.jsonl";
  d.method = "profile-kmeans";
  d.budget = "4 examples";
  d.seed = "17";
  d.examples = 1234;
  d.kept = 900;
  d.selected = 4;
  d.allocation = {{"domain", "math", "", 700, 0.8, 0.75, 3},
                  {"domain", "medicine", "", 200, 0.2, 0.25, 1},
                  {"source", "math", "numina", 700, 0.8, 0.75, 3},
                  {"source", "medicine", "medqa", 200, 0.2, 0.25, 1}};
  d.cluster_sizes = {1, 2, 3, 10};
  d.selected_cluster_sizes = {3, 10};
  d.difficulty_all = {0.1f, 0.2f, 0.2f, 0.9f};
  d.difficulty_selected = {0.2f, 0.9f};
  d.distance = {0.0, 0.5, 1.0};
  d.mean_all = {1.0, 1.5, 2.5};
  d.mean_selected = {1.1, 1.4, 2.0};
  d.skipped = {{"malformed_json", 2}, {"empty_reasoning", 5}};
  return d;
}

int64_t sum(const json& counts) {
  int64_t total = 0;
  for (const json& c : counts) total += c.get<int64_t>();
  return total;
}

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
std::multiset<std::string> check_markup(const std::string& html) {
  static const std::set<std::string> kKnown = {"html", "head",  "meta",  "title", "style",  "body",       "h1",  "h2",
                                               "h3",   "table", "thead", "tbody", "tfoot",  "tr",         "th",  "td",
                                               "div",  "b",     "span",  "p",     "figure", "figcaption", "svg", "g",
                                               "rect", "line",  "path",  "text",  "circle", "footer"};
  std::multiset<std::string> seen;
  std::vector<std::string> open;
  for (std::size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    std::size_t end = html.find('>', at);
    EXPECT_NE(end, std::string::npos) << "unterminated tag at " << at;
    if (end == std::string::npos) break;
    std::string tag = html.substr(at + 1, end - at - 1);
    if (tag.rfind("!DOCTYPE", 0) == 0) continue;
    bool closing = tag.front() == '/', self_closing = tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" /", 1) - (closing ? 1 : 0));
    EXPECT_TRUE(kKnown.count(name)) << "unexpected element <" << tag << ">";
    if (closing) {
      EXPECT_FALSE(open.empty()) << "stray </" << name << ">";
      if (open.empty()) continue;
      EXPECT_EQ(open.back(), name) << "</" << name << "> closes <" << open.back() << ">";
      open.pop_back();
    } else if (!self_closing && name != "meta") {
      open.push_back(name);
      seen.insert(name);
    } else {
      seen.insert(name);
    }
  }
  EXPECT_TRUE(open.empty()) << "unclosed <" << (open.empty() ? "" : open.back()) << ">";
  EXPECT_EQ(html.find("<script"), std::string::npos);
  return seen;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

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
  for (const char* external : {"src=", "href=", "url(", "@import", "<link"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << "no external resources: " << external;
  }
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
}  // namespace curate::select
