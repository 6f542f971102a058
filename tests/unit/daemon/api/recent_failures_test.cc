// Tests for daemon/api/recent_failures: what is remembered, for how long, and the
// bounds (kMaxEntries entries, kMaxAnswerBytes each).
#include "daemon/api/recent_failures.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::daemon {
namespace {

RecentFailures::Digest d(const std::string& s) { return RecentFailures::digest({"chat", s}); }
RecentFailures::Answer answer(int status, const std::string& body = "{}") {
  return RecentFailures::Answer{status, "X-Llmq-Job-Id: j1\r\n", body};
}

TEST(RecentFailuresTest, AnAnswerIsFoundUntilItsWindowEnds) {
  RecentFailures f(1000);
  f.remember(d("a"), answer(502, "{\"x\":1}"), 5000);
  auto hit = f.find(d("a"), 5999);
  ASSERT_TRUE(hit);
  EXPECT_EQ(502, hit->status);
  EXPECT_EQ("{\"x\":1}", hit->body);
  EXPECT_EQ("X-Llmq-Job-Id: j1\r\n", hit->headers);
  EXPECT_FALSE(f.find(d("a"), 6000));
  EXPECT_EQ(0u, f.size());
}

TEST(RecentFailuresTest, OtherRequestsAreNotFound) {
  RecentFailures f(1000);
  f.remember(d("a"), answer(502), 0);
  EXPECT_FALSE(f.find(d("b"), 1));
}

TEST(RecentFailuresTest, DigestsOfDifferentPartListsDiffer) {
  EXPECT_NE(RecentFailures::digest({"ab", "c"}), RecentFailures::digest({"a", "bc"}));
  EXPECT_NE(RecentFailures::digest({"a", ""}), RecentFailures::digest({"a"}));
  EXPECT_EQ(RecentFailures::digest({"a", "b"}), RecentFailures::digest({"a", "b"}));
}

TEST(RecentFailuresTest, RememberingAgainRenewsTheWindow) {
  RecentFailures f(1000);
  f.remember(d("a"), answer(502), 0);
  f.remember(d("a"), answer(503), 800);
  auto hit = f.find(d("a"), 1500);  // Past the first window, within the second.
  ASSERT_TRUE(hit);
  EXPECT_EQ(503, hit->status);
  EXPECT_FALSE(f.find(d("a"), 1800));
}

TEST(RecentFailuresTest, AtMostMaxEntriesAreKeptTheOldestGoesFirst) {
  RecentFailures f(1'000'000);
  for (size_t i = 0; i <= RecentFailures::kMaxEntries; ++i) {
    f.remember(d(std::to_string(i)), answer(502), static_cast<int64_t>(i));
  }
  EXPECT_EQ(RecentFailures::kMaxEntries, f.size());
  EXPECT_FALSE(f.find(d("0"), 2000));
  EXPECT_TRUE(f.find(d("1"), 2000));
  EXPECT_TRUE(f.find(d(std::to_string(RecentFailures::kMaxEntries)), 2000));
}

TEST(RecentFailuresTest, AnAnswerPastTheLimitIsNotKept) {
  RecentFailures f(1000);
  f.remember(d("big"), answer(502, std::string(RecentFailures::kMaxAnswerBytes, 'x')), 0);
  EXPECT_FALSE(f.find(d("big"), 1));
  f.remember(d("fits"), answer(502, std::string(RecentFailures::kMaxAnswerBytes - 100, 'x')), 0);
  EXPECT_TRUE(f.find(d("fits"), 1));
}

TEST(RecentFailuresTest, AZeroWindowKeepsNothing) {
  RecentFailures f(0);
  EXPECT_FALSE(f.enabled());
  f.remember(d("a"), answer(502), 0);
  EXPECT_EQ(0u, f.size());
}

}  // namespace
}  // namespace llmq::daemon
