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

// Only real calendar dates and times: usage.report since "2026-02-30" is a
// mistake, not March 2nd.
TEST(TimeTest, RejectsDatesThatDoNotExist) {
  int64_t ms = 0;
  for (const char* bad :
       {"2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60",
        "+026-01-01T00:00:00Z", "2026-+1-01T00:00:00Z", " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00"}) {
    EXPECT_FALSE(parseRfc3339(bad, &ms)) << bad;
  }
  ASSERT_TRUE(parseRfc3339("2028-02-29T00:00:00Z", &ms));  // A leap year.
  ASSERT_TRUE(parseRfc3339("2000-02-29T23:59:60Z", &ms));  // 2000 is one; a leap second.
  EXPECT_FALSE(parseRfc3339("1900-02-29T00:00:00Z", &ms));
  ASSERT_TRUE(parseRfc3339("2026-12-31T23:59:59-23:59", &ms));
}

// A clock whose two readings a test sets.
class SteppedClock final : public Clock {
 public:
  int64_t nowMs() const override { return wall; }
  int64_t monoMs() const override { return mono; }
  int64_t wall = 1'800'000'000'000;
  int64_t mono = 5'000;
};

TEST(WallStepWatchTest, ReportsStepsButNotDrift) {
  SteppedClock c;
  WallStepWatch w(c);
  c.wall += 1000;
  c.mono += 1000;
  EXPECT_EQ(0, w.step());  // Both moved alike.
  c.wall += 100;           // Slew, or two reads apart: not a step.
  EXPECT_EQ(0, w.step());
  c.wall -= 3'600'000;              // Set back an hour.
  EXPECT_EQ(-3'599'900, w.step());  // Less the 100 ms of drift it let pass.
  EXPECT_EQ(0, w.step());           // Once.
  c.wall += 86'400'000;
  c.mono += 10;
  EXPECT_EQ(86'400'000 - 10, w.step());
}

}  // namespace
}  // namespace llmq
