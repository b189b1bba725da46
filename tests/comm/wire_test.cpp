#include "curate/comm/wire.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace curate::comm {
namespace {

TEST(Wire, RoundTripAndBoundsChecks) {
  Writer writer;
  writer.put<int32_t>(7).put(std::string("checkpoint")).put(std::vector<float>{1.5f, -2.0f}).put<uint64_t>(1ull << 40);
  const auto bytes = writer.bytes();
  Reader reader(bytes);
  EXPECT_EQ(reader.get<int32_t>(), 7);
  EXPECT_EQ(reader.get_string(), "checkpoint");
  EXPECT_EQ(reader.get_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(reader.get<uint64_t>(), 1ull << 40);
  EXPECT_TRUE(reader.done());
  EXPECT_THROW_WITH(reader.get<int32_t>(), DistError, "malformed message");

  Writer hostile;
  hostile.put<uint64_t>(1ull << 60);  // a vector length far beyond the buffer
  Reader bad(hostile.bytes());
  EXPECT_THROW_WITH(bad.get_vector<float>(), DistError, "malformed message");
  Reader truncated(std::span<const std::byte>(bytes).first(6));
  truncated.get<int32_t>();
  EXPECT_THROW_WITH(truncated.get_string(), DistError, "malformed message");
}

}  // namespace
}  // namespace curate::comm
