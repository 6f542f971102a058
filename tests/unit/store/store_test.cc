// The contract of store::Store (store/store.h), written against the interface
// alone and run on every backend in StoreBackends: enqueue and read, the pick
// and claim (priority, then round-robin across owners and their clients, then
// FIFO), recorded outcomes and the ledger they feed, requeueing (by the
// engine, after a crash, of held jobs and due retries), deadlines, counts,
// usage reports, budget sums and budgets, and the turn contract (a turn is
// seen whole or not at all, by its own reads at once and by others only once
// committed; a crash or a rollback loses it whole).
//
// A backend joins by adding a harness to StoreBackends: a class that opens a
// fresh, empty store with its schema in place, and can open a second handle on
// the same storage (what another process, or llmqd after a crash, sees).
#include "store/store.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/schema.h"
#include "store/sqlite_store.h"
#include "tests/support/temp_dir.h"

namespace llmq::store {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNov1 = 1'793'491'200'000;  // 2026-11-01T00:00:00Z.

// SQLite on a file in a private directory (a second connection needs a file).
class SqliteBackend {
 public:
  // Opens (and migrates) the store; reopen() closes it first, without committing.
  ::testing::AssertionResult open() {
    main_.reset();
    db_.reset();
    auto db = Database::open(dir_.file("llmq.db"), OpenOptions{});
    if (!db) {
      return ::testing::AssertionFailure() << db.error().message;
    }
    db_ = std::move(*db);
    if (auto r = migrate(*db_); !r) {
      return ::testing::AssertionFailure() << r.error().message;
    }
    main_ = std::make_unique<SqliteStore>(*db_);
    return ::testing::AssertionSuccess();
  }
  Store& store() { return *main_; }
  // Another connection to the same storage.
  Store& other() {
    if (!other_) {
      auto db = Database::open(dir_.file("llmq.db"), OpenOptions{});
      EXPECT_TRUE(db.ok()) << db.error().message;
      other_db_ = std::move(*db);
      other_ = std::make_unique<SqliteStore>(*other_db_);
    }
    return *other_;
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteStore> main_;
  std::unique_ptr<Database> other_db_;
  std::unique_ptr<SqliteStore> other_;
};

template <class Backend>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(backend_.open()); }
  Store& s() { return backend_.store(); }

  JobRecord makeJob(const std::string& client, int priority = 0, JobState state = JobState::kQueued) {
    JobRecord j;
    j.state = state;
    j.priority = priority;
    j.client = client;
    j.owner = client.substr(0, client.find(':'));
    j.model = "mock/demo";
    j.request_json = R"({"model":"mock/demo","messages":[{"role":"user","content":"hi"}]})";
    j.created_at = kNov1 + static_cast<int64_t>(created_++);
    return j;
  }
  int64_t enqueue(const JobRecord& j, const std::vector<std::string>& tags = {}) {
    auto id = s().enqueue(j, tags);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }
  int64_t enqueue(const std::string& client, int priority = 0, JobState state = JobState::kQueued) {
    return enqueue(makeJob(client, priority, state));
  }
  JobRecord job(int64_t id, Store* from = nullptr) {
    auto j = (from ? *from : s()).getJob(id);
    EXPECT_TRUE(j.ok()) << j.error().message;
    EXPECT_TRUE(j.ok() && j->has_value()) << "job " << id << " not found";
    return j.ok() && j->has_value() ? **j : JobRecord{};
  }
  bool exists(Store& in, int64_t id) {
    auto j = in.getJob(id);
    EXPECT_TRUE(j.ok());
    return j.ok() && j->has_value();
  }
  int64_t count(JobState state) {
    auto counts = s().countByState();
    EXPECT_TRUE(counts.ok());
    return counts.ok() ? (*counts)[static_cast<size_t>(state)] : -1;
  }

  // The scheduler's pick (daemon/jobs/scheduler.cc, without pauses or gates):
  // the highest priority, the first owner after the last one served there,
  // that owner's first client after the last one served, its oldest job.
  std::optional<JobRecord> pick() {
    auto top = s().topQueuedPriority(INT_MAX);
    EXPECT_TRUE(top.ok());
    if (!top.ok() || !top->has_value()) {
      return std::nullopt;
    }
    const int priority = **top;
    auto owner = s().nextQueuedOwner(priority, last_owner_[priority]);
    if (owner.ok() && !owner->has_value()) {
      owner = s().nextQueuedOwner(priority, "");
    }
    if (!owner.ok() || !owner->has_value()) {
      ADD_FAILURE() << "priority " << priority << " has queued jobs but no owner";
      return std::nullopt;
    }
    last_owner_[priority] = **owner;
    auto next = s().nextQueued(priority, **owner, last_client_[**owner]);
    if (next.ok() && !next->has_value()) {
      next = s().nextQueued(priority, **owner, "");
    }
    if (!next.ok() || !next->has_value()) {
      ADD_FAILURE() << "owner " << **owner << " has queued jobs but none was found";
      return std::nullopt;
    }
    last_client_[**owner] = (**next).client;
    return **next;
  }
  // The claim, as the runner makes it: the job running, its attempt row open.
  AttemptRecord claim(JobRecord& j, int64_t at) {
    j.state = JobState::kRunning;
    j.attempts += 1;
    j.run_attempts += 1;
    j.started_at = at;
    j.model_used = j.model;
    EXPECT_TRUE(s().updateJob(j).ok());
    AttemptRecord a;
    a.job_id = j.id;
    a.attempt = j.attempts;
    a.model = j.model;
    a.provider = "mock";
    a.started_at = at;
    a.model_asked = j.model;
    a.client = j.client;
    a.tags_json = j.tags_json;
    EXPECT_TRUE(s().insertAttempt(a).ok());
    return a;
  }
  // Picks and claims until nothing is queued; returns the ids in claim order.
  std::vector<int64_t> drain() {
    std::vector<int64_t> order;
    for (int guard = 0; guard < 100; ++guard) {
      std::optional<JobRecord> j = pick();
      if (!j) {
        break;
      }
      order.push_back(j->id);
      claim(*j, kNov1);
    }
    return order;
  }
  // An attempt that succeeded at `cost`, recorded as the runner and the
  // accounting do: the outcome, then the attempt in the usage rollups.
  void succeed(JobRecord& j, AttemptRecord& a, double cost, int64_t at) {
    a.finished_at = at + 10;
    a.outcome = "succeeded";
    a.http_status = 200;
    a.usage = Usage{10, 5, 15, cost};
    j.state = JobState::kSucceeded;
    j.finished_at = at + 10;
    j.result_json = R"({"choices":[]})";
    j.usage = a.usage;
    ASSERT_TRUE(s().recordOutcome(j, a).ok());
    UsageDelta d;
    d.started_at = a.started_at;
    d.model = a.model;
    d.client = a.client;
    d.prompt_tokens = 10;
    d.completion_tokens = 5;
    d.cost_usd = cost;
    for (const std::string& t : tags_of_[j.id]) {
      d.tags.push_back(t);
    }
    ASSERT_TRUE(s().addUsage(d).ok());
  }
  // A job enqueued, claimed and succeeded at `at`, costing `cost`.
  int64_t spend(const std::string& client, double cost, int64_t at, std::vector<std::string> tags = {}) {
    JobRecord j = makeJob(client);
    j.tags_json = "[";
    for (const std::string& t : tags) {
      j.tags_json += (j.tags_json.size() > 1 ? ",\"" : "\"") + t + "\"";
    }
    j.tags_json += "]";
    const int64_t id = enqueue(j, tags);
    tags_of_[id] = tags;
    j = job(id);
    AttemptRecord a = claim(j, at);
    succeed(j, a, cost, at);
    return id;
  }

  Backend backend_;
  int created_ = 0;
  std::map<int, std::string> last_owner_;
  std::map<std::string, std::string> last_client_;
  std::map<int64_t, std::vector<std::string>> tags_of_;
};

// Every backend the contract runs on.
using StoreBackends = ::testing::Types<SqliteBackend>;
TYPED_TEST_SUITE(StoreContractTest, StoreBackends);

// --- Enqueue and read ---

TYPED_TEST(StoreContractTest, AnEnqueuedJobReadsBackAsItWasSubmitted) {
  JobRecord j = this->makeJob("alice:batch", 3);
  j.tags_json = R"(["a","b"])";
  j.kind = JobKind::kEmbedding;
  j.options.cache = true;
  j.idempotency_key = "k1";
  j.stream = true;
  j.max_attempts = 7;
  j.on_restart = OnRestart::kFail;
  j.timeout_ms = 1500;
  j.deadline_at = kNov1 + kDay;
  const int64_t id = this->enqueue(j, {"a", "b"});
  ASSERT_GT(id, 0);
  const JobRecord g = this->job(id);
  EXPECT_EQ(id, g.id);
  EXPECT_EQ(JobState::kQueued, g.state);
  EXPECT_EQ(3, g.priority);
  EXPECT_EQ("alice:batch", g.client);
  EXPECT_EQ("alice", g.owner);
  EXPECT_EQ(R"(["a","b"])", g.tags_json);
  EXPECT_EQ(j.request_json, g.request_json);
  EXPECT_EQ(JobKind::kEmbedding, g.kind);
  EXPECT_TRUE(g.options.cache);
  EXPECT_EQ("k1", g.idempotency_key.value_or(""));
  EXPECT_TRUE(g.stream);
  EXPECT_EQ(7, g.max_attempts);
  EXPECT_EQ(OnRestart::kFail, g.on_restart);
  EXPECT_EQ(1500, g.timeout_ms.value_or(-1));
  EXPECT_EQ(kNov1 + kDay, g.deadline_at.value_or(-1));
  EXPECT_EQ(j.created_at, g.created_at);
  EXPECT_EQ(0, g.attempts);
  EXPECT_FALSE(g.usage.has_value());
  EXPECT_EQ(1, this->count(JobState::kQueued));

  const int64_t next = this->enqueue("bob");
  EXPECT_GT(next, id) << "ids only grow";
  auto missing = this->s().getJob(next + 100);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(StoreContractTest, IdempotencyKeysArePerOwnerAndADuplicateStoresNothing) {
  JobRecord j = this->makeJob("alice");
  j.idempotency_key = "once";
  const int64_t id = this->enqueue(j);
  auto found = this->s().findByIdempotencyKey("alice", "once");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(id, found->value_or(0));
  auto other = this->s().findByIdempotencyKey("bob", "once");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value()) << "another user's key finds nothing";

  auto dup = this->s().enqueue(j, {});
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ(1, this->count(JobState::kQueued));
  JobRecord bobs = this->makeJob("bob");
  bobs.idempotency_key = "once";
  EXPECT_GT(this->enqueue(bobs), id) << "the same key is free for another user";
}

TYPED_TEST(StoreContractTest, ListingIsNewestFirstFilteredAndStopsWhenAsked) {
  const int64_t a1 = this->enqueue(this->makeJob("alice"), {"x"});
  const int64_t b1 = this->enqueue("bob");
  const int64_t a2 = this->enqueue(this->makeJob("alice:cli"), {"x"});
  const int64_t held = this->enqueue("alice", 0, JobState::kHeld);
  auto ids = [this](const ListFilter& f, size_t stop_after = SIZE_MAX) {
    std::vector<int64_t> out;
    auto r = this->s().listJobs(f, [&](JobRecord& j) {
      out.push_back(j.id);
      return out.size() < stop_after;
    });
    EXPECT_TRUE(r.ok());
    return out;
  };
  EXPECT_EQ((std::vector<int64_t>{held, a2, b1, a1}), ids(ListFilter{}));
  ListFilter alice;
  alice.owner = "alice";
  EXPECT_EQ((std::vector<int64_t>{held, a2, a1}), ids(alice));
  alice.state = JobState::kQueued;
  EXPECT_EQ((std::vector<int64_t>{a2, a1}), ids(alice));
  ListFilter tagged;
  tagged.tag = "x";
  EXPECT_EQ((std::vector<int64_t>{a2, a1}), ids(tagged));
  ListFilter page;
  page.before_id = a2;
  page.limit = 1;
  EXPECT_EQ((std::vector<int64_t>{b1}), ids(page));
  EXPECT_EQ((std::vector<int64_t>{held, a2}), ids(ListFilter{}, 2));
}

// --- Picking and claiming ---

TYPED_TEST(StoreContractTest, ClaimsGoByPriorityThenRoundRobinAcrossOwnersAndClientsThenFifo) {
  const int64_t low = this->enqueue("alice", 0);
  const int64_t a1 = this->enqueue("alice:x", 5);
  const int64_t a2 = this->enqueue("alice:x", 5);
  const int64_t a3 = this->enqueue("alice:y", 5);
  const int64_t b1 = this->enqueue("bob", 5);
  const int64_t b2 = this->enqueue("bob", 5);
  const int64_t top = this->enqueue("carol", 9);
  this->enqueue("dave", 9, JobState::kHeld);  // Not queued: never picked.
  // Priority 9 first; at 5, alice and bob take turns, and alice's turns go
  // round her clients x and y; FIFO within a client; priority 0 last.
  EXPECT_EQ((std::vector<int64_t>{top, a1, b1, a3, b2, a2, low}), this->drain());
  EXPECT_EQ(0, this->count(JobState::kQueued));
  EXPECT_EQ(7, this->count(JobState::kRunning));
  EXPECT_EQ(1, this->count(JobState::kHeld));
}

TYPED_TEST(StoreContractTest, PickingQuestionsSeeQueuedJobsOnly) {
  const int64_t a = this->enqueue("alice", 4);
  const int64_t b = this->enqueue("alice", 4);
  this->enqueue("zed", 8, JobState::kRetryWait);
  auto top = this->s().topQueuedPriority(INT_MAX);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(4, top->value_or(-1));
  auto below = this->s().topQueuedPriority(4);
  ASSERT_TRUE(below.ok());
  EXPECT_FALSE(below->has_value()) << "strictly below";
  auto after = this->s().nextQueuedOwner(4, "alice");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  // The walk along one client skips a job the pick passed over.
  auto second = this->s().nextQueuedOfClient(4, "alice", "alice", a);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(b, second->has_value() ? (**second).id : 0);
  auto none = this->s().nextQueuedOfClient(4, "alice", "alice", b);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TYPED_TEST(StoreContractTest, AClaimedJobIsNotPickedAgainAndAJobEnqueuedInTheTurnIsClaimedInIt) {
  ASSERT_TRUE(this->s().begin().ok());
  const int64_t id = this->enqueue("alice");
  std::optional<JobRecord> j = this->pick();
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(id, j->id);
  this->claim(*j, kNov1);
  EXPECT_FALSE(this->pick().has_value());
  ASSERT_TRUE(this->s().commit().ok());
  EXPECT_EQ(JobState::kRunning, this->job(id).state);
  EXPECT_EQ(1, this->job(id).attempts);
}

// --- Outcomes ---

TYPED_TEST(StoreContractTest, ARecordedOutcomeStoresTheJobAndItsAttemptInTheLedger) {
  const int64_t id = this->enqueue("alice:cli");
  JobRecord j = this->job(id);
  const int64_t at = kNov1 + kDay / 2;
  AttemptRecord a = this->claim(j, at);
  this->succeed(j, a, 0.25, at);

  const JobRecord g = this->job(id);
  EXPECT_EQ(JobState::kSucceeded, g.state);
  EXPECT_EQ(R"({"choices":[]})", g.result_json);
  EXPECT_EQ(at + 10, g.finished_at.value_or(-1));
  ASSERT_TRUE(g.usage.has_value());
  EXPECT_EQ(15, g.usage->total_tokens);
  EXPECT_DOUBLE_EQ(0.25, g.usage->cost_usd);
  EXPECT_EQ(1, this->count(JobState::kSucceeded));
  EXPECT_EQ(0, this->count(JobState::kRunning));

  // The attempt is in the ledger: budget sums and a report off day boundaries
  // (which reads attempts, not the daily rollups) both find it.
  auto spent = this->s().spent(SpendScope{SpendScope::kClient, "alice:cli"}, at, at + 1);
  ASSERT_TRUE(spent.ok());
  EXPECT_DOUBLE_EQ(0.25, *spent);
  auto report = this->s().usageReport(UsageQuery{{UsageDim::kModel}, at - 1, at + 1});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(1u, report->rows.size());
  EXPECT_EQ(std::vector<std::string>{"mock/demo"}, report->rows[0].keys);
  EXPECT_EQ(1, report->rows[0].figures.requests);
  EXPECT_EQ(10, report->rows[0].figures.prompt_tokens);
  EXPECT_DOUBLE_EQ(0.25, report->totals.cost_usd);
}

TYPED_TEST(StoreContractTest, AFailedAttemptThatNeverReachedTheUpstreamCostsNothing) {
  JobRecord j = this->job(this->enqueue("alice"));
  AttemptRecord a = this->claim(j, kNov1 + 5);
  a.finished_at = kNov1 + 6;
  a.outcome = "failed";
  a.error_code = "CONNECT_FAILED";
  j.state = JobState::kRetryWait;
  j.next_attempt_at = kNov1 + 1000;
  ASSERT_TRUE(this->s().recordOutcome(j, a).ok());
  EXPECT_EQ(JobState::kRetryWait, this->job(j.id).state);
  auto spent = this->s().spent(SpendScope{}, 0, INT64_MAX);
  ASSERT_TRUE(spent.ok());
  EXPECT_EQ(0.0, *spent);
  auto report = this->s().usageReport(UsageQuery{{}, kNov1 + 1, kNov1 + kDay - 1});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(0, report->totals.requests);
}

// --- Requeueing ---

TYPED_TEST(StoreContractTest, ARequeuedJobIsClaimedAgainInItsPlace) {
  const int64_t first = this->enqueue("alice");
  const int64_t second = this->enqueue("alice");
  std::optional<JobRecord> j = this->pick();
  ASSERT_TRUE(j.has_value());
  ASSERT_EQ(first, j->id);
  this->claim(*j, kNov1);
  // Put back in the queue (the daemon stopping, or job.retry): the same write.
  j->state = JobState::kQueued;
  ASSERT_TRUE(this->s().updateJob(*j).ok());
  EXPECT_EQ(2, this->count(JobState::kQueued));
  EXPECT_EQ((std::vector<int64_t>{first, second}), this->drain()) << "FIFO keeps its place";
  EXPECT_EQ(2, this->job(first).attempts) << "attempts are never forgotten";
}

TYPED_TEST(StoreContractTest, RecoveryRequeuesOrFailsWhatWasRunningByItsPolicy) {
  JobRecord r = this->job(this->enqueue("alice"));
  JobRecord f = this->makeJob("bob");
  f.on_restart = OnRestart::kFail;
  f = this->job(this->enqueue(f));
  const int64_t queued = this->enqueue("carol");
  this->claim(r, kNov1);
  this->claim(f, kNov1);
  r.event_seq = 7;
  ASSERT_TRUE(this->s().updateJob(r).ok());

  auto counts = this->s().recoverInterrupted(kNov1 + 100);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(1, counts->requeued);
  EXPECT_EQ(1, counts->failed);
  const JobRecord requeued = this->job(r.id);
  EXPECT_EQ(JobState::kQueued, requeued.state);
  EXPECT_GT(requeued.event_seq, 7) << "past any seq the lost stream may have sent";
  const JobRecord failed = this->job(f.id);
  EXPECT_EQ(JobState::kFailed, failed.state);
  EXPECT_EQ("INTERRUPTED", failed.error.code);
  EXPECT_EQ(kNov1 + 100, failed.finished_at.value_or(-1));
  EXPECT_EQ(JobState::kQueued, this->job(queued).state);
  EXPECT_EQ((std::vector<int64_t>{r.id, queued}), this->drain());

  counts = this->s().recoverInterrupted(kNov1 + 200);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(2, counts->requeued) << "the two just claimed";
}

TYPED_TEST(StoreContractTest, HeldJobsGoBackToTheQueueWhenReleased) {
  const int64_t h1 = this->enqueue("alice", 0, JobState::kHeld);
  const int64_t h2 = this->enqueue("bob", 0, JobState::kHeld);
  EXPECT_FALSE(this->pick().has_value());
  auto n = this->s().releaseHeld();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(2, *n);
  EXPECT_EQ(0, this->count(JobState::kHeld));
  EXPECT_EQ((std::vector<int64_t>{h1, h2}), this->drain());
  EXPECT_EQ(0, this->s().releaseHeld().value());
}

TYPED_TEST(StoreContractTest, RetriesComeBackWhenDueAndFollowTheClock) {
  auto waiting = [this](int64_t at) {
    JobRecord j = this->job(this->enqueue("alice", 0, JobState::kRetryWait));
    j.next_attempt_at = at;
    EXPECT_TRUE(this->s().updateJob(j).ok());
    return j.id;
  };
  EXPECT_FALSE(this->s().nextRetryAt().value().has_value());
  const int64_t late = waiting(3000);
  const int64_t early = waiting(1000);
  EXPECT_EQ(1000, this->s().nextRetryAt().value().value_or(-1));
  EXPECT_EQ(0, this->s().promoteDueRetries(999).value());
  EXPECT_EQ(1, this->s().promoteDueRetries(1000).value()) << "due is inclusive";
  EXPECT_EQ(JobState::kQueued, this->job(early).state);
  EXPECT_FALSE(this->job(early).next_attempt_at.has_value());
  EXPECT_EQ(JobState::kRetryWait, this->job(late).state);

  ASSERT_TRUE(this->s().shiftRetries(500).ok());  // The wall clock stepped forward.
  EXPECT_EQ(3500, this->s().nextRetryAt().value().value_or(-1));
  EXPECT_EQ(1, this->s().clampRetries(2000).value());
  EXPECT_EQ(2000, this->job(late).next_attempt_at.value_or(-1));
  EXPECT_EQ(1, this->s().promoteDueRetries(2000).value());
  EXPECT_FALSE(this->s().nextRetryAt().value().has_value());
}

TYPED_TEST(StoreContractTest, DeadlinesAreThoseOfWaitingJobsEarliestFirst) {
  auto with_deadline = [this](JobState state, int64_t at) {
    JobRecord j = this->makeJob("alice", 0, state);
    j.deadline_at = at;
    return this->enqueue(j);
  };
  const int64_t queued = with_deadline(JobState::kQueued, 300);
  const int64_t held = with_deadline(JobState::kHeld, 100);
  const int64_t retry = with_deadline(JobState::kRetryWait, 200);
  with_deadline(JobState::kRunning, 50);    // Not waiting: the runner's own timer.
  with_deadline(JobState::kSucceeded, 10);  // Ended.
  EXPECT_EQ(100, this->s().nextDeadline().value().value_or(-1));
  auto due = this->s().dueDeadlines(250, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(2u, due->size());
  EXPECT_EQ(held, (*due)[0].id);
  EXPECT_EQ(retry, (*due)[1].id);
  auto one = this->s().dueDeadlines(1000, 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(1u, one->size());
  EXPECT_EQ(held, (*one)[0].id);
  auto all = this->s().dueDeadlines(1000, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(3u, all->size());
  EXPECT_EQ(queued, (*all)[2].id);
}

TYPED_TEST(StoreContractTest, UsageByClientCountsUnfinishedJobsAndStoredBytes) {
  JobRecord j = this->makeJob("alice:a");
  j.request_json = std::string(100, 'x');
  this->enqueue(j);
  this->enqueue(j);
  this->spend("alice:a", 0.01, kNov1);
  this->enqueue("bob");
  auto rows = this->s().usageByClient();
  ASSERT_TRUE(rows.ok());
  std::map<std::string, ClientUsage> by;
  for (const ClientUsage& u : *rows) {
    by[u.client] = u;
  }
  ASSERT_EQ(2u, by.size());
  EXPECT_EQ(2, by["alice:a"].unfinished);
  EXPECT_GE(by["alice:a"].bytes, 200) << "at least the two queued requests";
  EXPECT_EQ(1, by["bob"].unfinished);
}

// --- Usage reports and budget sums ---

TYPED_TEST(StoreContractTest, ReportsGroupAndTotalAndAgreeOnAndOffDayBoundaries) {
  this->spend("alice", 0.5, kNov1 + 1000, {"x"});
  this->spend("alice", 0.25, kNov1 + kDay + 1000, {"x", "y"});
  this->spend("bob", 1.0, kNov1 + kDay + 2000);
  const std::vector<UsageDim> by_client_day{UsageDim::kClient, UsageDim::kDay};
  auto whole = this->s().usageReport(UsageQuery{by_client_day, kNov1, kNov1 + 2 * kDay});
  ASSERT_TRUE(whole.ok()) << whole.error().message;
  ASSERT_EQ(3u, whole->rows.size());
  EXPECT_EQ((std::vector<std::string>{"alice", "2026-11-01"}), whole->rows[0].keys);
  EXPECT_EQ((std::vector<std::string>{"alice", "2026-11-02"}), whole->rows[1].keys);
  EXPECT_EQ((std::vector<std::string>{"bob", "2026-11-02"}), whole->rows[2].keys);
  EXPECT_DOUBLE_EQ(1.0, whole->rows[2].figures.cost_usd);
  EXPECT_EQ(3, whole->totals.requests);
  EXPECT_EQ(30, whole->totals.prompt_tokens);
  EXPECT_DOUBLE_EQ(1.75, whole->totals.cost_usd);

  // The same attempts, asked for with ends inside days.
  auto ragged = this->s().usageReport(UsageQuery{by_client_day, kNov1 + 1500, kNov1 + kDay + 1500});
  ASSERT_TRUE(ragged.ok());
  ASSERT_EQ(1u, ragged->rows.size()) << "alice's first attempt began before the range, bob's after";
  EXPECT_EQ((std::vector<std::string>{"alice", "2026-11-02"}), ragged->rows[0].keys);
  EXPECT_DOUBLE_EQ(0.25, ragged->totals.cost_usd);

  auto tags = this->s().usageReport(UsageQuery{{UsageDim::kTag}, std::nullopt, std::nullopt});
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(3u, tags->rows.size());
  EXPECT_EQ(std::vector<std::string>{""}, tags->rows[0].keys) << "the untagged attempt";
  EXPECT_EQ(1, tags->rows[0].figures.requests);
  EXPECT_EQ(std::vector<std::string>{"x"}, tags->rows[1].keys);
  EXPECT_EQ(2, tags->rows[1].figures.requests);
  EXPECT_EQ(std::vector<std::string>{"y"}, tags->rows[2].keys);
  EXPECT_EQ(3, tags->totals.requests) << "totals count every attempt once";
}

TYPED_TEST(StoreContractTest, BudgetSumsCoverTheirScopeAndPeriod) {
  this->spend("alice:a", 0.5, kNov1 + 1000, {"x"});
  this->spend("alice:b", 0.25, kNov1 + kDay + 1000);
  this->spend("bob", 1.0, kNov1 + kDay + 2000, {"x"});
  auto spent = [this](SpendScope::Kind kind, const std::string& value, int64_t since, int64_t until) {
    auto r = this->s().spent(SpendScope{kind, value}, since, until);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : -1.0;
  };
  EXPECT_DOUBLE_EQ(1.75, spent(SpendScope::kGlobal, "", kNov1, INT64_MAX));
  EXPECT_DOUBLE_EQ(1.25, spent(SpendScope::kGlobal, "", kNov1 + kDay, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.75, spent(SpendScope::kUser, "alice", 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.25, spent(SpendScope::kClient, "alice:b", 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(1.5, spent(SpendScope::kTag, "x", 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(1.75, spent(SpendScope::kModel, "mock/demo", 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.0, spent(SpendScope::kModel, "other", 0, INT64_MAX));
  EXPECT_DOUBLE_EQ(0.5, spent(SpendScope::kGlobal, "", kNov1, kNov1 + kDay));
}

// --- Budgets ---

TYPED_TEST(StoreContractTest, BudgetsArePutReplacedAlertedAndRemoved) {
  BudgetRow day{"global", "day", 5.0, {0.5, 0.9}, "reject", kNov1, 0, {}};
  BudgetRow tag{"tag:x", "month", 20.0, {}, "hold", kNov1, 0, {}};
  ASSERT_TRUE(this->s().putBudget(day).ok());
  ASSERT_TRUE(this->s().putBudget(tag).ok());
  day.limit_usd = 7.5;
  ASSERT_TRUE(this->s().putBudget(day).ok());  // Same scope and period: replaced.
  ASSERT_TRUE(this->s().setBudgetAlerted("global", "day", kNov1, {0.5}).ok());

  auto rows = this->s().budgets();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(2u, rows->size());
  std::map<std::string, BudgetRow> by;
  for (const BudgetRow& r : *rows) {
    by[r.scope] = r;
  }
  EXPECT_DOUBLE_EQ(7.5, by["global"].limit_usd);
  EXPECT_EQ((std::vector<double>{0.5, 0.9}), by["global"].alert_at);
  EXPECT_EQ("reject", by["global"].action);
  EXPECT_EQ(kNov1, by["global"].alerted_period);
  EXPECT_EQ(std::vector<double>{0.5}, by["global"].alerted);
  EXPECT_EQ("month", by["tag:x"].period);
  EXPECT_EQ("hold", by["tag:x"].action);

  EXPECT_TRUE(this->s().removeBudget("tag:x", "month").value());
  EXPECT_FALSE(this->s().removeBudget("tag:x", "month").value());
  EXPECT_FALSE(this->s().removeBudget("global", "week").value());
  EXPECT_EQ(1u, this->s().budgets().value().size());
}

// --- The turn contract ---

TYPED_TEST(StoreContractTest, OthersSeeATurnOnlyOnceItCommitsAndThenAllOfIt) {
  Store& other = this->backend_.other();
  ASSERT_TRUE(this->s().begin().ok());
  EXPECT_TRUE(this->s().inTransaction());
  const int64_t id = this->enqueue("alice");
  ASSERT_TRUE(this->s().putBudget(BudgetRow{"global", "total", 1.0, {}, "reject", kNov1, 0, {}}).ok());
  EXPECT_TRUE(this->exists(this->s(), id)) << "the turn reads its own writes";
  EXPECT_FALSE(this->exists(other, id));
  EXPECT_TRUE(other.budgets().value().empty());
  ASSERT_TRUE(this->s().commit().ok());
  EXPECT_FALSE(this->s().inTransaction());
  EXPECT_TRUE(this->exists(other, id));
  EXPECT_EQ(1u, other.budgets().value().size());
}

TYPED_TEST(StoreContractTest, ARolledBackTurnStoresNothingOfIt) {
  const int64_t before = this->enqueue("alice");
  ASSERT_TRUE(this->s().begin().ok());
  const int64_t id = this->enqueue("bob");
  std::optional<JobRecord> j = this->pick();
  ASSERT_TRUE(j.has_value());
  this->claim(*j, kNov1);
  ASSERT_TRUE(this->s().putBudget(BudgetRow{"global", "total", 1.0, {}, "reject", kNov1, 0, {}}).ok());
  this->s().rollback();
  EXPECT_FALSE(this->s().inTransaction());
  EXPECT_FALSE(this->exists(this->s(), id));
  EXPECT_EQ(JobState::kQueued, this->job(before).state) << "the claim is gone with its turn";
  EXPECT_EQ(0, this->job(before).attempts);
  EXPECT_TRUE(this->s().budgets().value().empty());
  EXPECT_EQ(1, this->count(JobState::kQueued));
}

TYPED_TEST(StoreContractTest, ACrashLosesTheOpenTurnWholeAndKeepsWhatCommitted) {
  const int64_t acked = this->enqueue("alice");
  ASSERT_TRUE(this->s().begin().ok());
  JobRecord j = this->job(acked);
  this->claim(j, kNov1);
  const int64_t unacked = this->enqueue("bob");
  // llmqd dies here: the store is closed without a commit and opened again.
  ASSERT_TRUE(this->backend_.open());
  EXPECT_FALSE(this->s().inTransaction());
  EXPECT_EQ(JobState::kQueued, this->job(acked).state) << "acknowledged: committed before the crash";
  EXPECT_FALSE(this->exists(this->s(), unacked)) << "never acknowledged";
  auto recovered = this->s().recoverInterrupted(kNov1 + 1);
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(0, recovered->requeued) << "the lost claim left nothing running";
}

}  // namespace
}  // namespace llmq::store

namespace llmq::store {
namespace {

// --- How models perform ---

TYPED_TEST(StoreContractTest, TheLedgersSamplesAreTheEndedAttemptsNewestFirstAndTheDaysGroupThem) {
  const int64_t at = kNov1 + kDay / 2;
  for (int i = 0; i < 3; ++i) {
    JobRecord j = this->job(this->enqueue("alice"));
    AttemptRecord a = this->claim(j, at + i * 1000);
    a.latency_ms = 100 * (i + 1);
    this->succeed(j, a, 0.25, at + i * 1000);
  }
  JobRecord running = this->job(this->enqueue("bob"));
  this->claim(running, at + 5000);  // Still running: not a sample.
  JobRecord failed = this->job(this->enqueue("bob"));
  AttemptRecord fa = this->claim(failed, kNov1 + kDay + 1);  // The next day.
  fa.finished_at = kNov1 + kDay + 2;
  fa.outcome = "failed";
  fa.error_code = "UPSTREAM_ERROR";
  failed.state = JobState::kFailed;
  ASSERT_TRUE(this->s().recordOutcome(failed, fa).ok());

  std::vector<AttemptSample> seen;
  ASSERT_TRUE(this->s().attemptSamples(at, 10, [&](const AttemptSample& s) { seen.push_back(s); }).ok());
  ASSERT_EQ(4u, seen.size());
  EXPECT_FALSE(seen[0].succeeded) << "newest first";
  EXPECT_EQ("mock", seen[1].provider);
  EXPECT_EQ("mock/demo", seen[1].model);
  EXPECT_TRUE(seen[1].succeeded);
  EXPECT_EQ(300, seen[1].latency_ms.value_or(-1));
  EXPECT_EQ(15, seen[1].tokens);
  EXPECT_DOUBLE_EQ(0.25, seen[1].cost_usd);
  seen.clear();
  ASSERT_TRUE(this->s().attemptSamples(at + 1, 2, [&](const AttemptSample& s) { seen.push_back(s); }).ok());
  EXPECT_EQ(2u, seen.size()) << "at most the limit";

  auto days = this->s().dailyModelFigures(kNov1, 100);
  ASSERT_TRUE(days.ok());
  EXPECT_EQ(1u, this->s().dailyModelFigures(kNov1, 1)->size()) << "at most the limit";
  ASSERT_TRUE(days.ok());
  ASSERT_EQ(2u, days->size());
  EXPECT_EQ("2026-11-01", (*days)[0].day);
  EXPECT_EQ(3, (*days)[0].requests);
  EXPECT_EQ(3, (*days)[0].successes);
  EXPECT_DOUBLE_EQ(200, (*days)[0].mean_latency_ms.value_or(-1));
  EXPECT_DOUBLE_EQ(0.75, (*days)[0].cost_usd);
  EXPECT_EQ(45, (*days)[0].tokens);
  EXPECT_EQ(1, (*days)[1].requests);
  EXPECT_EQ(0, (*days)[1].successes);
}

}  // namespace
}  // namespace llmq::store
