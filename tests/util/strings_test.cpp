#include "curate/util/strings.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>

#include "curate/util/hash.h"

namespace curate {
namespace {

TEST(Strings, FormatFloatRoundTripsShortest) {
  EXPECT_EQ(format_float(0.1f), "0.1");
  EXPECT_EQ(format_float(6.9077554f), "6.9077554");
  for (float v : {1e-7f, 3.14159265f, 123456.789f, 1e30f}) {
    std::string text = format_float(v);
    float back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    EXPECT_EQ(back, v) << text;
  }
  EXPECT_EQ(format_float(std::nanf("")), "nan");
}

TEST(Strings, HumanReadableUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1.5 * 1024 * 1024 * 1024), "1.5 GiB");
  EXPECT_EQ(format_seconds(4.25), "4.2s");
  EXPECT_EQ(format_seconds(185), "3m05s");
  EXPECT_EQ(format_seconds(3720), "1h02m");
  EXPECT_EQ(cat("a", 1, '-', 2.5), "a1-2.5");
}

TEST(Strings, Unescape) {
  EXPECT_EQ(unescape("<think>\\n"), "<think>\n");
  EXPECT_EQ(unescape("a\\tb\\\\n\\q"), "a\tb\\n\\q");
  EXPECT_EQ(unescape("trailing\\"), "trailing\\");
}

TEST(Hash, StableValues) {
  // Fixed values: seeds derived from these hashes must never change between builds or platforms.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_NE(hash_seed(1, "model.norm.weight"), hash_seed(2, "model.norm.weight"));
  EXPECT_NE(hash_seed(1, "a"), hash_seed(1, "b"));
}

}  // namespace
}  // namespace curate
