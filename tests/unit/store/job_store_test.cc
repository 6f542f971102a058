// Tests for store::JobStore: round trips of every column, idempotency keys,
// list filters and paging, the scheduling queries (priority, then round-robin by
// client, then FIFO) and their index use, retries, startup recovery, counts and
// attempts.
#include "store/job_store.h"
#include "store/job_store_sql.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::TestDb;

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(t_.ok()); }

  JobRecord makeJob(const std::string& client, int priority = 0, JobState state = JobState::kQueued) {
    JobRecord j;
    j.state = state;
    j.priority = priority;
    j.client = client;
    j.owner = client.substr(0, client.find(':'));
    j.model = "mock/demo";
    j.request_json = R"({"model":"mock/demo","messages":[{"role":"user","content":"hi"}]})";
    j.created_at = 1000 + static_cast<int64_t>(created_++);
    return j;
  }

  int64_t add(const JobRecord& j, const std::vector<std::string>& tags = {}) {
    auto id = jobs_.insert(j, tags);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  int64_t add(const std::string& client, int priority = 0, JobState state = JobState::kQueued) {
    return add(makeJob(client, priority, state));
  }

  JobRecord get(int64_t id) {
    auto j = jobs_.get(id);
    EXPECT_TRUE(j.ok()) << j.error().message;
    EXPECT_TRUE(j.ok() && j->has_value()) << "job " << id << " not found";
    return j.ok() && j->has_value() ? **j : JobRecord{};
  }

  void setState(int64_t id, JobState state) {
    JobRecord j = get(id);
    j.state = state;
    ASSERT_TRUE(jobs_.update(j).ok());
  }

  // The scheduler's pick (daemon/jobs/scheduler.cc, without pauses): highest priority,
  // then the first client after the last one served at that priority, wrapping.
  std::optional<JobRecord> pickNext() {
    auto top = jobs_.topQueuedPriority(INT_MAX);
    EXPECT_TRUE(top.ok());
    if (!top.ok() || !top->has_value()) {
      return std::nullopt;
    }
    int priority = **top;
    auto owner = jobs_.nextQueuedOwner(priority, last_owner_[priority]);
    EXPECT_TRUE(owner.ok());
    if (owner.ok() && !owner->has_value()) {
      owner = jobs_.nextQueuedOwner(priority, "");
    }
    if (!owner.ok() || !owner->has_value()) {
      ADD_FAILURE() << "priority " << priority << " has queued jobs but no owner was found";
      return std::nullopt;
    }
    last_owner_[priority] = **owner;
    auto job = jobs_.nextQueued(priority, **owner, last_client_[**owner]);
    EXPECT_TRUE(job.ok());
    if (job.ok() && !job->has_value()) {
      job = jobs_.nextQueued(priority, **owner, "");
    }
    if (!job.ok() || !job->has_value()) {
      ADD_FAILURE() << "priority " << priority << " has queued jobs but none was found";
      return std::nullopt;
    }
    last_client_[**owner] = (**job).client;
    return **job;
  }

  // Picks jobs until the queue is empty, marking each running; returns "client:id" labels.
  std::vector<int64_t> drain() {
    std::vector<int64_t> order;
    for (int guard = 0; guard < 1000; ++guard) {
      auto j = pickNext();
      if (!j) {
        break;
      }
      order.push_back(j->id);
      j->state = JobState::kRunning;
      EXPECT_TRUE(jobs_.update(*j).ok());
    }
    return order;
  }

  std::vector<int64_t> ids(const ListFilter& f) {
    auto list = jobs_.list(f);
    EXPECT_TRUE(list.ok()) << list.error().message;
    std::vector<int64_t> out;
    if (list.ok()) {
      for (const auto& j : *list) {
        out.push_back(j.id);
      }
    }
    return out;
  }

  // The `detail` column of EXPLAIN QUERY PLAN, joined with " | ".
  std::string queryPlan(const std::string& sql) {
    auto st = t_.db().prepare("EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    if (!st.ok()) {
      return "";
    }
    std::string plan;
    while (sqlite3_step(st->get()) == SQLITE_ROW) {
      if (!plan.empty()) {
        plan += " | ";
      }
      plan += reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 3));
    }
    return plan;
  }

  TestDb t_;
  JobStore jobs_{t_.db()};
  int created_ = 0;
  std::map<int, std::string> last_owner_;
  std::map<std::string, std::string> last_client_;  // Per owner (tests use one priority at a time).
};

TEST_F(JobStoreTest, InsertThenGetRoundTripsEveryInsertedField) {
  JobRecord j = makeJob("alice", 7);
  j.tags_json = R"(["a","b"])";
  j.model = "mock/echo";
  j.request_json = R"({"model":"mock/echo","messages":[{"role":"user","content":"h\u00e9"}]})";
  j.options.cache = true;
  j.idempotency_key = "key-1";
  j.stream = true;
  j.max_attempts = 9;
  j.on_restart = OnRestart::kFail;
  j.timeout_ms = 1500;
  j.deadline_at = 99999;
  j.created_at = 123456789;
  j.event_seq = 3;
  int64_t id = add(j, {"a", "b"});
  ASSERT_GT(id, 0);

  JobRecord g = get(id);
  EXPECT_EQ(id, g.id);
  EXPECT_EQ(JobState::kQueued, g.state);
  EXPECT_EQ(7, g.priority);
  EXPECT_EQ("alice", g.client);
  EXPECT_EQ(R"(["a","b"])", g.tags_json);
  EXPECT_EQ("mock/echo", g.model);
  EXPECT_EQ("", g.model_used);
  EXPECT_EQ(j.request_json, g.request_json);
  EXPECT_TRUE(g.options.cache);
  EXPECT_EQ(R"({"fallback_models":[],"cache":true,"byok":false})",
            llmq::testing::queryOne(t_.db(), "SELECT options FROM jobs WHERE id = " + std::to_string(g.id)));
  EXPECT_EQ("key-1", g.idempotency_key.value_or(""));
  EXPECT_TRUE(g.stream);
  EXPECT_EQ(9, g.max_attempts);
  EXPECT_EQ(0, g.attempts);
  EXPECT_EQ(0, g.run_attempts);
  EXPECT_EQ(OnRestart::kFail, g.on_restart);
  EXPECT_EQ(1500, g.timeout_ms.value_or(-1));
  EXPECT_EQ(99999, g.deadline_at.value_or(-1));
  EXPECT_EQ(123456789, g.created_at);
  EXPECT_FALSE(g.started_at.has_value());
  EXPECT_FALSE(g.finished_at.has_value());
  EXPECT_FALSE(g.next_attempt_at.has_value());
  EXPECT_EQ(3, g.event_seq);
  EXPECT_EQ("", g.result_json);
  EXPECT_EQ("", g.error.code);
  EXPECT_EQ(0, g.error.upstream_status);
  EXPECT_FALSE(g.usage.has_value());
  EXPECT_EQ(JobKind::kChat, g.kind);
}

TEST_F(JobStoreTest, TheKindOfAnEmbeddingJobIsKept) {
  JobRecord j = makeJob("alice");
  j.kind = JobKind::kEmbedding;
  j.request_json = R"({"model":"mock/demo","input":"x"})";
  const int64_t id = add(j, {});
  EXPECT_EQ(JobKind::kEmbedding, get(id).kind);
  // And from the scheduling query that picks it to run.
  auto next = jobs_.nextQueued(0, "alice", "");
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(JobKind::kEmbedding, (*next)->kind);
}

TEST_F(JobStoreTest, OptionalInsertFieldsStayNull) {
  int64_t id = add(makeJob("bob"));
  JobRecord g = get(id);
  EXPECT_FALSE(g.idempotency_key.has_value());
  EXPECT_FALSE(g.timeout_ms.has_value());
  EXPECT_FALSE(g.deadline_at.has_value());
  EXPECT_FALSE(g.stream);
  EXPECT_EQ(OnRestart::kRequeue, g.on_restart);
  EXPECT_EQ("[]", g.tags_json);
  EXPECT_EQ(JobOptions{}, g.options);
}

TEST_F(JobStoreTest, IdsGrowAndUnknownIdsAreNotFound) {
  int64_t a = add("a");
  int64_t b = add("a");
  EXPECT_LT(a, b);
  auto missing = jobs_.get(b + 100);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(JobStoreTest, UpdateRoundTripsEveryMutableField) {
  int64_t id = add("alice");
  JobRecord j = get(id);
  j.state = JobState::kFailed;
  j.model_used = "mock/other";
  j.attempts = 5;
  j.run_attempts = 2;
  j.started_at = 2000;
  j.finished_at = 3000;
  j.next_attempt_at = 4000;
  j.event_seq = 17;
  j.result_json = R"({"id":"gen"})";
  j.error = JobError{"UPSTREAM_ERROR", "mock: upstream error 500", 500, "upstream"};
  j.usage = Usage{8, 24, 32, 4e-05};
  ASSERT_TRUE(jobs_.update(j).ok());

  JobRecord g = get(id);
  EXPECT_EQ(JobState::kFailed, g.state);
  EXPECT_EQ("mock/other", g.model_used);
  EXPECT_EQ(5, g.attempts);
  EXPECT_EQ(2, g.run_attempts);
  EXPECT_EQ(2000, g.started_at.value_or(-1));
  EXPECT_EQ(3000, g.finished_at.value_or(-1));
  EXPECT_EQ(4000, g.next_attempt_at.value_or(-1));
  EXPECT_EQ(17, g.event_seq);
  EXPECT_EQ(R"({"id":"gen"})", g.result_json);
  EXPECT_EQ("UPSTREAM_ERROR", g.error.code);
  EXPECT_EQ("mock: upstream error 500", g.error.message);
  EXPECT_EQ(500, g.error.upstream_status);
  EXPECT_EQ("upstream", g.error.source);
  ASSERT_TRUE(g.usage.has_value());
  EXPECT_EQ(8, g.usage->prompt_tokens);
  EXPECT_EQ(24, g.usage->completion_tokens);
  EXPECT_EQ(32, g.usage->total_tokens);
  EXPECT_DOUBLE_EQ(4e-05, g.usage->cost_usd);
  // Immutable fields are untouched.
  EXPECT_EQ("alice", g.client);
  EXPECT_EQ("mock/demo", g.model);

  // Clearing goes back to NULL.
  j.model_used.clear();
  j.started_at.reset();
  j.finished_at.reset();
  j.next_attempt_at.reset();
  j.result_json.clear();
  j.error = JobError{};
  j.usage.reset();
  j.state = JobState::kQueued;
  ASSERT_TRUE(jobs_.update(j).ok());
  g = get(id);
  EXPECT_EQ(JobState::kQueued, g.state);
  EXPECT_EQ("", g.model_used);
  EXPECT_FALSE(g.started_at.has_value());
  EXPECT_FALSE(g.finished_at.has_value());
  EXPECT_FALSE(g.next_attempt_at.has_value());
  EXPECT_EQ("", g.result_json);
  EXPECT_EQ("", g.error.code);
  EXPECT_EQ(0, g.error.upstream_status);
  EXPECT_FALSE(g.usage.has_value());
  EXPECT_EQ("1", llmq::testing::queryOne(t_.db(),
                                         "SELECT result IS NULL AND error_status IS NULL AND model_used IS NULL "
                                         "FROM jobs WHERE id = " +
                                             std::to_string(id)));
}

TEST_F(JobStoreTest, FindsJobsByIdempotencyKeyAndRejectsDuplicates) {
  JobRecord a = makeJob("alice");
  a.idempotency_key = "k1";
  int64_t id = add(a);
  add("alice");  // No key.
  auto found = jobs_.findByIdempotencyKey("alice", "k1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(id, found->value_or(0));
  EXPECT_EQ("alice", get(id).owner);
  auto none = jobs_.findByIdempotencyKey("alice", "k2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  JobRecord dup = makeJob("alice:batch");
  dup.idempotency_key = "k1";
  auto r = jobs_.insert(dup, {});
  ASSERT_FALSE(r.ok()) << "one owner, one job per key, whatever the client";
  EXPECT_EQ(ErrorKind::kInvalidState, r.error().kind);
  // Many jobs without a key are fine (the unique index is partial).
  add("bob");
  add("bob");
}

// Keys are per owner (schema v7): another user's key finds nothing and blocks
// nothing.
TEST_F(JobStoreTest, IdempotencyKeysArePerOwner) {
  JobRecord a = makeJob("alice");
  a.idempotency_key = "batch:eval:request-1";
  int64_t alices = add(a);
  auto peek = jobs_.findByIdempotencyKey("mallory", "batch:eval:request-1");
  ASSERT_TRUE(peek.ok());
  EXPECT_FALSE(peek->has_value());

  JobRecord m = makeJob("mallory");
  m.idempotency_key = "batch:eval:request-1";
  int64_t mallorys = add(m);
  EXPECT_NE(alices, mallorys);
  EXPECT_EQ(alices, jobs_.findByIdempotencyKey("alice", "batch:eval:request-1")->value_or(0));
  EXPECT_EQ(mallorys, jobs_.findByIdempotencyKey("mallory", "batch:eval:request-1")->value_or(0));
}

TEST_F(JobStoreTest, ListFiltersByStateClientAndTagNewestFirst) {
  int64_t a1 = add(makeJob("alice"), {"nightly"});
  int64_t b1 = add(makeJob("bob"), {"nightly", "eval"});
  int64_t a2 = add(makeJob("alice"), {"eval"});
  int64_t b2 = add(makeJob("bob"));
  int64_t a3 = add(makeJob("alice"), {"nightly", "nightly"});  // Duplicate tag stored once.
  setState(a2, JobState::kSucceeded);
  setState(b2, JobState::kSucceeded);

  EXPECT_EQ((std::vector<int64_t>{a3, b2, a2, b1, a1}), ids(ListFilter{}));
  EXPECT_EQ((std::vector<int64_t>{a3, b1, a1}), ids(ListFilter{.state = JobState::kQueued}));
  EXPECT_EQ((std::vector<int64_t>{b2, a2}), ids(ListFilter{.state = JobState::kSucceeded}));
  EXPECT_TRUE(ids(ListFilter{.state = JobState::kFailed}).empty());
  EXPECT_EQ((std::vector<int64_t>{a3, a2, a1}), ids(ListFilter{.client = "alice"}));
  EXPECT_EQ((std::vector<int64_t>{a3, b1, a1}), ids(ListFilter{.tag = "nightly"}));
  EXPECT_EQ((std::vector<int64_t>{a2, b1}), ids(ListFilter{.tag = "eval"}));
  EXPECT_TRUE(ids(ListFilter{.tag = "nope"}).empty());
  EXPECT_EQ((std::vector<int64_t>{b1}),
            ids(ListFilter{.state = JobState::kQueued, .client = "bob", .tag = "eval"}));
  EXPECT_EQ((std::vector<int64_t>{a2}),
            ids(ListFilter{.state = JobState::kSucceeded, .client = "alice", .tag = "eval"}));
  EXPECT_EQ("2",
            llmq::testing::queryOne(t_.db(), "SELECT count(*) FROM job_tags WHERE job_id = " + std::to_string(b1)));
  EXPECT_EQ("1",
            llmq::testing::queryOne(t_.db(), "SELECT count(*) FROM job_tags WHERE job_id = " + std::to_string(a3)));
}

TEST_F(JobStoreTest, ListPagesWithACursorNewestFirst) {
  std::vector<int64_t> all;
  for (int i = 0; i < 7; ++i) {
    all.push_back(add(i % 2 == 0 ? "alice" : "bob"));
  }
  std::reverse(all.begin(), all.end());  // Newest first.
  std::vector<int64_t> seen;
  int64_t cursor = 0;
  int pages = 0;
  for (; pages < 10; ++pages) {
    auto page = ids(ListFilter{.limit = 3, .before_id = cursor});
    if (page.empty()) {
      break;
    }
    EXPECT_LE(page.size(), 3u);
    seen.insert(seen.end(), page.begin(), page.end());
    cursor = page.back();
  }
  EXPECT_EQ(3, pages);
  EXPECT_EQ(all, seen);

  // Paging combines with a filter.
  auto alice_page = ids(ListFilter{.client = "alice", .limit = 2, .before_id = all[0]});
  ASSERT_EQ(2u, alice_page.size());
  EXPECT_EQ(all[2], alice_page[0]);
  EXPECT_EQ(all[4], alice_page[1]);
}

TEST_F(JobStoreTest, RoundRobinAcrossClientsThenFifoWithinOne) {
  // Submitted out of client order, interleaved.
  int64_t c1 = add("c");
  int64_t a1 = add("a");
  int64_t a2 = add("a");
  int64_t b1 = add("b");
  int64_t c2 = add("c");
  int64_t a3 = add("a");
  int64_t b2 = add("b");
  int64_t a4 = add("a");
  EXPECT_EQ((std::vector<int64_t>{a1, b1, c1, a2, b2, c2, a3, a4}), drain());
}

TEST_F(JobStoreTest, HigherPriorityRunsFirstAndEachPriorityKeepsItsOwnTurn) {
  int64_t low_a = add("a", -5);
  int64_t mid_b1 = add("b", 0);
  int64_t hi_c = add("c", 10);
  int64_t mid_a1 = add("a", 0);
  int64_t hi_a = add("a", 10);
  int64_t mid_b2 = add("b", 0);
  int64_t mid_a2 = add("a", 0);
  EXPECT_EQ((std::vector<int64_t>{hi_a, hi_c, mid_a1, mid_b1, mid_a2, mid_b2, low_a}), drain());
}

TEST_F(JobStoreTest, NextQueuedOfClientWalksOneClientInOrder) {
  int64_t a1 = add("a", 0);
  add("b", 0);
  int64_t a2 = add("a", 0);
  add("a", 5);
  add("a", 0, JobState::kRunning);
  int64_t a3 = add("a", 0);
  std::vector<int64_t> seen;
  int64_t after = 0;
  for (;;) {
    auto job = jobs_.nextQueuedOfClient(0, "a", "a", after);
    ASSERT_TRUE(job.ok());
    if (!job->has_value()) {
      break;
    }
    after = (**job).id;
    seen.push_back(after);
  }
  EXPECT_EQ((std::vector<int64_t>{a1, a2, a3}), seen);
}

TEST_F(JobStoreTest, TopQueuedPriorityLooksStrictlyBelowAndOnlyAtQueuedJobs) {
  add("a", 5);
  add("a", 1);
  add("a", -3);
  add("a", 100, JobState::kRunning);
  add("a", 50, JobState::kRetryWait);
  add("a", 70, JobState::kSucceeded);
  EXPECT_EQ(5, jobs_.topQueuedPriority(INT_MAX)->value_or(-999));
  EXPECT_EQ(1, jobs_.topQueuedPriority(5)->value_or(-999));
  EXPECT_EQ(-3, jobs_.topQueuedPriority(1)->value_or(-999));
  EXPECT_FALSE(jobs_.topQueuedPriority(-3)->has_value());
  auto next = jobs_.nextQueued(100, "a", "");
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());  // The running job is not runnable.
}

// The SQL below is copied from store/job_store.cc. The daemon never runs ANALYZE,
// so these plans are what a real database gets. If a scheduling query stops
// seeking its partial index, every pick reads (and sorts) every queued job on the
// loop thread.
using sql::kNextQueuedSql;
using sql::kNextRetrySql;
using sql::kPromoteRetriesSql;
using sql::kTopQueuedPrioritySql;

TEST_F(JobStoreTest, NextQueuedSeeksTheRunnableIndex) {
  std::string plan = queryPlan(kNextQueuedSql);
  EXPECT_NE(std::string::npos,
            plan.find("SEARCH jobs USING INDEX jobs_runnable (priority=? AND owner=? AND client>?)"))
      << plan;
  EXPECT_EQ(std::string::npos, plan.find("TEMP B-TREE")) << plan;
}

TEST_F(JobStoreTest, NextQueuedOfClientSeeksTheRunnableIndex) {
  std::string plan = queryPlan(sql::kNextQueuedOfClientSql);
  EXPECT_NE(std::string::npos,
            plan.find("SEARCH jobs USING INDEX jobs_runnable (priority=? AND owner=? AND client=? AND id>?)"))
      << plan;
  EXPECT_EQ(std::string::npos, plan.find("TEMP B-TREE")) << plan;
}

TEST_F(JobStoreTest, NextQueuedOwnerSeeksTheRunnableIndex) {
  std::string plan = queryPlan(sql::kNextQueuedOwnerSql);
  EXPECT_NE(std::string::npos, plan.find("SEARCH jobs USING INDEX jobs_runnable (priority=? AND owner>?)")) << plan;
  EXPECT_EQ(std::string::npos, plan.find("TEMP B-TREE")) << plan;
}

TEST_F(JobStoreTest, TopQueuedPrioritySeeksTheRunnableIndex) {
  std::string plan = queryPlan(kTopQueuedPrioritySql);
  EXPECT_NE(std::string::npos, plan.find("jobs_runnable")) << plan;
  EXPECT_EQ(std::string::npos, plan.find("TEMP B-TREE")) << plan;
}

TEST_F(JobStoreTest, RetryQueriesUseTheRetryIndex) {
  std::string next = queryPlan(kNextRetrySql);
  EXPECT_NE(std::string::npos, next.find("jobs_retry")) << next;
  EXPECT_EQ(std::string::npos, next.find("TEMP B-TREE")) << next;
  std::string promote = queryPlan(kPromoteRetriesSql);
  EXPECT_NE(std::string::npos, promote.find("jobs_retry")) << promote;
}

TEST_F(JobStoreTest, DeadlineQueriesUseTheDeadlineIndex) {
  std::string next = queryPlan(sql::kNextDeadlineSql);
  EXPECT_NE(std::string::npos, next.find("jobs_deadline")) << next;
  EXPECT_EQ(std::string::npos, next.find("TEMP B-TREE")) << next;
  std::string due = queryPlan(sql::kDueDeadlinesSql);
  EXPECT_NE(std::string::npos, due.find("jobs_deadline")) << due;
}

TEST_F(JobStoreTest, PromotesDueRetriesAndReportsTheNextRetryTime) {
  auto none = jobs_.nextRetryAt();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  std::vector<int64_t> ids_by_time;
  for (int64_t at : {300, 100, 200}) {
    JobRecord j = makeJob("a", 0, JobState::kRetryWait);
    int64_t id = add(j);
    JobRecord g = get(id);
    g.next_attempt_at = at;
    ASSERT_TRUE(jobs_.update(g).ok());
    ids_by_time.push_back(id);
  }
  EXPECT_EQ(100, jobs_.nextRetryAt()->value_or(-1));

  auto promoted = jobs_.promoteDueRetries(99);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(0, *promoted);

  promoted = jobs_.promoteDueRetries(200);  // Inclusive.
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(2, *promoted);
  EXPECT_EQ(JobState::kQueued, get(ids_by_time[1]).state);
  EXPECT_FALSE(get(ids_by_time[1]).next_attempt_at.has_value());
  EXPECT_EQ(JobState::kQueued, get(ids_by_time[2]).state);
  EXPECT_EQ(JobState::kRetryWait, get(ids_by_time[0]).state);
  EXPECT_EQ(300, jobs_.nextRetryAt()->value_or(-1));

  promoted = jobs_.promoteDueRetries(1000);
  EXPECT_EQ(1, promoted.value());
  EXPECT_FALSE(jobs_.nextRetryAt()->has_value());
}

TEST_F(JobStoreTest, RecoverInterruptedRequeuesOrFailsByPolicy) {
  JobRecord requeue = makeJob("a", 0, JobState::kRunning);
  int64_t r1 = add(requeue);
  JobRecord fail = makeJob("b", 0, JobState::kRunning);
  fail.on_restart = OnRestart::kFail;
  int64_t r2 = add(fail);
  int64_t queued = add("c");
  JobRecord done_fail = makeJob("d", 0, JobState::kSucceeded);
  done_fail.on_restart = OnRestart::kFail;
  int64_t done = add(done_fail);

  for (int64_t id : {r1, r2}) {
    AttemptRecord a{.job_id = id, .attempt = 1, .model = "mock/demo", .provider = "mock", .started_at = 1500};
    ASSERT_TRUE(jobs_.insertAttempt(a).ok());
  }
  AttemptRecord finished{.job_id = done,
                         .attempt = 1,
                         .model = "mock/demo",
                         .provider = "mock",
                         .started_at = 1500,
                         .finished_at = 1600,
                         .outcome = "succeeded"};
  ASSERT_TRUE(jobs_.insertAttempt(finished).ok());

  auto counts = jobs_.recoverInterrupted(5000);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(1, counts->requeued);
  EXPECT_EQ(1, counts->failed);

  EXPECT_EQ(JobState::kQueued, get(r1).state);
  JobRecord failed = get(r2);
  EXPECT_EQ(JobState::kFailed, failed.state);
  EXPECT_EQ(5000, failed.finished_at.value_or(-1));
  EXPECT_EQ("INTERRUPTED", failed.error.code);
  EXPECT_EQ("local", failed.error.source);
  EXPECT_EQ(0, failed.error.upstream_status);
  EXPECT_FALSE(failed.error.message.empty());
  EXPECT_EQ(JobState::kQueued, get(queued).state);
  EXPECT_EQ(JobState::kSucceeded, get(done).state);

  for (int64_t id : {r1, r2}) {
    auto attempts = jobs_.attempts(id);
    ASSERT_TRUE(attempts.ok());
    ASSERT_EQ(1u, attempts->size());
    EXPECT_EQ("interrupted", (*attempts)[0].outcome);
    EXPECT_EQ(5000, (*attempts)[0].finished_at.value_or(-1));
  }
  auto kept = jobs_.attempts(done);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(1u, kept->size());
  EXPECT_EQ("succeeded", (*kept)[0].outcome);
  EXPECT_EQ(1600, (*kept)[0].finished_at.value_or(-1));

  // A second recovery finds nothing left running.
  counts = jobs_.recoverInterrupted(6000);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(0, counts->requeued);
  EXPECT_EQ(0, counts->failed);
}

TEST_F(JobStoreTest, AttemptsRoundTripInOrder) {
  int64_t id = add("a");
  AttemptRecord second{.job_id = id, .attempt = 2, .model = "mock/b", .provider = "mock", .started_at = 20};
  AttemptRecord first{.job_id = id, .attempt = 1, .model = "mock/a", .provider = "mock", .started_at = 10};
  ASSERT_TRUE(jobs_.insertAttempt(second).ok());
  ASSERT_TRUE(jobs_.insertAttempt(first).ok());
  EXPECT_FALSE(jobs_.insertAttempt(first).ok());  // (job_id, attempt) is the key.

  first.finished_at = 15;
  first.outcome = "failed";
  first.http_status = 503;
  first.error_code = "UPSTREAM_ERROR";
  first.generation_id = "gen-1";
  first.usage = Usage{5, 7, 12, 0.25};
  ASSERT_TRUE(jobs_.updateAttempt(first).ok());

  auto list = jobs_.attempts(id);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(2u, list->size());
  const AttemptRecord& a = (*list)[0];
  EXPECT_EQ(1, a.attempt);
  EXPECT_EQ("mock/a", a.model);
  EXPECT_EQ("mock", a.provider);
  EXPECT_EQ(10, a.started_at);
  EXPECT_EQ(15, a.finished_at.value_or(-1));
  EXPECT_EQ("failed", a.outcome);
  EXPECT_EQ(503, a.http_status);
  EXPECT_EQ("UPSTREAM_ERROR", a.error_code);
  EXPECT_EQ("gen-1", a.generation_id);
  ASSERT_TRUE(a.usage.has_value());
  EXPECT_EQ(5, a.usage->prompt_tokens);
  EXPECT_EQ(7, a.usage->completion_tokens);
  EXPECT_EQ(12, a.usage->total_tokens);
  EXPECT_DOUBLE_EQ(0.25, a.usage->cost_usd);
  const AttemptRecord& b = (*list)[1];
  EXPECT_EQ(2, b.attempt);
  EXPECT_EQ("running", b.outcome);
  EXPECT_FALSE(b.finished_at.has_value());
  EXPECT_EQ(0, b.http_status);
  EXPECT_FALSE(b.usage.has_value());

  // Attempts go with their job.
  ASSERT_TRUE(t_.db().exec("DELETE FROM jobs").ok());
  EXPECT_TRUE(jobs_.attempts(id)->empty());
}

TEST_F(JobStoreTest, CountsJobsByState) {
  auto empty = jobs_.countByState();
  ASSERT_TRUE(empty.ok());
  for (int64_t n : *empty) {
    EXPECT_EQ(0, n);
  }
  add("a");
  add("a");
  add("b", 0, JobState::kRunning);
  add("b", 0, JobState::kExpired);
  add("b", 0, JobState::kExpired);
  add("b", 0, JobState::kExpired);
  auto counts = jobs_.countByState();
  ASSERT_TRUE(counts.ok());
  std::array<int64_t, kJobStateCount> expected{2, 1, 0, 0, 0, 0, 0, 3};
  EXPECT_EQ(expected, *counts);
}

}  // namespace
}  // namespace llmq::store
