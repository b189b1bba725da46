// Shared by the report's tests: a small report, and checks of the page's markup.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "curate/report/report.h"

namespace curate::report::testing {

using nlohmann::json;

inline ReportData small_report() {
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

inline int64_t sum(const json& counts) {
  int64_t total = 0;
  for (const json& c : counts) total += c.get<int64_t>();
  return total;
}

inline std::multiset<std::string> check_markup(const std::string& html) {
  static const std::set<std::string> kKnown = {
      "html",   "head",   "meta",    "title",      "style", "body", "h1",   "h2",      "h3",      "h4",
      "table",  "thead",  "tbody",   "tfoot",      "tr",    "th",   "td",   "div",     "b",       "i",
      "span",   "p",      "figure",  "figcaption", "svg",   "g",    "rect", "line",    "path",    "text",
      "circle", "footer", "section", "nav",        "a",     "pre",  "code", "details", "summary", "sub"};
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

// Links are in-page anchors or relative file names; nothing is loaded from elsewhere.
inline void expect_no_external_resources(std::string html) {
  const std::string xmlns = "xmlns=\"http://www.w3.org/2000/svg\"";  // a namespace name, never fetched
  for (std::size_t at = html.find(xmlns); at != std::string::npos; at = html.find(xmlns)) html.erase(at, xmlns.size());
  for (const char* external : {"src=", "url(", "@import", "<link", "<script", "http:", "https:", "//"}) {
    EXPECT_EQ(html.find(external), std::string::npos) << "no external resources: " << external;
  }
  for (std::size_t at = html.find("href=\""); at != std::string::npos; at = html.find("href=\"", at + 1)) {
    const std::string target = html.substr(at + 6, html.find('"', at + 6) - at - 6);
    EXPECT_EQ(target.find(':'), std::string::npos) << target;
    EXPECT_NE(target.front(), '/') << target;
  }
}

inline std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// User text that must come out escaped, and how it does.
inline const std::string kHostile = "<script>alert(\"x\")</script> & 'q'";
inline const std::string kHostileEscaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";

}  // namespace curate::report::testing
