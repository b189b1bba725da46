// The examples page (SEL.examples.html): one row per selected example, every user string escaped
// (HTML and control characters), its size bounded and stated, a search box that only a script shows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "curate/report/report.h"
#include "report/report_helpers.h"

namespace curate::report {
namespace {

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

// The page without its one script element and its search box (the markup check knows neither): what a
// browser without JavaScript shows.
std::string without_script(std::string html) {
  const std::size_t script = html.find("<script>"), end = html.find("</script>");
  EXPECT_NE(script, std::string::npos);
  if (script != std::string::npos && end != std::string::npos) html.erase(script, end + 9 - script);
  const std::size_t input = html.find("<input ");
  EXPECT_NE(input, std::string::npos);
  if (input != std::string::npos) html.erase(input, html.find('>', input) + 1 - input);
  return html;
}

ExamplesPage page_of(int rows) {
  ExamplesPage page;
  page.title = "run.selected.jsonl";
  page.results = "/runs/run.h5";
  page.report = "run.report.html";
  page.selected = rows;
  for (int i = 0; i < rows; ++i) {
    ExampleRow row;
    row.id = "rec-" + std::to_string(i);
    row.line = i + 1;
    row.source = i % 2 ? "numina" : "medqa";
    row.domain = i % 2 ? "math" : "medicine";
    row.cluster = i % 3;
    row.score = 0.5 + i;
    row.difficulty = 1.25;
    row.prompt_tokens = 40;
    row.reasoning_tokens = 900;
    row.text = "First, we note that " + std::to_string(i) + " is small.";
    page.rows.push_back(row);
  }
  return page;
}

TEST(ExamplesPage, OneRowPerExampleWithTheExplainCommandAndTheReportLink) {
  const std::string html = examples_html(page_of(7));
  testing::check_markup(without_script(html));
  const std::string script = html.substr(html.find("<script>"));  // loads nothing either
  for (const char* external : {"http", "src", "//", "import", "fetch", "XMLHttpRequest", "eval"})
    EXPECT_EQ(script.find(external), std::string::npos) << external;
  testing::expect_no_external_resources(without_script(html));
  EXPECT_EQ(count(html, "<tr><td>"), 7);
  EXPECT_NE(html.find("<tr><td>rec-3</td><td class=\"n\">4</td><td>numina</td><td>math</td><td class=\"n\">0</td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<code>curate_tool explain /runs/run.h5 ID</code> prints any example whole"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"run.report.html\">"), std::string::npos);
  EXPECT_NE(html.find("First, we note that 6 is small."), std::string::npos);
  EXPECT_NE(html.find("<input id=\"search\" type=\"search\" hidden"), std::string::npos);  // shown by the script
  EXPECT_EQ(html.find("in dataset order are listed"), std::string::npos);  // every row listed: no cap note
  if (const char* path = std::getenv("CURATE_EXAMPLES_EXAMPLE")) std::ofstream(path) << html;
}

TEST(ExamplesPage, AHostileRecordIsEscapedHtmlAndControlCharacters) {
  ExamplesPage page = page_of(1);
  page.rows[0].id = "<img src=x onerror=alert(1)>";
  page.rows[0].source = "\x1b]0;pwned\x07";
  page.rows[0].text = "</td></tr></table><script>alert('x')</script>\x1b[31mred\x1b[0m & \"quoted\"\nnext line";
  const std::string html = examples_html(page);
  testing::check_markup(without_script(html));
  EXPECT_EQ(count(html, "<script"), 1);  // the page's own
  EXPECT_EQ(count(html, "</table>"), 1);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find('\x07'), std::string::npos);
  EXPECT_NE(
      html.find("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\\x1b[31mred"),
      std::string::npos)
      << html;
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("\\x1b]0;pwned\\x07"), std::string::npos);
  EXPECT_NE(html.find("&amp; &quot;quoted&quot;\nnext line"), std::string::npos);
}

TEST(ExamplesPage, TextIsShortenedAndALargeSelectionSaysHowManyRowsItLists) {
  ExamplesPage page = page_of(3);
  page.rows[1].text = std::string(5000, 'a');
  page.selected = 25000;  // more than the rows the page lists
  const std::string html = examples_html(page);
  EXPECT_NE(html.find(std::string(kExampleTextChars, 'a') + "…"), std::string::npos);
  EXPECT_EQ(html.find(std::string(kExampleTextChars + 1, 'a')), std::string::npos);
  EXPECT_NE(html.find("25,000 selected; the first 3 in dataset order are listed (the page lists at most 20,000 rows"),
            std::string::npos)
      << html;
}

TEST(ExamplesPage, TwentyThousandRowsStayUnderTenMegabytes) {
  ExamplesPage page = page_of(static_cast<int>(kMaxExampleRows));
  for (ExampleRow& row : page.rows) row.text = std::string(1000, 'w');
  const std::string html = examples_html(page);
  EXPECT_EQ(count(html, "<tr><td>"), static_cast<int>(kMaxExampleRows));
  EXPECT_LT(html.size(), 10u << 20);  // USAGE: "under 10 MB"
}

}  // namespace
}  // namespace curate::report
