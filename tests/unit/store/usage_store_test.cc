// Tests for store/usage_store: the daily rollups agree with the ledger they
// summarise, grouped every way, whole days from the rollups and other ranges from
// the ledger; tags count each attempt under each of its tags; budget sums; and
// ledger retention: pruning whole old days changes no report and no budget sum.
#include "store/usage_store.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/usage_bounds.h"

#include "store/job_store.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNov1 = 1'793'491'200'000;  // 2026-11-01T00:00:00Z

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(t_.ok()); }

  // One finished attempt in the ledger (attempts) and in the rollups.
  void spend(int64_t at, const std::string& model, const std::string& client, std::vector<std::string> tags,
             int64_t prompt, int64_t completion, double cost, const std::string& key_fp = "sk-or…aaaa") {
    JobRecord job;
    job.client = client;
    job.model = model;
    job.request_json = "{}";
    job.created_at = at;
    auto id = jobs_.insert(job, {});
    ASSERT_TRUE(id.ok()) << id.error().message;
    AttemptRecord a;
    a.job_id = *id;
    a.attempt = 1;
    a.model = model;
    a.provider = "openrouter";
    a.started_at = at;
    a.finished_at = at + 100;
    a.outcome = "succeeded";
    a.http_status = 200;
    // Saturating: the hostile rows below hold INT64_MAX tokens of each kind.
    const int64_t total = prompt > INT64_MAX - completion ? INT64_MAX : prompt + completion;
    a.usage = Usage{prompt, completion, total, cost};
    a.client = client;
    a.key_fingerprint = key_fp;
    a.tags_json = "[";
    for (size_t i = 0; i < tags.size(); ++i) {
      a.tags_json += (i > 0 ? ",\"" : "\"") + tags[i] + "\"";
    }
    a.tags_json += "]";
    ASSERT_TRUE(jobs_.insertAttempt(a).ok());
    ASSERT_TRUE(jobs_.updateAttempt(a).ok());
    UsageDelta d;
    d.started_at = at;
    d.model = model;
    d.client = client;
    d.key_fp = key_fp;
    d.tags = std::move(tags);
    d.prompt_tokens = prompt;
    d.completion_tokens = completion;
    d.cost_usd = cost;
    ASSERT_TRUE(usage_.add(d).ok());
  }

  testing::TestDb t_;
  JobStore jobs_{t_.db()};
  UsageStore usage_{t_.db()};
};

TEST_F(UsageStoreTest, DayNamesAreUtc) {
  EXPECT_EQ("2026-11-01", UsageStore::utcDay(kNov1));
  EXPECT_EQ("2026-10-31", UsageStore::utcDay(kNov1 - 1));
  EXPECT_EQ("2026-11-02", UsageStore::utcDay(kNov1 + kDay));
}

TEST_F(UsageStoreTest, RollupAndLedgerAgreeForEveryGrouping) {
  spend(kNov1 + 1000, "m/a", "alice", {"x"}, 10, 20, 0.5);
  spend(kNov1 + 2000, "m/a", "bob", {"x", "y"}, 1, 2, 0.25);
  spend(kNov1 + kDay + 5, "m/b", "alice", {}, 100, 0, 1.0);
  spend(kNov1 + 2 * kDay, "m/b", "alice", {"y"}, 7, 7, 2.0);

  std::vector<std::vector<UsageDim>> groupings = {{},
                                                  {UsageDim::kModel},
                                                  {UsageDim::kDay, UsageDim::kModel},
                                                  {UsageDim::kClient},
                                                  {UsageDim::kTag},
                                                  {UsageDim::kKey, UsageDim::kTag, UsageDim::kDay}};
  for (const auto& g : groupings) {
    // Whole days: rollup. Shifted by a millisecond: the ledger. Same answer.
    UsageQuery whole{g, kNov1, kNov1 + 3 * kDay};
    UsageQuery exact{g, kNov1 - 1, kNov1 + 3 * kDay - 1};
    auto a = usage_.report(whole);
    auto b = usage_.report(exact);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(a->from_rollup);
    EXPECT_FALSE(b->from_rollup);
    ASSERT_EQ(a->rows.size(), b->rows.size()) << g.size();
    for (size_t i = 0; i < a->rows.size(); ++i) {
      EXPECT_EQ(a->rows[i].keys, b->rows[i].keys);
      EXPECT_EQ(a->rows[i].figures.requests, b->rows[i].figures.requests);
      EXPECT_DOUBLE_EQ(a->rows[i].figures.cost_usd, b->rows[i].figures.cost_usd);
    }
    EXPECT_EQ(4, a->totals.requests);
    EXPECT_DOUBLE_EQ(3.75, a->totals.cost_usd) << "totals count each attempt once, tags or not";
    EXPECT_DOUBLE_EQ(3.75, b->totals.cost_usd);
  }
  auto by_tag = usage_.report(UsageQuery{{UsageDim::kTag}, std::nullopt, std::nullopt});
  ASSERT_TRUE(by_tag.ok());
  ASSERT_EQ(3u, by_tag->rows.size());
  EXPECT_EQ("", by_tag->rows[0].keys[0]) << "untagged jobs count under \"\"";
  EXPECT_DOUBLE_EQ(1.0, by_tag->rows[0].figures.cost_usd);
  EXPECT_EQ("x", by_tag->rows[1].keys[0]);
  EXPECT_DOUBLE_EQ(0.75, by_tag->rows[1].figures.cost_usd);
  EXPECT_EQ("y", by_tag->rows[2].keys[0]);
  EXPECT_DOUBLE_EQ(2.25, by_tag->rows[2].figures.cost_usd);

  auto one_day = usage_.report(UsageQuery{{UsageDim::kModel}, kNov1 + kDay, kNov1 + 2 * kDay});
  ASSERT_TRUE(one_day.ok());
  ASSERT_EQ(1u, one_day->rows.size());
  EXPECT_EQ("m/b", one_day->rows[0].keys[0]);
  EXPECT_EQ(100, one_day->rows[0].figures.prompt_tokens);
}

TEST_F(UsageStoreTest, SpentSumsTheLedgerPerScope) {
  spend(kNov1 + 1000, "m/a", "alice", {"x"}, 10, 20, 0.5, "fp-1");
  spend(kNov1 + 2000, "m/b", "bob", {"x", "y"}, 1, 2, 0.25, "fp-2");
  spend(kNov1 + kDay, "m/b", "alice", {}, 1, 1, 1.0, "fp-1");
  auto sum = [&](SpendScope s, int64_t since, int64_t until) {
    auto r = usage_.spent(s, since, until);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : -1;
  };
  EXPECT_DOUBLE_EQ(1.75, sum({SpendScope::kGlobal, ""}, kNov1, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.75, sum({SpendScope::kGlobal, ""}, kNov1, kNov1 + kDay));
  EXPECT_DOUBLE_EQ(1.5, sum({SpendScope::kClient, "alice"}, 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(1.25, sum({SpendScope::kModel, "m/b"}, 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.75, sum({SpendScope::kTag, "x"}, 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.25, sum({SpendScope::kTag, "y"}, 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(1.5, sum({SpendScope::kKey, "fp-1"}, 0, INT64_MAX));
}

// Everything a report says, as text, for before/after comparisons.
std::string describe(const UsageReport& r) {
  auto figures = [](const UsageFigures& f) {
    return std::to_string(f.requests) + "/" + std::to_string(f.prompt_tokens) + "/" +
           std::to_string(f.completion_tokens) + "/" + std::to_string(f.cached_tokens) + "/" +
           std::to_string(f.reasoning_tokens) + "/" + std::to_string(f.cost_usd);
  };
  std::string out = "totals " + figures(r.totals) + "\n";
  for (const UsageRow& row : r.rows) {
    for (const std::string& k : row.keys) {
      out += k + " ";
    }
    out += figures(row.figures) + "\n";
  }
  return out;
}

TEST_F(UsageStoreTest, PruningOldLedgerDaysChangesNoReportAndNoBudgetSum) {
  // Old days (to be pruned) and recent ones, several clients, models, keys, tags.
  spend(kNov1 + 1000, "m/a", "alice", {"x"}, 10, 20, 0.5, "fp-1");
  spend(kNov1 + 7200'000, "m/b", "bob", {"x", "y"}, 1, 2, 0.25, "fp-2");
  spend(kNov1 + kDay + 5, "m/b", "alice", {}, 100, 0, 1.0, "fp-1");
  spend(kNov1 + 3 * kDay + 60'000, "m/a", "bob", {"y"}, 7, 7, 2.0, "fp-2");
  spend(kNov1 + 4 * kDay + 3600'000, "m/a", "alice", {"x"}, 3, 4, 0.125, "fp-1");

  const std::vector<std::vector<UsageDim>> groupings = {
      {}, {UsageDim::kModel}, {UsageDim::kClient, UsageDim::kDay}, {UsageDim::kTag}, {UsageDim::kKey}};
  // Whole-day ranges, and ranges whose ends fall after the horizon.
  const std::vector<UsageQuery> ranges = {
      {{}, std::nullopt, std::nullopt},
      {{}, kNov1, kNov1 + 5 * kDay},
      {{}, kNov1 + kDay, std::nullopt},
      {{}, kNov1, kNov1 + 4 * kDay + 7200'000},
      {{}, std::nullopt, kNov1 + 3 * kDay + 120'000},
  };
  const std::vector<SpendScope> scopes = {{SpendScope::kGlobal, ""},   {SpendScope::kClient, "alice"},
                                          {SpendScope::kModel, "m/b"}, {SpendScope::kTag, "x"},
                                          {SpendScope::kTag, "y"},     {SpendScope::kKey, "fp-2"}};
  auto snapshot = [&] {
    std::string out;
    for (const auto& g : groupings) {
      for (UsageQuery q : ranges) {
        q.group_by = g;
        auto r = usage_.report(q);
        EXPECT_TRUE(r.ok()) << r.error().message;
        out += r.ok() ? describe(*r) : "error\n";
      }
    }
    for (const SpendScope& s : scopes) {
      // A `total` budget (since 0) and one from the day after the horizon.
      for (int64_t since : {int64_t{0}, kNov1 + 2 * kDay}) {
        auto r = usage_.spent(s, since, INT64_MAX);
        EXPECT_TRUE(r.ok());
        out += std::to_string(r.ok() ? *r : -1) + "\n";
      }
    }
    return out;
  };
  const std::string before = snapshot();
  ASSERT_EQ(0, usage_.ledgerHorizon().value());

  // Prune everything that started before Nov 3 (given mid-day: whole days only).
  auto n = usage_.pruneLedger(kNov1 + 2 * kDay + 5000, 1);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(1, *n);  // One batch of one row.
  EXPECT_EQ(kNov1 + 2 * kDay, usage_.ledgerHorizon().value());
  EXPECT_EQ(before, snapshot()) << "a half-pruned day must be read from the rollups";
  for (;;) {
    auto more = usage_.pruneLedger(kNov1 + 2 * kDay + 5000, 1);
    ASSERT_TRUE(more.ok());
    if (*more == 0) {
      break;
    }
  }
  EXPECT_EQ("2", testing::queryOne(t_.db(), "SELECT count(*) FROM attempts"));
  EXPECT_EQ(before, snapshot());
  // An earlier cutoff never moves the horizon back.
  ASSERT_TRUE(usage_.pruneLedger(kNov1, 10).ok());
  EXPECT_EQ(kNov1 + 2 * kDay, usage_.ledgerHorizon().value());
}

TEST_F(UsageStoreTest, AReportEndingInsideAPrunedDayIsWidenedToThatDay) {
  spend(kNov1 + 1000, "m/a", "alice", {}, 10, 20, 0.5);
  spend(kNov1 + 7200'000, "m/a", "alice", {}, 1, 2, 0.25);
  spend(kNov1 + 3 * kDay, "m/a", "alice", {}, 1, 1, 1.0);
  UsageQuery q;
  q.since = kNov1 + 3600'000;  // One o'clock on a day that still has its ledger.
  auto exact = usage_.report(q);
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(exact->widened);
  EXPECT_EQ(2, exact->totals.requests);
  EXPECT_EQ(q.since, exact->since);

  ASSERT_TRUE(usage_.pruneLedger(kNov1 + kDay, 100).ok());
  auto widened = usage_.report(q);
  ASSERT_TRUE(widened.ok());
  EXPECT_TRUE(widened->widened);
  EXPECT_EQ(kNov1, widened->since) << "the whole of Nov 1, from its rollup";
  EXPECT_EQ(3, widened->totals.requests);
  EXPECT_DOUBLE_EQ(1.75, widened->totals.cost_usd);

  // An `until` inside a pruned day moves to the end of that day.
  UsageQuery upto;
  upto.until = kNov1 + 3600'000;
  auto up = usage_.report(upto);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(up->widened);
  EXPECT_EQ(kNov1 + kDay, up->until);
  EXPECT_EQ(2, up->totals.requests);
}

TEST_F(UsageStoreTest, PruningKeepsUnfinishedAttemptsAndRowsAfterTheCutoff) {
  spend(kNov1 + 1000, "m/a", "alice", {}, 10, 20, 0.5);
  spend(kNov1 + 2 * kDay, "m/a", "alice", {}, 1, 1, 1.0);
  JobRecord job;
  job.client = "alice";
  job.model = "m/a";
  job.request_json = "{}";
  job.created_at = kNov1;
  auto id = jobs_.insert(job, {});
  ASSERT_TRUE(id.ok());
  AttemptRecord running;
  running.job_id = *id;
  running.attempt = 1;
  running.model = "m/a";
  running.provider = "mock";
  running.started_at = kNov1 + 5;
  running.outcome = "running";
  ASSERT_TRUE(jobs_.insertAttempt(running).ok());

  auto n = usage_.pruneLedger(kNov1 + kDay, 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(1, *n);
  EXPECT_EQ("2", testing::queryOne(t_.db(), "SELECT count(*) FROM attempts"));
  EXPECT_EQ("1", testing::queryOne(t_.db(), "SELECT count(*) FROM attempts WHERE finished_at IS NULL"));
}

// Rows an older llmqd wrote from an upstream's unclamped figures (2^63-1 tokens,
// a cost of 1e308, twice, so the rollup holds an overflowed real and an infinity):
// every report and budget sum still answers, with finite figures within the
// bounds of common/usage_bounds.h. SUM() would fail with "integer overflow".
TEST_F(UsageStoreTest, HostileRowsFromAnOldVersionNeitherOverflowNorGoNonFinite) {
  constexpr int64_t kMax = INT64_MAX;
  spend(kNov1 + 1000, "m/a", "alice", {"x"}, kMax, kMax, 1e308);
  spend(kNov1 + 2000, "m/a", "alice", {"x"}, kMax, kMax, 1e308);
  for (const std::vector<UsageDim>& g :
       {std::vector<UsageDim>{}, std::vector<UsageDim>{UsageDim::kModel}, std::vector<UsageDim>{UsageDim::kTag}}) {
    for (const UsageQuery& q : {UsageQuery{g, kNov1, kNov1 + kDay}, UsageQuery{g, kNov1 + 1, kNov1 + kDay - 1},
                                UsageQuery{g, kNov1 + 1, kNov1 + 3 * kDay}}) {
      auto r = usage_.report(q);
      ASSERT_TRUE(r.ok()) << r.error().message;
      std::vector<UsageFigures> all = {r->totals};
      for (const UsageRow& row : r->rows) {
        all.push_back(row.figures);
      }
      for (const UsageFigures& f : all) {
        EXPECT_EQ(2, f.requests);
        EXPECT_GT(f.prompt_tokens, 0);
        EXPECT_LE(f.prompt_tokens, static_cast<int64_t>(kMaxTokenSum));
        EXPECT_TRUE(std::isfinite(f.cost_usd));
        EXPECT_GT(f.cost_usd, 0);
        EXPECT_LE(f.cost_usd, kMaxCostSumUsd);
      }
      if (!r->from_rollup && q.since == kNov1 + 1 && q.until == kNov1 + kDay - 1) {
        // From the ledger alone: each row counts at most the per-attempt bounds.
        EXPECT_EQ(2 * kMaxAttemptTokens, r->totals.prompt_tokens);
        EXPECT_DOUBLE_EQ(2 * kMaxAttemptCostUsd, r->totals.cost_usd);
      }
    }
  }
  for (int64_t until : {kNov1 + kDay, kNov1 + kDay - 1}) {
    auto spent = usage_.spent(SpendScope{}, kNov1, until);
    ASSERT_TRUE(spent.ok()) << spent.error().message;
    EXPECT_TRUE(std::isfinite(*spent));
    EXPECT_LE(*spent, kMaxCostSumUsd);
  }
  ASSERT_TRUE(usage_.pruneLedger(kNov1 + 2 * kDay, 100).ok());
  auto spent = usage_.spent(SpendScope{}, kNov1, kNov1 + kDay);  // From the rollup now.
  ASSERT_TRUE(spent.ok()) << spent.error().message;
  EXPECT_TRUE(std::isfinite(*spent));
}

}  // namespace
}  // namespace llmq::store
