// bench_usage_report: usage.report grouped by day and model over a ledger of
// --rows attempts (default 1,000,000: --jobs jobs of rows/jobs attempts each,
// spread over 90 days, 20 models, 10 clients, 5 tags). It builds the database
// with the daemon's own store code (JobStore for the ledger, UsageStore for the
// daily rollups, exactly as llmqd writes them), then times, --runs times each:
//   - the report as llmqd answers it (UsageStore::report, whole days: rollups);
//   - the same report off day boundaries (UsageStore::report from the ledger);
//   - baseline: the naive GROUP BY over the ledger, what a gateway without
//     rollups runs.
// Prints medians; checks that all three agree on the total cost.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/support/report.h"
#include "store/database.h"
#include "store/job_store.h"
#include "store/schema.h"
#include "store/transaction.h"
#include "store/usage_store.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kStart = 1'785'542'400'000;  // 2026-08-01T00:00:00Z

struct Options {
  int64_t rows = 1'000'000;
  int64_t attempts_per_job = 10;
  int64_t runs = 7;
};

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_usage_report: %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

int run(const Options& o) {
  testing::TempDir dir;
  auto db = store::Database::open(dir.file("llmq.db"), {});
  if (!db) {
    return fail("opening", db.error());
  }
  if (auto r = store::migrate(**db); !r) {
    return fail("migrating", r.error());
  }
  store::JobStore jobs(**db);
  store::UsageStore usage(**db);
  const char* kTags[] = {"nightly", "eval", "agent", "batch", "ops"};
  const int64_t job_count = o.rows / o.attempts_per_job;
  const double t_build = nowSeconds();
  {
    store::Transaction txn(**db);
    if (auto r = txn.begin(); !r) {
      return fail("begin", r.error());
    }
    for (int64_t j = 0; j < job_count; ++j) {
      const int64_t at = kStart + (j * 90 * kDayMs) / job_count;
      store::JobRecord job;
      job.client = "client-" + std::to_string(j % 10);
      job.model = "vendor/model-" + std::to_string(j % 20);
      std::vector<std::string> tags = {kTags[j % 5]};
      job.tags_json = "[\"" + tags[0] + "\"]";
      job.request_json = "{}";
      job.created_at = at;
      auto id = jobs.insert(job, tags);
      if (!id) {
        return fail("inserting a job", id.error());
      }
      for (int64_t a = 1; a <= o.attempts_per_job; ++a) {
        store::AttemptRecord rec;
        rec.job_id = *id;
        rec.attempt = static_cast<int>(a);
        rec.model = job.model;
        rec.provider = "openrouter";
        rec.started_at = at + a;
        rec.finished_at = at + a + 500;
        rec.outcome = "succeeded";
        rec.http_status = 200;
        rec.usage = store::Usage{100 + a, 50 + j % 7, 150 + a + j % 7, 0.0001 * static_cast<double>(1 + j % 3)};
        rec.client = job.client;
        rec.tags_json = job.tags_json;
        rec.key_fingerprint = "sk-or…000" + std::to_string(j % 4);
        rec.cost_source = "upstream";
        if (auto r = jobs.insertAttempt(rec); !r) {
          return fail("inserting an attempt", r.error());
        }
        store::UsageDelta d;
        d.started_at = rec.started_at;
        d.model = rec.model;
        d.client = rec.client;
        d.key_fp = rec.key_fingerprint;
        d.tags = tags;
        d.prompt_tokens = rec.usage->prompt_tokens;
        d.completion_tokens = rec.usage->completion_tokens;
        d.cost_usd = rec.usage->cost_usd;
        if (auto r = usage.add(d); !r) {
          return fail("adding usage", r.error());
        }
      }
    }
    if (auto r = txn.commit(); !r) {
      return fail("commit", r.error());
    }
  }
  std::printf("bench_usage_report: ledger of %lld attempts (%lld jobs) built in %.1f s\n",
              static_cast<long long>(job_count * o.attempts_per_job), static_cast<long long>(job_count),
              nowSeconds() - t_build);

  const std::vector<store::UsageDim> by = {store::UsageDim::kDay, store::UsageDim::kModel};
  std::vector<double> rollup_ms, ledger_ms, naive_ms;
  double totals[3] = {0, 0, 0};
  size_t rows = 0;
  for (int64_t i = 0; i < o.runs; ++i) {
    double t = nowSeconds();
    auto r = usage.report(store::UsageQuery{by, std::nullopt, std::nullopt});
    rollup_ms.push_back((nowSeconds() - t) * 1000);
    if (!r || !r->from_rollup) {
      return fail("rollup report", r ? Error{ErrorKind::kInternal, "not from the rollup"} : r.error());
    }
    rows = r->rows.size();
    totals[0] = r->totals.cost_usd;

    t = nowSeconds();
    auto l = usage.report(store::UsageQuery{by, int64_t{1}, std::nullopt});
    ledger_ms.push_back((nowSeconds() - t) * 1000);
    if (!l || !l->from_ledger) {
      return fail("ledger report", l ? Error{ErrorKind::kInternal, "did not read the ledger"} : l.error());
    }
    totals[1] = l->totals.cost_usd;

    t = nowSeconds();
    auto st = (*db)->prepare(
        "SELECT strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day, model, count(*), "
        "sum(prompt_tokens), sum(completion_tokens), sum(cost_usd) FROM attempts GROUP BY day, model "
        "ORDER BY day, model");
    if (!st) {
      return fail("naive query", st.error());
    }
    store::Statement q((*db)->handle(), st->get());
    double sum = 0;
    for (;;) {
      auto row = q.step();
      if (!row) {
        return fail("naive query", row.error());
      }
      if (!*row) {
        break;
      }
      sum += q.real(5);
    }
    naive_ms.push_back((nowSeconds() - t) * 1000);
    totals[2] = sum;
  }
  std::printf("report grouped by day and model: %zu rows, %lld runs (medians)\n", rows,
              static_cast<long long>(o.runs));
  auto list = [](const std::vector<double>& v) {
    std::string s;
    for (double x : v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.2f", s.empty() ? "" : " ", x);
      s += buf;
    }
    return s;
  };
  std::printf("  usage.report (daily rollups)       %8.2f ms   (runs: %s)\n", median(rollup_ms),
              list(rollup_ms).c_str());
  std::printf("  usage.report off day boundaries    %8.2f ms   (rollups + ledger rows of the partial day)\n",
              median(ledger_ms));
  std::printf("  baseline: naive GROUP BY on ledger %8.2f ms   ratio %.1fx slower than the rollups\n",
              median(naive_ms), median(naive_ms) / median(rollup_ms));
  std::printf("  target < 200 ms: %s; totals agree: $%.4f / $%.4f / $%.4f\n",
              median(rollup_ms) < 200 ? "met" : "NOT met", totals[0], totals[1], totals[2]);
  const bool agree = std::abs(totals[0] - totals[2]) < 1e-6 && std::abs(totals[1] - totals[2]) < 1e-6;
  return agree ? 0 : 1;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) {
  llmq::bench::Options o;
  if (!llmq::bench::parseFlags(argc, argv, "bench_usage_report",
                               {{"rows", &o.rows, 1000, "ledger rows (default 1000000)"},
                                {"runs", &o.runs, 1, "timed reports of each kind (default 7)"}})) {
    return 2;
  }
  return llmq::bench::run(o);
}
