// Accounting, on a real engine (tests/support/engine_fixture.h) with a scripted
// upstream (docs/money.md): what an attempt costs (the upstream's reported
// cost, else the catalog's price) as the job, the ledger and usage.report
// record it; budgets: a `reject` budget refuses at submit (-32002) or fails the
// job at dispatch (BUDGET_EXCEEDED) without calling the upstream, a `hold`
// budget holds the job until it is raised or deleted (or the job is cancelled),
// also across a restart, a user: budget covers every client of the user, a job
// under two budgets reserves in both or neither, concurrent jobs never
// reserve past a limit, and spent_usd is the sum of the reported costs (also
// after a restart).
#include "daemon/policy/accounting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "daemon/jobs/job_lifecycle.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::queryOne;
using llmq::testing::ScriptedProvider;
using store::JobState;

// max_tokens of every request here: at the default price below, an attempt's
// worst case is exactly 100 * $0.001 = $0.1 (the prompt is free).
constexpr char kMaxTokens[] = ",\"max_tokens\":100";

class AccountingTest : public llmq::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    price("test/*", 0, 1000);
  }
  // A [[prices]] entry, in USD per million tokens.
  void price(const std::string& match, double prompt_per_mtok, double completion_per_mtok) {
    PriceOverride o;
    o.match = match;
    o.pricing.prompt = prompt_per_mtok * 1e-6;
    o.pricing.completion = completion_per_mtok * 1e-6;
    o.pricing.known = true;
    config_.prices.insert(config_.prices.begin(), o);  // The first match wins.
  }
  // budget.set as the administrator; the answer must not be an error.
  void setBudget(const std::string& scope, const std::string& period, double limit, const std::string& action) {
    const std::string a = call(root_, "budget.set",
                               "{\"scope\":\"" + scope + "\",\"period\":\"" + period +
                                   "\",\"limit_usd\":" + std::to_string(limit) + ",\"action\":\"" + action + "\"}");
    ASSERT_FALSE(isError(a)) << a;
  }
  // A member of the first budget budget.list shows.
  double budgetField(const std::string& name) {
    return number(call(root_, "budget.list"), "result.budgets.0." + name);
  }
  // A member of the budget with this scope, as budget.list shows it.
  double budgetFieldOf(const std::string& scope, const std::string& name) {
    const std::string a = call(root_, "budget.list");
    for (int i = 0;; ++i) {
      const std::string s = field(a, "result.budgets." + std::to_string(i) + ".scope");
      if (s.empty()) {
        ADD_FAILURE() << "no budget " << scope << " in " << a;
        return std::nan("");
      }
      if (s == "\"" + scope + "\"") {
        return number(a, "result.budgets." + std::to_string(i) + "." + name);
      }
    }
  }
  std::string submitPriced(uint64_t conn) { return submit(conn, "test/a", "", kMaxTokens); }
  static ScriptedProvider::Answer heldCosting(double usd) {
    ScriptedProvider::Answer a = ScriptedProvider::costs(usd);
    a.hold = true;
    return a;
  }
  void startAsAdmin() {
    start();
    root_ = admin();
  }
  // Under a global `hold` budget of $0.15 for `period`: a first job spends $0.1,
  // and a second, which would need another $0.1, is held behind it. Returns the
  // second's id.
  std::string secondJobHeld(const std::string& period) {
    setBudget("global", period, 0.15, "hold");
    upstream_->push(ScriptedProvider::costs(0.1));
    call(root_, "queue.pause");
    const std::string first = submitPriced(root_);
    const std::string second = submitPriced(root_);
    call(root_, "queue.resume");
    EXPECT_TRUE(reaches(first, JobState::kSucceeded));
    EXPECT_TRUE(reaches(second, JobState::kHeld));
    return second;
  }

  uint64_t root_ = 0;
};

TEST_F(AccountingTest, TheUpstreamsReportedCostIsWhatTheJobAndTheLedgerRecord) {
  startAsAdmin();
  upstream_->push(ScriptedProvider::costs(0.25));  // The catalog would say $0.002.
  const std::string id = submitPriced(root_);
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const store::JobRecord j = job(id);
  ASSERT_TRUE(j.usage.has_value());
  EXPECT_DOUBLE_EQ(0.25, j.usage->cost_usd);
  EXPECT_DOUBLE_EQ(0.25, number(call(root_, "job.get", "{\"job_id\":\"" + id + "\"}"), "result.usage.cost_usd"));
  EXPECT_EQ("upstream", queryOne(db_.db(), "SELECT cost_source FROM attempts"));
  const std::string report = call(root_, "usage.report");
  EXPECT_DOUBLE_EQ(0.25, number(report, "result.totals.cost_usd")) << report;
  EXPECT_EQ(1, number(report, "result.totals.requests")) << report;
  EXPECT_EQ(10, number(report, "result.totals.prompt_tokens")) << report;
  EXPECT_EQ(2, number(report, "result.totals.completion_tokens")) << report;
}

TEST_F(AccountingTest, WithoutAReportedCostTheCatalogsPriceIsUsed) {
  price("test/a", 2, 10);
  startAsAdmin();
  // The scripted usage: 10 prompt and 2 completion tokens, no cost reported.
  const std::string id = submit(root_, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const double expected = 10 * 2e-6 + 2 * 10e-6;
  ASSERT_TRUE(job(id).usage.has_value());
  EXPECT_NEAR(expected, job(id).usage->cost_usd, 1e-15);
  EXPECT_EQ("catalog", queryOne(db_.db(), "SELECT cost_source FROM attempts"));
  EXPECT_NEAR(expected, number(call(root_, "usage.report"), "result.totals.cost_usd"), 1e-15);
}

TEST_F(AccountingTest, WithNeitherACostNorAPriceTheAttemptCostsNothing) {
  config_.prices.clear();
  startAsAdmin();
  const std::string id = submit(root_, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_TRUE(job(id).usage.has_value());
  EXPECT_EQ(0, job(id).usage->cost_usd);
  EXPECT_EQ("none", queryOne(db_.db(), "SELECT cost_source FROM attempts"));
}

TEST_F(AccountingTest, ARejectBudgetRefusesAtSubmitWhatItCannotPayFor) {
  startAsAdmin();
  setBudget("global", "total", 0.05, "reject");  // Less than one worst case ($0.1).
  const std::string answer = call(root_, "job.submit",
                                  "{\"request\":{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\","
                                  "\"content\":\"hi\"}]" +
                                      std::string(kMaxTokens) + "}}");
  EXPECT_EQ(-32002, errorCode(answer)) << answer;
  EXPECT_EQ("\"BUDGET_EXCEEDED\"", field(answer, "error.data.code")) << answer;
  // Nothing was stored, nothing went upstream.
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ("[]", field(call(root_, "job.list"), "result.jobs"));
  EXPECT_EQ(0, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kQueued)]);
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(AccountingTest, ARejectBudgetSpentWhileAJobWaitedFailsItWithoutAnUpstreamCall) {
  startAsAdmin();
  setBudget("global", "total", 0.15, "reject");
  upstream_->push(ScriptedProvider::costs(0.1));
  call(root_, "queue.pause");
  // Each fits at submit ($0.15 unspent); only one can be paid for.
  const std::string first = submitPriced(root_);
  const std::string second = submitPriced(root_);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  call(root_, "queue.resume");
  ASSERT_TRUE(reaches(first, JobState::kSucceeded));
  ASSERT_TRUE(reaches(second, JobState::kFailed));
  EXPECT_EQ("BUDGET_EXCEEDED", job(second).error.code);
  EXPECT_EQ("local", job(second).error.source);
  ASSERT_EQ(1u, upstream_->seen().size());
  EXPECT_EQ(first, upstream_->seen()[0].job_id);
  EXPECT_DOUBLE_EQ(0.1, budgetField("spent_usd"));
}

TEST_F(AccountingTest, AHoldBudgetHoldsTheJobUntilItIsRaised) {
  startAsAdmin();
  const std::string second = secondJobHeld("total");
  EXPECT_EQ(1u, upstream_->seen().size());
  EXPECT_EQ(1, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kHeld)]);
  // Raised: the held job goes back to the queue and runs.
  setBudget("global", "total", 1.0, "hold");
  ASSERT_TRUE(reaches(second, JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ(0, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kHeld)]);
}

TEST_F(AccountingTest, AHoldBudgetHoldsTheJobUntilItIsDeleted) {
  startAsAdmin();
  setBudget("global", "total", 0.15, "hold");
  upstream_->push(ScriptedProvider::costs(0.1));
  call(root_, "queue.pause");
  const std::string first = submitPriced(root_);
  const std::string second = submitPriced(root_);
  call(root_, "queue.resume");
  ASSERT_TRUE(reaches(second, JobState::kHeld));
  ASSERT_EQ(JobState::kSucceeded, stateOf(first));
  const std::string deleted = call(root_, "budget.delete", "{\"scope\":\"global\",\"period\":\"total\"}");
  ASSERT_FALSE(isError(deleted)) << deleted;
  ASSERT_TRUE(reaches(second, JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size());
}

TEST_F(AccountingTest, AHeldJobCanBeCancelled) {
  startAsAdmin();
  setBudget("global", "total", 0.05, "hold");  // Less than one worst case.
  const std::string id = submitPriced(root_);
  ASSERT_TRUE(reaches(id, JobState::kHeld));
  EXPECT_FALSE(isError(call(root_, "job.cancel", jobArg(id))));
  EXPECT_EQ(JobState::kCancelled, stateOf(id));
  EXPECT_EQ(0, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kHeld)]);
  // Raising the budget later does not bring it back.
  setBudget("global", "total", 1.0, "hold");
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(JobState::kCancelled, stateOf(id));
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(AccountingTest, AUserBudgetCoversEveryClientOfTheUser) {
  startAsAdmin();
  setBudget("user:alice", "total", 0.05, "reject");
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  // Alice cannot get around it with another client label.
  for (const std::string extra : {"", ",\"client\":\"batch\"", ",\"client\":\"bob\""}) {
    SCOPED_TRACE(extra);
    const std::string a = call(alice, "job.submit",
                               "{\"request\":{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\","
                               "\"content\":\"hi\"}]" +
                                   std::string(kMaxTokens) + "}" + extra + "}");
    EXPECT_EQ(-32002, errorCode(a)) << a;
  }
  // Bob is not covered by it.
  EXPECT_TRUE(reaches(submitPriced(bob), JobState::kSucceeded));
  ASSERT_EQ(1u, upstream_->seen().size());
}

TEST_F(AccountingTest, ConcurrentJobsNeverReserveMoreThanTheLimit) {
  startAsAdmin();
  // Room for three worst cases ($0.1 each), not four.
  setBudget("global", "total", 0.35, "reject");
  for (int i = 0; i < 4; ++i) {
    upstream_->push(heldCosting(0.1));
  }
  call(root_, "queue.pause");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(submitPriced(root_));
  }
  call(root_, "queue.resume");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 3; }, kWaitMs));
  // The fourth waits in the queue for the room the three hold; turns go by and
  // it still does not start.
  for (int i = 0; i < 50; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(3u, upstream_->seen().size());
  EXPECT_EQ(JobState::kQueued, stateOf(ids[3]));
  EXPECT_NEAR(0.3, budgetField("reserved_usd"), 1e-9);
  EXPECT_NEAR(0, budgetField("spent_usd"), 1e-12);
  // The three spend what they reserved: no room is left for the fourth.
  upstream_->release();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(reaches(ids[i], JobState::kSucceeded)) << ids[i];
  }
  ASSERT_TRUE(reaches(ids[3], JobState::kFailed));
  EXPECT_EQ("BUDGET_EXCEEDED", job(ids[3]).error.code);
  EXPECT_EQ(3u, upstream_->seen().size());
  EXPECT_NEAR(0.3, budgetField("spent_usd"), 1e-9);
  EXPECT_NEAR(0, budgetField("reserved_usd"), 1e-12);
  EXPECT_LE(budgetField("spent_usd"), 0.35);
}

TEST_F(AccountingTest, UnderAHoldBudgetTheJobThatDoesNotFitIsHeldNotRun) {
  startAsAdmin();
  setBudget("global", "total", 0.25, "hold");  // Room for two worst cases.
  upstream_->push(heldCosting(0.1));
  upstream_->push(heldCosting(0.1));
  upstream_->push(ScriptedProvider::costs(0.1));
  call(root_, "queue.pause");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(submitPriced(root_));
  }
  call(root_, "queue.resume");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 2; }, kWaitMs));
  for (int i = 0; i < 50; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ(JobState::kQueued, stateOf(ids[2]));  // Waiting for the room the two hold.
  upstream_->release();
  ASSERT_TRUE(reaches(ids[2], JobState::kHeld));  // Spent: $0.05 left.
  EXPECT_EQ(JobState::kSucceeded, stateOf(ids[0]));
  EXPECT_EQ(JobState::kSucceeded, stateOf(ids[1]));
  EXPECT_NEAR(0.2, budgetField("spent_usd"), 1e-9);
  setBudget("global", "total", 0.5, "hold");
  ASSERT_TRUE(reaches(ids[2], JobState::kSucceeded));
  EXPECT_EQ(3u, upstream_->seen().size());
  EXPECT_NEAR(0.3, budgetField("spent_usd"), 1e-9);
}

TEST_F(AccountingTest, AJobUnderTwoBudgetsReservesInBothOrNeither) {
  startAsAdmin();
  setBudget("global", "total", 10, "reject");
  setBudget("user:alice", "total", 0.15, "hold");
  const uint64_t alice = connect(4001, "alice");
  upstream_->push(heldCosting(0.1));
  call(root_, "queue.pause");
  const std::string first = submitPriced(alice);
  const std::string second = submitPriced(alice);
  call(root_, "queue.resume");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  // Only the first holds room, in both budgets; the second reserved nowhere.
  EXPECT_NEAR(0.1, budgetFieldOf("global", "reserved_usd"), 1e-9);
  EXPECT_NEAR(0.1, budgetFieldOf("user:alice", "reserved_usd"), 1e-9);
  EXPECT_EQ(JobState::kQueued, stateOf(second));
  upstream_->release();
  ASSERT_TRUE(reaches(second, JobState::kHeld));
  EXPECT_EQ(JobState::kSucceeded, stateOf(first));
  EXPECT_NEAR(0, budgetFieldOf("global", "reserved_usd"), 1e-12);
  EXPECT_NEAR(0, budgetFieldOf("user:alice", "reserved_usd"), 1e-12);
  EXPECT_NEAR(0.1, budgetFieldOf("global", "spent_usd"), 1e-9);
  EXPECT_NEAR(0.1, budgetFieldOf("user:alice", "spent_usd"), 1e-9);
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(AccountingTest, AJobHeldBeforeARestartIsReleasedAfterIt) {
  startAsAdmin();
  setBudget("global", "total", 0.05, "hold");
  const std::string id = submitPriced(root_);
  ASSERT_TRUE(reaches(id, JobState::kHeld));
  restart();
  root_ = admin();
  EXPECT_EQ(JobState::kHeld, stateOf(id));
  EXPECT_EQ(1, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kHeld)]);
  setBudget("global", "total", 1.0, "hold");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  EXPECT_EQ(1u, upstream_->seen().size());
  EXPECT_EQ(0, engine_->lifecycle->counts()[static_cast<size_t>(JobState::kHeld)]);
}

TEST_F(AccountingTest, SpentIsTheSumOfTheReportedCostsAndSurvivesARestart) {
  startAsAdmin();
  setBudget("global", "month", 10, "reject");
  const std::vector<double> costs = {0.125, 0.25, 0.0625};
  for (double c : costs) {
    upstream_->push(ScriptedProvider::costs(c));
  }
  std::vector<std::string> ids;
  for (size_t i = 0; i < costs.size(); ++i) {
    ids.push_back(submitPriced(root_));
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(reaches(id, JobState::kSucceeded)) << id;
  }
  EXPECT_DOUBLE_EQ(0.4375, budgetField("spent_usd"));
  EXPECT_DOUBLE_EQ(0, budgetField("reserved_usd"));
  EXPECT_DOUBLE_EQ(0.4375, number(call(root_, "usage.report"), "result.totals.cost_usd"));
  // spent_usd is loaded from the ledger at startup.
  restart();
  root_ = admin();
  EXPECT_DOUBLE_EQ(0.4375, budgetField("spent_usd"));
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// A day budget holds the job that does not fit in what is left of today. When
// the wall clock steps into tomorrow (a machine resumed from suspend, the clock
// set forward), the period rolls at once, not when the armed timer would have
// fired, and the held job runs, counted in the new day only.
TEST_F(AccountingTest, AWallClockStepIntoTheNextPeriodReleasesHeldJobs) {
  startAsAdmin();
  const std::string second = secondJobHeld("day");
  ASSERT_EQ(JobState::kHeld, stateOf(second));
  clock_.step(int64_t{36} * 3600 * 1000);  // Tomorrow, whatever the hour now.
  ASSERT_TRUE(reaches(second, JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size());
  EXPECT_LT(budgetField("spent_usd"), 0.1) << "the new day counts only its own job";
}

}  // namespace
}  // namespace llmq::daemon
