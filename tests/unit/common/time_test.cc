// Tests for common/time: RFC 3339 formatting and parsing.
#include "common/time.h"

#include <gtest/gtest.h>

namespace llmq {
namespace {

TEST(TimeTest, FormatsEpochAndMillis) {
  EXPECT_EQ("1970-01-01T00:00:00.000Z", rfc3339(0));
  EXPECT_EQ("2026-11-24T02:46:07.123Z", rfc3339(1795488367123));
}

TEST(TimeTest, ParsesWhatItFormatsAndOffsets) {
  int64_t ms = 0;
  ASSERT_TRUE(parseRfc3339("2026-11-24T02:46:07.123Z", &ms));
  EXPECT_EQ(1795488367123, ms);
  ASSERT_TRUE(parseRfc3339("2026-11-24T03:46:07+01:00", &ms));
  EXPECT_EQ(1795488367000, ms);
  EXPECT_FALSE(parseRfc3339("2026-11-24 02:46:07Z", &ms));
  EXPECT_FALSE(parseRfc3339("2026-13-24T02:46:07Z", &ms));
  EXPECT_FALSE(parseRfc3339("2026-11-24T02:46:07Zjunk", &ms));
}

}  // namespace
}  // namespace llmq
