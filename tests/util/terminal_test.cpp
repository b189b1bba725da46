// Text shown on a terminal: escape_control.
#include "curate/util/terminal.h"

#include <gtest/gtest.h>

namespace curate {
namespace {

TEST(Terminal, ControlCharactersAreShownNotActedOn) {
  EXPECT_EQ(escape_control("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
  EXPECT_EQ(escape_control("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");   // clear, retitle
  EXPECT_EQ(escape_control("\x1b]52;c;ZXZpbA==\x1b\\"), "\\x1b]52;c;ZXZpbA==\\x1b\\");  // set the clipboard
  EXPECT_EQ(escape_control("over\rwrite\x7f"), "over\\x0dwrite\\x7f");
  EXPECT_EQ(escape_control("a\nb\tc"), "a\nb\tc");  // the lines and tabs a message means
  EXPECT_EQ(escape_control("a\nb", /*keep_newlines=*/false), "a\\x0ab");
  EXPECT_EQ(escape_control(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(escape_control("\xc2\x9b"
                           "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(escape_control("abc\xe2\x80\xae"
                           "fed"),
            "abc\\u202efed");  // right-to-left override
  EXPECT_EQ(escape_control("bad \x9b\xff utf8 \xe2\x82"), "bad \\x9b\\xff utf8 \\xe2\\x82");
}

}  // namespace
}  // namespace curate
