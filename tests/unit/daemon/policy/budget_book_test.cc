// Tests for daemon/policy/budget_book: calendar periods, scope matching, reservations
// that never let spending pass a limit however many attempts are in flight,
// period rollover under an injected clock, alerts once per period per fraction,
// and what survives a restart (spent from the ledger, alerts already sent).
#include "daemon/policy/budget_book.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <ctime>

#include "store/job_store.h"
#include "store/sqlite_store.h"
#include "tests/support/test_db.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNov1 = 1'793'491'200'000;  // 2026-11-01T00:00:00Z, a Sunday.

class BudgetBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.ok());
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  std::unique_ptr<BudgetBook> book() {
    return std::make_unique<BudgetBook>(store_, [](std::string_view name) {
      return name == "pool-1" ? std::string("sk-or…0001") : std::string(name);
    });
  }

  testing::TestDb t_;
  store::SqliteStore store_{t_.db()};
  std::vector<std::string> no_tags_;
};

TEST_F(BudgetBookTest, CalendarPeriodsInUtc) {
  const int64_t noon = kNov1 + kDay / 2;
  EXPECT_EQ(kNov1, periodStart(BudgetPeriod::kDay, noon));
  EXPECT_EQ(kNov1 + kDay, periodEnd(BudgetPeriod::kDay, noon));
  EXPECT_EQ(kNov1 - 6 * kDay, periodStart(BudgetPeriod::kWeek, noon)) << "weeks start on Monday";
  EXPECT_EQ(kNov1 + kDay, periodEnd(BudgetPeriod::kWeek, noon));
  EXPECT_EQ(kNov1, periodStart(BudgetPeriod::kMonth, noon + 14 * kDay));
  EXPECT_EQ(kNov1 + 30 * kDay, periodEnd(BudgetPeriod::kMonth, noon + 14 * kDay));
  EXPECT_EQ(0, periodStart(BudgetPeriod::kTotal, noon));
  EXPECT_EQ(INT64_MAX, periodEnd(BudgetPeriod::kTotal, noon));
  // December rolls into January.
  const int64_t dec15 = kNov1 + 44 * kDay;
  EXPECT_EQ(kNov1 + 61 * kDay, periodEnd(BudgetPeriod::kMonth, dec15));
}

TEST_F(BudgetBookTest, CalendarPeriodsInAConfiguredTimeZone) {
  struct stat st {};
  if (::stat("/usr/share/zoneinfo/Europe/Berlin", &st) != 0) {
    GTEST_SKIP() << "no tzdata";
  }
  ::setenv("TZ", "Europe/Berlin", 1);
  ::tzset();
  // 2026-11-01T12:00Z is 13:00 in Berlin (CET, +1): the day began at 23:00Z.
  EXPECT_EQ(kNov1 - 3'600'000, periodStart(BudgetPeriod::kDay, kNov1 + kDay / 2));
  // October 2026 in Berlin began in summer time (+2).
  EXPECT_EQ(kNov1 - 31 * kDay - 7'200'000, periodStart(BudgetPeriod::kMonth, kNov1 - kDay));
}

TEST_F(BudgetBookTest, ScopesMatchTheirSpenders) {
  auto b = book();
  const int64_t now = kNov1;
  ASSERT_TRUE(b->set("client:alice", BudgetPeriod::kDay, 1, {}, BudgetAction::kReject, now).ok());
  ASSERT_TRUE(b->set("model:m/a", BudgetPeriod::kDay, 1, {}, BudgetAction::kReject, now).ok());
  ASSERT_TRUE(b->set("tag:nightly", BudgetPeriod::kDay, 1, {}, BudgetAction::kReject, now).ok());
  ASSERT_TRUE(b->set("key:pool-1", BudgetPeriod::kDay, 1, {}, BudgetAction::kReject, now).ok());
  std::vector<std::string> nightly = {"nightly"};
  EXPECT_TRUE(b->covers({"alice", "m/z", "", "", &no_tags_}));
  EXPECT_TRUE(b->covers({"bob", "m/a", "", "", &no_tags_}));
  EXPECT_TRUE(b->covers({"bob", "m/z", "", "", &nightly}));
  EXPECT_TRUE(b->covers({"bob", "m/z", "pool-1", "sk-or…0001", &no_tags_}));
  EXPECT_TRUE(b->covers({"bob", "m/z", "", "sk-or…0001", &no_tags_})) << "by fingerprint";
  EXPECT_FALSE(b->covers({"bob", "m/z", "pool-2", "sk-or…0002", &no_tags_}));
  store::SpendScope s;
  std::string error;
  EXPECT_FALSE(BudgetBook::parseScope("client:", &s, &error));
  EXPECT_FALSE(BudgetBook::parseScope("team:x", &s, &error));
  EXPECT_TRUE(BudgetBook::parseScope("global", &s, &error));
}

// 300 attempts in flight against a limit that affords about 100 at their worst
// case: never more reserved+spent than the limit, whatever order they end in.
TEST_F(BudgetBookTest, ReservationsNeverLetSpendingPassTheLimit) {
  auto b = book();
  ASSERT_TRUE(b->set("global", BudgetPeriod::kMonth, 3.0, {}, BudgetAction::kHold, kNov1).ok());
  const Spender who{"c", "m", "", "", &no_tags_};
  std::vector<BudgetReservation> held;
  int waiting = 0;
  for (int i = 0; i < 300; ++i) {
    BudgetReservation r;
    const Budget* blocking = nullptr;
    BudgetBook::Outcome o = b->reserve(who, 0.03, &r, &blocking);
    if (o == BudgetBook::Outcome::kReserved) {
      held.push_back(r);
    } else {
      EXPECT_EQ(BudgetBook::Outcome::kWait, o) << "nothing is spent yet: the room comes back";
      EXPECT_EQ(nullptr, blocking);
      ++waiting;
    }
  }
  EXPECT_EQ(100u, held.size());
  EXPECT_EQ(200, waiting);
  // They end costing less than their worst case; the room frees up as they do.
  double spent = 0;
  for (BudgetReservation& r : held) {
    b->settle(r, who, 0.02, kNov1 + 1);
    spent += 0.02;
  }
  const std::string list = b->listJson();
  EXPECT_NE(std::string::npos, list.find("\"spent_usd\":2")) << list;
  EXPECT_NE(std::string::npos, list.find("\"reserved_usd\":0")) << list;
  int more = 0;
  for (;;) {
    BudgetReservation r;
    const Budget* blocking = nullptr;
    if (b->reserve(who, 0.03, &r, &blocking) != BudgetBook::Outcome::kReserved) {
      break;
    }
    b->settle(r, who, 0.03, kNov1 + 2);
    spent += 0.03;
    ++more;
  }
  EXPECT_EQ(33, more);
  EXPECT_LE(spent, 3.0 + 1e-9);
}

// budget.set and budget.delete whose turn is lost are taken back from memory:
// each budget's definition as it was before the turn's first change to it, or
// its absence, or the budget itself; spending and reservations stay as they are.
TEST_F(BudgetBookTest, ALostTurnTakesItsChangesBackAndKeepsTheSpending) {
  auto b = book();
  ASSERT_TRUE(b->set("global", BudgetPeriod::kMonth, 3.0, {0.5}, BudgetAction::kHold, kNov1).ok());
  const Spender who{"c", "m", "", "", &no_tags_};
  BudgetReservation r;
  const Budget* blocking = nullptr;
  ASSERT_EQ(BudgetBook::Outcome::kReserved, b->reserve(who, 1.0, &r, &blocking));

  // One turn: the limit raised twice, then the budget deleted; meanwhile the
  // attempt ends. A new budget is made and deleted in the same turn.
  EXPECT_TRUE(b->noteChange("global", BudgetPeriod::kMonth)) << "the turn's first change";
  ASSERT_TRUE(b->set("global", BudgetPeriod::kMonth, 9.0, {}, BudgetAction::kReject, kNov1).ok());
  EXPECT_FALSE(b->noteChange("global", BudgetPeriod::kMonth));
  ASSERT_TRUE(b->set("global", BudgetPeriod::kMonth, 12.0, {}, BudgetAction::kReject, kNov1).ok());
  EXPECT_FALSE(b->noteChange("global", BudgetPeriod::kMonth));
  ASSERT_TRUE(b->remove("global", BudgetPeriod::kMonth).ok());
  b->settle(r, who, 0.25, kNov1 + 1);
  EXPECT_FALSE(b->noteChange("client:x", BudgetPeriod::kDay));
  ASSERT_TRUE(b->set("client:x", BudgetPeriod::kDay, 1.0, {}, BudgetAction::kReject, kNov1).ok());
  EXPECT_FALSE(b->noteChange("client:x", BudgetPeriod::kDay));
  ASSERT_TRUE(b->remove("client:x", BudgetPeriod::kDay).ok());
  EXPECT_EQ("[]", b->listJson());

  b->endTurn(false);
  const std::string list = b->listJson();
  EXPECT_EQ(std::string::npos, list.find("client:x")) << list;
  EXPECT_NE(std::string::npos, list.find("\"limit_usd\":3,")) << list;
  EXPECT_NE(std::string::npos, list.find("\"alert_at\":[0.5]")) << list;
  EXPECT_NE(std::string::npos, list.find("\"action\":\"hold\"")) << list;
  // The attempt that ended while the budget was gone counted, and let go of its room.
  EXPECT_NE(std::string::npos, list.find("\"spent_usd\":0.25,")) << list;
  EXPECT_NE(std::string::npos, list.find("\"reserved_usd\":0,")) << list;

  // A committed turn keeps its changes, and the next turn starts afresh.
  EXPECT_TRUE(b->noteChange("global", BudgetPeriod::kMonth));
  ASSERT_TRUE(b->set("global", BudgetPeriod::kMonth, 4.0, {}, BudgetAction::kHold, kNov1).ok());
  b->endTurn(true);
  EXPECT_NE(std::string::npos, b->listJson().find("\"limit_usd\":4,")) << b->listJson();
  EXPECT_TRUE(b->noteChange("global", BudgetPeriod::kMonth));
  b->endTurn(true);
}

TEST_F(BudgetBookTest, RejectWinsOverHoldAndRefusesAtSubmit) {
  auto b = book();
  ASSERT_TRUE(b->set("global", BudgetPeriod::kDay, 1.0, {}, BudgetAction::kHold, kNov1).ok());
  ASSERT_TRUE(b->set("client:c", BudgetPeriod::kDay, 0.5, {}, BudgetAction::kReject, kNov1).ok());
  const Spender who{"c", "m", "", "", &no_tags_};
  EXPECT_EQ(nullptr, b->refuses(who, 0.4));
  const Budget* refused = b->refuses(who, 0.6);
  ASSERT_NE(nullptr, refused);
  EXPECT_EQ("client:c", refused->row.scope);
  BudgetReservation r;
  const Budget* blocking = nullptr;
  EXPECT_EQ(BudgetBook::Outcome::kReject, b->reserve(who, 2.0, &r, &blocking));
  EXPECT_EQ("client:c", blocking->row.scope);
  EXPECT_EQ(BudgetBook::Outcome::kHold, b->reserve({"d", "m", "", "", &no_tags_}, 2.0, &r, &blocking));
}

// The injected clock crosses midnight: the day budget rolls over, spent goes back
// to zero and what was held can go.
TEST_F(BudgetBookTest, PeriodRolloverFreesHeldWork) {
  auto b = book();
  int64_t now = kNov1 + kDay - 60'000;  // 23:59 UTC.
  ASSERT_TRUE(b->set("global", BudgetPeriod::kDay, 1.0, {}, BudgetAction::kHold, now).ok());
  const Spender who{"c", "m", "", "", &no_tags_};
  BudgetReservation r;
  const Budget* blocking = nullptr;
  ASSERT_EQ(BudgetBook::Outcome::kReserved, b->reserve(who, 0.9, &r, &blocking));
  b->settle(r, who, 0.9, now);
  EXPECT_EQ(BudgetBook::Outcome::kHold, b->reserve(who, 0.5, &r, &blocking));
  EXPECT_EQ(kNov1 + kDay, b->nextRollover());
  EXPECT_FALSE(b->roll(now + 59'999));
  now = kNov1 + kDay;
  EXPECT_TRUE(b->roll(now));
  EXPECT_EQ(kNov1 + 2 * kDay, b->nextRollover());
  EXPECT_EQ(BudgetBook::Outcome::kReserved, b->reserve(who, 0.5, &r, &blocking));
  // An attempt that started before midnight and ends after it counts in the old day.
  BudgetReservation late;
  b->settle(late, who, 0.7, now - 1000);
  EXPECT_NE(std::string::npos, b->listJson().find("\"spent_usd\":0,")) << b->listJson();
}

TEST_F(BudgetBookTest, AlertsFireOncePerPeriodPerFractionAndSurviveARestart) {
  auto b = book();
  ASSERT_TRUE(b->set("global", BudgetPeriod::kDay, 10.0, {0.9, 0.5}, BudgetAction::kReject, kNov1).ok());
  const Spender who{"c", "m", "", "", &no_tags_};
  BudgetReservation none;
  EXPECT_TRUE(b->settle(none, who, 4.0, kNov1 + 1).empty());
  auto half = b->settle(none, who, 1.5, kNov1 + 2);
  ASSERT_EQ(1u, half.size());
  EXPECT_DOUBLE_EQ(0.5, half[0].fraction);
  EXPECT_DOUBLE_EQ(5.5, half[0].spent_usd);
  EXPECT_TRUE(b->settle(none, who, 1.0, kNov1 + 3).empty()) << "0.5 already sent";

  // A restart: spent comes back from the ledger, the sent alert stays sent.
  store::JobStore jobs(t_.db());
  store::JobRecord job;
  job.client = "c";
  job.model = "m";
  job.request_json = "{}";
  auto id = jobs.insert(job, {});
  ASSERT_TRUE(id.ok());
  store::AttemptRecord a;
  a.job_id = *id;
  a.attempt = 1;
  a.model = "m";
  a.provider = "p";
  a.started_at = kNov1 + 5;
  a.finished_at = kNov1 + 6;
  a.outcome = "succeeded";
  a.http_status = 200;
  a.usage = store::Usage{1, 1, 2, 6.5};
  ASSERT_TRUE(jobs.insertAttempt(a).ok());
  ASSERT_TRUE(jobs.updateAttempt(a).ok());
  auto again = book();
  ASSERT_TRUE(again->load(kNov1 + 10).ok());
  EXPECT_NE(std::string::npos, again->listJson().find("\"spent_usd\":6.5")) << again->listJson();
  EXPECT_TRUE(again->settle(none, who, 1.0, kNov1 + 11).empty()) << "7.5: nothing new";
  auto ninety = again->settle(none, who, 2.0, kNov1 + 12);
  ASSERT_EQ(1u, ninety.size());
  EXPECT_DOUBLE_EQ(0.9, ninety[0].fraction);

  // The next day starts clean.
  EXPECT_TRUE(again->roll(kNov1 + kDay));
  auto next_day = again->settle(none, who, 6.0, kNov1 + kDay + 1);
  ASSERT_EQ(1u, next_day.size());
  EXPECT_DOUBLE_EQ(0.5, next_day[0].fraction);
}

}  // namespace
}  // namespace llmq::daemon
