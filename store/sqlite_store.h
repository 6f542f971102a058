// store::SqliteStore: the store::Store of llmqd (store/store.h) on one SQLite
// connection. The turn's transaction is the connection's (BEGIN IMMEDIATE, WAL):
// store::Database keeps a lost turn from being committed in part. The queue, the
// usage, the budgets and the ledger's performance figures are its table classes
// (JobStore, UsageStore, BudgetStore, ModelFiguresStore), each call passed straight through, so the SQL run per job
// is exactly theirs.
//
// The database must be open and migrated (store/schema.h) and outlive this
// object. Loop thread only.
#pragma once

#include "store/budget_store.h"
#include "store/job_store.h"
#include "store/model_figures_store.h"
#include "store/store.h"
#include "store/usage_store.h"

namespace llmq::store {

class Database;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Database& db) : db_(db), jobs_(db), usage_(db), budgets_(db), figures_(db) {}

  Result<void> begin() override;
  Result<void> commit() override;
  void rollback() noexcept override;
  bool inTransaction() const override;

  Result<int64_t> enqueue(const JobRecord& job, const std::vector<std::string>& tags) override {
    return jobs_.insert(job, tags);
  }
  Result<std::optional<JobRecord>> getJob(int64_t id) override { return jobs_.get(id); }
  Result<std::optional<int64_t>> findByIdempotencyKey(std::string_view owner, std::string_view key) override {
    return jobs_.findByIdempotencyKey(owner, key);
  }
  Result<void> listJobs(const ListFilter& filter, const std::function<bool(JobRecord&)>& each) override {
    return jobs_.listEach(filter, each);
  }
  Result<void> updateJob(const JobRecord& job) override { return jobs_.update(job); }

  Result<std::optional<int>> topQueuedPriority(int below) override { return jobs_.topQueuedPriority(below); }
  Result<std::optional<std::string>> nextQueuedOwner(int priority, std::string_view after_owner) override {
    return jobs_.nextQueuedOwner(priority, after_owner);
  }
  Result<std::optional<JobRecord>> nextQueued(int priority, std::string_view owner,
                                              std::string_view after_client) override {
    return jobs_.nextQueued(priority, owner, after_client);
  }
  Result<std::optional<JobRecord>> nextQueuedOfClient(int priority, std::string_view owner, std::string_view client,
                                                      int64_t after_id) override {
    return jobs_.nextQueuedOfClient(priority, owner, client, after_id);
  }

  Result<void> insertAttempt(const AttemptRecord& attempt) override { return jobs_.insertAttempt(attempt); }
  Result<void> updateAttempt(const AttemptRecord& attempt) override { return jobs_.updateAttempt(attempt); }
  Result<void> recordOutcome(const JobRecord& job, const AttemptRecord& attempt) override {
    return jobs_.recordOutcome(job, attempt);
  }

  Result<int64_t> releaseHeld() override { return jobs_.releaseHeld(); }
  Result<int64_t> promoteDueRetries(int64_t now_ms) override { return jobs_.promoteDueRetries(now_ms); }
  Result<std::optional<int64_t>> nextRetryAt() override { return jobs_.nextRetryAt(); }
  Result<void> shiftRetries(int64_t delta_ms) override { return jobs_.shiftRetries(delta_ms); }
  Result<int64_t> clampRetries(int64_t latest_ms) override { return jobs_.clampRetries(latest_ms); }
  Result<RecoveryCounts> recoverInterrupted(int64_t now_ms) override { return jobs_.recoverInterrupted(now_ms); }

  Result<std::optional<int64_t>> nextDeadline() override { return jobs_.nextDeadline(); }
  Result<std::vector<JobRecord>> dueDeadlines(int64_t now_ms, int limit) override {
    return jobs_.dueDeadlines(now_ms, limit);
  }

  Result<std::array<int64_t, kJobStateCount>> countByState() override { return jobs_.countByState(); }
  Result<std::vector<ClientUsage>> usageByClient() override { return jobs_.usageByClient(); }

  Result<void> addUsage(const UsageDelta& delta) override { return usage_.add(delta); }
  Result<UsageReport> usageReport(const UsageQuery& query) override { return usage_.report(query); }
  Result<double> spent(const SpendScope& scope, int64_t since_ms, int64_t until_ms) override {
    return usage_.spent(scope, since_ms, until_ms);
  }

  Result<void> attemptSamples(int64_t since_ms, int64_t limit,
                              const std::function<void(const AttemptSample&)>& each) override {
    return figures_.samples(since_ms, limit, each);
  }
  Result<std::vector<DailyModelFigures>> dailyModelFigures(int64_t since_ms, int64_t limit) override {
    return figures_.daily(since_ms, limit);
  }

  Result<std::vector<BudgetRow>> budgets() override { return budgets_.all(); }
  Result<void> putBudget(const BudgetRow& row) override { return budgets_.put(row); }
  Result<bool> removeBudget(const std::string& scope, const std::string& period) override {
    return budgets_.remove(scope, period);
  }
  Result<void> setBudgetAlerted(const std::string& scope, const std::string& period, int64_t period_start,
                                const std::vector<double>& fractions) override {
    return budgets_.setAlerted(scope, period, period_start, fractions);
  }

 private:
  Database& db_;
  JobStore jobs_;
  UsageStore usage_;
  BudgetStore budgets_;
  ModelFiguresStore figures_;
};

}  // namespace llmq::store
