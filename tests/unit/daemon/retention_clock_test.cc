// Unit: ClockSteps, the wall clock's jumps measured against the boot clock.
#include "daemon/retention_clock.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kYear = 365 * kDay;
constexpr int64_t kT0 = 1'700'000'000'000;  // Some wall time.

TEST(ClockStepsTest, AForwardJumpIsAllowedForUntilItsAgeHasReallyPassed) {
  ClockSteps c;
  c.observe(kT0, 1000);
  c.observe(kT0 + 60'000, 61'000);  // A minute, on both clocks.
  EXPECT_TRUE(c.steps().empty());
  c.observe(kT0 + 120'000 + kYear, 121'000);  // A minute later, the wall clock is a year ahead.
  ASSERT_EQ(1u, c.steps().size());
  EXPECT_EQ(kYear, c.steps()[0].delta_ms);
  // A job finished at kT0 + 60 s, 30 days of retention: not prunable now.
  const int64_t age = 30 * kDay;
  const int64_t now = kT0 + 120'000 + kYear;
  EXPECT_GT(kT0 + 60'000, now - age - c.allowance(121'000, age));
  // 29 days later (real time): still kept.
  EXPECT_GT(kT0 + 60'000, now + 29 * kDay - age - c.allowance(121'000 + 29 * kDay, age));
  // 31 days later: the step no longer counts, the job is really 31 days old.
  EXPECT_EQ(0, c.allowance(121'000 + 31 * kDay, age));
}

TEST(ClockStepsTest, SlewAndSmallDriftAreNotSteps) {
  ClockSteps c;
  c.observe(kT0, 0);
  c.observe(kT0 + 3'600'000 + 1'500, 3'600'000);  // 1.5 s in an hour: within 1 s + 1 ms/s.
  c.observe(kT0 + 7'200'000 + 1'000, 7'200'000);  // Back 0.5 s.
  EXPECT_TRUE(c.steps().empty());
}

TEST(ClockStepsTest, ABackwardJumpNeverMakesACutoffLater) {
  ClockSteps c;
  c.observe(kT0, 0);
  c.observe(kT0 - kYear, 1000);
  ASSERT_EQ(1u, c.steps().size());
  EXPECT_EQ(0, c.allowance(1000, 30 * kDay));
  // Forward again: the sums after each point are 0 and +1 y - 1 y; the allowance
  // covers the rows stamped between the two (a year ahead, never older).
  c.observe(kT0 + 2000, 2000);
  EXPECT_EQ(kYear + 1000, c.allowance(2000, 30 * kDay));
}

TEST(ClockStepsTest, ManyStepsAreMergedWithoutLosingAllowance) {
  ClockSteps c;
  int64_t wall = kT0;
  c.observe(wall, 0);
  for (int i = 1; i <= 100; ++i) {
    wall += kDay;  // Each look, the wall clock is a day further than the boot clock.
    c.observe(wall, i);
  }
  EXPECT_LE(c.steps().size(), ClockSteps::kMaxSteps);
  EXPECT_GE(c.allowance(100, kYear), 100 * (kDay - 1));
}

TEST(ClockStepsTest, AStepSurvivesARestartInTheSameBootAndIsSeenWhileDown) {
  ClockSteps c;
  c.observe(kT0, 1000);
  c.observe(kT0 + 1000 + kYear, 2000);
  const std::string saved = c.toJson("boot-a", 2000);
  ClockSteps again;
  ASSERT_TRUE(again.load(saved, "boot-a", 5000));
  EXPECT_EQ(kYear, again.allowance(5000, 30 * kDay));
  // A second jump while llmqd was down, in the same boot: seen at the first look.
  ClockSteps down;
  ASSERT_TRUE(down.load(saved, "boot-a", 5000));
  down.observe(kT0 + 2 * kYear + 4000, 5000);
  EXPECT_EQ(2 * kYear, down.allowance(5000, 30 * kDay));
  // Another boot: the steps count again from now; the old offset is not compared.
  ClockSteps rebooted;
  ASSERT_TRUE(rebooted.load(saved, "boot-b", 10));
  EXPECT_EQ(kYear, rebooted.allowance(10 + 29 * kDay, 30 * kDay));
  rebooted.observe(kT0 + 5 * kYear, 20);
  EXPECT_EQ(1u, rebooted.steps().size());
}

TEST(ClockStepsTest, AHostileSavedValueIsRefusedOrClamped) {
  ClockSteps c;
  EXPECT_FALSE(c.load("not json", "b", 0));
  EXPECT_FALSE(c.load("{\"boot_id\":1}", "b", 0));
  EXPECT_FALSE(c.load(R"({"boot_id":"b","boot_ms":0,"offset_ms":0,"steps":[["x",1]]})", "b", 0));
  ASSERT_TRUE(c.load(R"({"boot_id":"b","boot_ms":0,"offset_ms":0,"steps":[[9223372036854775807,0]]})", "b", 0));
  EXPECT_LT(c.allowance(0, kDay), 200 * kYear) << "clamped, no overflow";
  std::string many = R"({"boot_id":"b","boot_ms":0,"offset_ms":0,"steps":[)";
  for (int i = 0; i < 1000; ++i) {
    many += (i == 0 ? "" : ",") + std::string("[1,0]");
  }
  EXPECT_FALSE(c.load(many + "]}", "b", 0));
}

}  // namespace
}  // namespace llmq::daemon
