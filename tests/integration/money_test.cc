// Integration: the ledger, usage reports and budgets of a real llmqd against the
// fake OpenRouter, whose usage.cost and /models prices are known (fake/ok: $1 per
// million prompt tokens, $2 per million completion tokens).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/database.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

const std::string kKey = "sk-or-v1-testmoneymoneymoneymoneymoneymoneymoney01";

class MoneyTest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startFake());
    startDaemon("");
  }
  void startDaemon(const std::string& toml, std::vector<std::string> env = {}) {
    for (std::string& e : fakeEnv(kKey)) {
      env.push_back(std::move(e));
    }
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n" + toml, .extra_env = std::move(env)});
    if (client_ == nullptr) {
      return;  // launchDaemon() failed the test.
    }
    // The catalog's first fetch runs in the background; wait for it.
    callOk(*client_, "models.list", R"({"refresh":true})");
  }
  // A fake/ok job of `words` completion tokens; returns the submit result.
  json::Document submitJob(const std::string& extra, int words = 16, const std::string& model = "fake/ok") {
    std::string params = R"({"request":{"model":")" + model +
                         R"(","messages":[{"role":"user","content":"count the words"}],"max_tokens":)" +
                         std::to_string(words) + "}";
    if (!extra.empty()) {
      params += "," + extra;
    }
    params += "}";
    auto r = client_->call("job.submit", params, 10000);
    json::Document d;
    EXPECT_TRUE(r.ok());
    if (r.ok() && r->ok()) {
      d.CopyFrom(*r->result, d.GetAllocator());
    } else if (r.ok()) {
      d.SetObject();
      d.AddMember("error_code", r->error.code, d.GetAllocator());
    }
    return d;
  }
  // Chat completions the fake received (the catalog's GET /models aside).
  size_t completions() {
    size_t n = 0;
    for (const FakeRequest& r : fake_.requests()) {
      n += r.path.find("/chat/completions") != std::string::npos;
    }
    return n;
  }
};

TEST_F(MoneyTest, TheLedgerRecordsEveryAttemptAndReportsAddUp) {
  std::vector<std::string> ids;
  ids.emplace_back(submitJob(R"("client":"alice","tags":["nightly"])", 10)["job_id"].GetString());
  ids.emplace_back(submitJob(R"("client":"bob","tags":["nightly","eval"])", 20)["job_id"].GetString());
  ids.emplace_back(submitJob(R"("client":"alice")", 30)["job_id"].GetString());
  ids.emplace_back(
      submitJob(R"("client":"alice","max_attempts":2)", 5, "fake/fault-fail-once-503")["job_id"].GetString());
  double expected = 0;
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
    expected += job(id)["usage"]["cost_usd"].GetDouble();
  }
  EXPECT_GT(expected, 0);

  json::Document all = callOk(*client_, "usage.report", R"({"group_by":["client"]})");
  EXPECT_STREQ("rollup", all["source"].GetString());
  ASSERT_EQ(2u, all["rows"].Size());
  EXPECT_STREQ("alice", all["rows"][0]["client"].GetString());
  EXPECT_EQ(4, all["rows"][0]["requests"].GetInt()) << "the 503 reached the upstream: a request";
  EXPECT_NEAR(expected, all["totals"]["cost_usd"].GetDouble(), 1e-12);
  EXPECT_EQ(5, all["totals"]["requests"].GetInt());

  json::Document by_tag = callOk(*client_, "usage.report", R"({"group_by":["tag","model"]})");
  std::map<std::string, int> per_tag;
  for (const auto& r : by_tag["rows"].GetArray()) {
    per_tag[r["tag"].GetString()] += r["requests"].GetInt();
  }
  EXPECT_EQ((std::map<std::string, int>{{"", 3}, {"eval", 1}, {"nightly", 2}}), per_tag);

  // An off-day range reads the ledger and agrees.
  json::Document ledger =
      callOk(*client_, "usage.report", R"({"group_by":["day","model"],"since":"2000-01-01T00:00:01Z"})");
  EXPECT_STREQ("ledger", ledger["source"].GetString());
  EXPECT_NEAR(expected, ledger["totals"]["cost_usd"].GetDouble(), 1e-12);
  EXPECT_EQ(-32602, callError(*client_, "usage.report", R"({"group_by":["color"]})"));
  EXPECT_EQ(-32602, callError(*client_, "usage.report", R"({"since":"yesterday"})"));
  // Dates that do not exist are refused, not rolled over into the next month.
  for (const char* bad : {R"({"since":"2026-02-30T00:00:00Z"})", R"({"since":"2026-13-01T00:00:00Z"})",
                          R"({"until":"2026-04-31T00:00:00Z"})", R"({"since":"2026-01-01T25:00:00Z"})",
                          R"({"since":"2025-02-29T00:00:00Z"})", R"({"since":"2026-01-01T00:60:00Z"})"}) {
    EXPECT_EQ(-32602, callError(*client_, "usage.report", bad)) << bad;
  }
  callOk(*client_, "usage.report", R"({"since":"2028-02-29T00:00:00Z"})");

  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement(
      "SELECT count(*), sum(cost_source = 'upstream'), sum(key_fingerprint LIKE 'sk-or%'), "
      "sum(latency_ms IS NOT NULL), sum(client IS NOT NULL), sum(model_asked IS NOT NULL) FROM attempts");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(5, st.int64(0));
  EXPECT_EQ(4, st.int64(1)) << "the successful attempts carry the upstream's cost";
  EXPECT_EQ(5, st.int64(2));
  EXPECT_EQ(5, st.int64(3));
  EXPECT_EQ(5, st.int64(4));
  EXPECT_EQ(5, st.int64(5));
}

// 300 jobs at once against a budget that affords about 100 of them at the fake's
// prices: spending never passes the limit, and the rest are refused (reject) or
// wait in `held` (hold) until the limit is raised.
TEST_F(MoneyTest, ConcurrentJobsNeverOverspendABudget) {
  // One job: "count the words" (3 prompt tokens) + 16 completion tokens at fake/ok
  // prices = $0.000035. 100 of them: $0.0035.
  const double limit = 0.0035;
  callOk(*client_, "budget.set",
         R"({"scope":"global","period":"day","limit_usd":0.0035,"action":"reject","alert_at":[0.5]})");
  callOk(*client_, "events.subscribe", R"({"all":true,"events":["budget_alert"]})");
  int refused_at_submit = 0;
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    json::Document r = submitJob("");
    if (r.HasMember("job_id")) {
      ids.emplace_back(r["job_id"].GetString());
    } else {
      EXPECT_EQ(-32002, r["error_code"].GetInt());
      ++refused_at_submit;
    }
  }
  int succeeded = 0;
  int refused_at_dispatch = 0;
  double spent = 0;
  for (const std::string& id : ids) {
    std::string state = waitTerminal(*client_, id);
    json::Document j = job(id);
    if (state == "succeeded") {
      ++succeeded;
      spent += j["usage"]["cost_usd"].GetDouble();
    } else {
      EXPECT_EQ("failed", state);
      EXPECT_STREQ("BUDGET_EXCEEDED", j["error"]["code"].GetString());
      ++refused_at_dispatch;
    }
  }
  EXPECT_LE(spent, limit + 1e-12);
  EXPECT_EQ(300, succeeded + refused_at_dispatch + refused_at_submit);
  EXPECT_GE(succeeded, 50) << "the budget affords about 100; worst-case reservations use some";
  json::Document budgets = callOk(*client_, "budget.list", "{}");
  ASSERT_EQ(1u, budgets["budgets"].Size());
  EXPECT_NEAR(spent, budgets["budgets"][0]["spent_usd"].GetDouble(), 1e-12);
  EXPECT_EQ(0, budgets["budgets"][0]["reserved_usd"].GetDouble());
  auto alerts = readEvents(
      *client_, [](const Event& e) { return e.name == "budget_alert"; }, 30000);
  ASSERT_FALSE(alerts.empty());
  EXPECT_NE(std::string::npos, alerts.back().data.find("\"fraction\":0.5")) << alerts.back().data;
  EXPECT_EQ(completions(), static_cast<size_t>(succeeded)) << "no refused job reached the upstream";
}

TEST_F(MoneyTest, HeldJobsGoWhenTheLimitIsRaised) {
  callOk(*client_, "budget.set", R"({"scope":"client:batch","period":"month","limit_usd":0.0001,"action":"hold"})");
  std::vector<std::string> ids;
  ids.reserve(8);
  for (int i = 0; i < 8; ++i) {
    ids.emplace_back(submitJob(R"("client":"batch")")["job_id"].GetString());
  }
  std::string other = submitJob(R"("client":"agent")")["job_id"].GetString();
  ASSERT_EQ("succeeded", waitTerminal(*client_, other)) << "another client is not held";
  // $0.0001 affords two jobs at their worst case, then the rest wait in `held`.
  for (int tries = 0; tries < 200; ++tries) {
    json::Document st = callOk(*client_, "daemon.status", "{}");
    if (st["queue"]["held"].GetInt() + st["queue"]["succeeded"].GetInt() == 9 &&
        st["queue"]["running"].GetInt() == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  json::Document st = callOk(*client_, "daemon.status", "{}");
  const int held = st["queue"]["held"].GetInt();
  EXPECT_GE(held, 4);
  json::Document one = job(ids.back());
  EXPECT_STREQ("held", one["state"].GetString());
  EXPECT_STREQ("BUDGET_EXCEEDED", one["error"]["code"].GetString());

  callOk(*client_, "budget.set", R"({"scope":"client:batch","period":"month","limit_usd":1,"action":"hold"})");
  for (const std::string& id : ids) {
    EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  }
  EXPECT_EQ(-32001, callError(*client_, "budget.delete", R"({"scope":"client:nobody","period":"day"})"));
  EXPECT_EQ(-32602, callError(*client_, "budget.set", R"({"scope":"team:x","period":"day","limit_usd":1})"));
  EXPECT_EQ(-32602, callError(*client_, "budget.set", R"({"scope":"global","period":"year","limit_usd":1})"));
  callOk(*client_, "budget.delete", R"({"scope":"client:batch","period":"month"})");
  EXPECT_EQ(0u, callOk(*client_, "budget.list", "{}")["budgets"].Size());
}

TEST_F(MoneyTest, EnvironmentBudgetAndNoPriceMeansNoRun) {
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  startDaemon("", {"OPENROUTER_COST_BUDGET_USD=0.00004"});
  json::Document budgets = callOk(*client_, "budget.list", "{}");
  ASSERT_EQ(1u, budgets["budgets"].Size());
  EXPECT_STREQ("global", budgets["budgets"][0]["scope"].GetString());
  EXPECT_STREQ("month", budgets["budgets"][0]["period"].GetString());
  EXPECT_STREQ("reject", budgets["budgets"][0]["action"].GetString());
  // Dearer than the whole budget at its worst case: refused at submit.
  json::Document big = submitJob("", 4000);
  ASSERT_TRUE(big.HasMember("error_code"));
  EXPECT_EQ(-32002, big["error_code"].GetInt());
  // A model without any price under a budget cannot be kept within it: it fails.
  std::string unpriced = submitJob("", 4, "vendor/unpriced")["job_id"].GetString();
  EXPECT_EQ("failed", waitTerminal(*client_, unpriced));
  EXPECT_STREQ("BUDGET_EXCEEDED", job(unpriced)["error"]["code"].GetString());
  EXPECT_EQ(0u, completions());
}

// GET /key tells each server key's credit; a job whose worst case is more than a
// key has left does not go on that key, and none left means
// OPENROUTER_SYSTEM_KEY_EXHAUSTED. A 401 from /key marks the key invalid.
TEST_F(MoneyTest, KeyCreditIsCheckedShownAndRespected) {
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  const std::string k2 = "sk-or-v1-testsecondsecondsecondsecondsecondsecond02";
  ASSERT_TRUE(fake_.reset());
  ASSERT_TRUE(fake_.setFault("401", 1, "/key"));  // The first key checked is refused.
  startDaemon("[openrouter]\ncredit_check_s = 0.3\n", {"OPENROUTER_API_KEYS=[\"" + k2 + "\"]"});
  json::Document keys;
  for (int i = 0; i < 200; ++i) {
    keys = callOk(*client_, "keys.status", "{}");
    if (keys["pool"].Size() == 2 && keys["pool"][1]["credit"].IsObject()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(2u, keys["pool"].Size());
  EXPECT_STREQ("invalid", keys["pool"][0]["state"].GetString()) << "GET /key answered 401";
  ASSERT_TRUE(keys["pool"][1]["credit"].IsObject()) << json::toString(keys);
  EXPECT_EQ(10.0, keys["pool"][1]["credit"]["limit_usd"].GetDouble());
  EXPECT_EQ(8.75, keys["pool"][1]["credit"]["remaining_usd"].GetDouble());
  for (const FakeRequest& r : fake_.requests()) {
    if (r.path.find("/key") != std::string::npos) {
      EXPECT_EQ(0u, r.header("authorization").find("Bearer sk-or-v1-test")) << "each key asks for itself";
    }
  }

  // A small job goes and its cost comes off the known credit.
  std::string id = submitJob("", 16)["job_id"].GetString();
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  const double cost = job(id)["usage"]["cost_usd"].GetDouble();
  keys = callOk(*client_, "keys.status", "{}");
  EXPECT_NEAR(8.75 - cost, keys["pool"][1]["credit"]["remaining_usd"].GetDouble(), 1e-9);

  // $15 per million completion tokens x 600,000 > $8.75: no key can take it.
  std::string big = submitJob("", 600000, "anthropic/claude-3.5-sonnet")["job_id"].GetString();
  EXPECT_EQ("failed", waitTerminal(*client_, big));
  EXPECT_STREQ("OPENROUTER_SYSTEM_KEY_EXHAUSTED", job(big)["error"]["code"].GetString());
}

// A stream that sent its usage chunk and then broke (no [DONE]) failed, but the
// upstream billed it: the ledger, the report and the budgets count that cost.
TEST_F(MoneyTest, FailedAttemptsThatWereBilledAreBilled) {
  const std::string params = R"({"request":{"model":"fake/fault-no-done","stream":true,"max_tokens":12,)"
                             R"("messages":[{"role":"user","content":"billed anyway"}]},"max_attempts":1})";
  std::string id = callOk(*client_, "job.submit", params)["job_id"].GetString();
  ASSERT_EQ("failed", waitTerminal(*client_, id));
  json::Document report = callOk(*client_, "usage.report", "{}");
  const double cost = report["totals"]["cost_usd"].GetDouble();
  EXPECT_NEAR((2 + 12 * 2) * 1e-6, cost, 1e-12) << "2 prompt + 12 completion tokens at fake prices";
  EXPECT_EQ(1, report["totals"]["requests"].GetInt());
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement("SELECT outcome, cost_usd, cost_source FROM attempts");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ("failed", st.string(0));
  EXPECT_NEAR(cost, st.real(1), 1e-12);
  EXPECT_EQ("upstream", st.string(2));
}

// The opt-in response cache: an identical deterministic request is answered from
// SQLite at cost 0, recorded in the ledger as cached; anything else goes upstream.
TEST_F(MoneyTest, IdenticalDeterministicRequestsComeFromTheCache) {
  auto cached = [&](const std::string& extra, const std::string& request_extra) {
    std::string params =
        R"({"request":{"model":"fake/ok","messages":[{"role":"user","content":"same question"}],"max_tokens":8)" +
        request_extra + "}" + (extra.empty() ? "" : "," + extra) + "}";
    json::Document r = callOk(*client_, "job.submit", params);
    std::string id = r["job_id"].GetString();
    EXPECT_EQ("succeeded", waitTerminal(*client_, id));
    return id;
  };
  std::string first = cached(R"("cache":true)", R"(,"temperature":0)");
  std::string second = cached(R"("cache":true,"subscribe":true)", R"(,"temperature":0)");
  EXPECT_EQ(1u, completions()) << "the second came from the cache";
  json::Document a = job(first);
  json::Document b = job(second);
  EXPECT_EQ(json::toString(a["result"]), json::toString(b["result"]));
  EXPECT_GT(a["usage"]["cost_usd"].GetDouble(), 0);
  EXPECT_EQ(0, b["usage"]["cost_usd"].GetDouble());
  EXPECT_EQ(a["usage"]["completion_tokens"].GetInt(), b["usage"]["completion_tokens"].GetInt());

  cached(R"("cache":true)", R"(,"temperature":0.7)");              // Not deterministic.
  cached("", R"(,"temperature":0)");                               // Did not opt in.
  cached(R"("cache":true)", R"(,"temperature":0,"stream":true)");  // Streamed.
  EXPECT_EQ(4u, completions());

  json::Document report = callOk(*client_, "usage.report", R"({"group_by":["model"]})");
  EXPECT_EQ(4, report["totals"]["requests"].GetInt()) << "a cache hit is not an upstream request";
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement(
      "SELECT count(*), sum(cost_usd), min(provider), min(cost_source) FROM attempts WHERE cached = 1");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(1, st.int64(0));
  EXPECT_EQ(0.0, st.real(1));
  EXPECT_EQ("cache", st.string(2));
  EXPECT_EQ("cache", st.string(3));
}

TEST_F(MoneyTest, TheCacheSwitchAndItsTtl) {
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  // The hit is only asserted when the second lookup certainly came within ttl_s
  // of the first answer being cached (the whole exchange took less): on a busy
  // machine a fixed ttl could pass between the two jobs.
  constexpr double kTtlS = 2.0;
  startDaemon("[cache]\nenabled = true\nttl_s = 2\n");
  const std::string params =
      R"({"request":{"model":"fake/ok","temperature":0,"messages":[{"role":"user","content":"q"}]}})";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ("succeeded", waitTerminal(*client_, callOk(*client_, "job.submit", params)["job_id"].GetString()));
  }
  if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < kTtlS) {
    EXPECT_EQ(1u, completions()) << "enabled: no cache:true needed";
  }
  const size_t before = completions();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(kTtlS * 1000) + 300));
  EXPECT_EQ("succeeded", waitTerminal(*client_, callOk(*client_, "job.submit", params)["job_id"].GetString()));
  EXPECT_EQ(before + 1, completions()) << "expired after ttl_s";
}

// `llmq usage` and `llmq budget` render what the daemon reports.
TEST_F(MoneyTest, CliShowsUsageAndManagesBudgets) {
  auto llmq = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon_->socketPath()});
    return runCommand(args, "", {}, 30000, /*merge_stderr=*/false);
  };
  ASSERT_EQ("succeeded",
            waitTerminal(*client_, submitJob(R"("client":"cli","tags":["a,b"])")["job_id"].GetString()));
  auto table = llmq({"usage", "--by", "client,model"});
  EXPECT_EQ(0, table.exit_code);
  EXPECT_NE(std::string::npos, table.output.find("CLIENT")) << table.output;
  EXPECT_NE(std::string::npos, table.output.find("cli")) << table.output;
  EXPECT_NE(std::string::npos, table.output.find("TOTAL")) << table.output;
  auto csv = llmq({"usage", "--by", "tag", "--csv"});
  EXPECT_EQ(0, csv.exit_code);
  EXPECT_EQ(0u, csv.output.find("tag,requests,prompt_tokens,completion_tokens,cost_usd\n")) << csv.output;
  EXPECT_NE(std::string::npos, csv.output.find("\"a,b\",1,")) << "quoted per RFC 4180: " << csv.output;
  auto days = llmq({"usage", "--by", "day", "--days", "7"});
  EXPECT_EQ(0, days.exit_code);
  EXPECT_NE(std::string::npos, days.output.find("\u2588")) << days.output;
  EXPECT_EQ(2, llmq({"usage", "--since", "last tuesday"}).exit_code);

  auto set = llmq({"budget", "set", "client:cli", "week", "2.5", "--alert", "0.5,0.9", "--action", "hold"});
  EXPECT_EQ(0, set.exit_code) << set.output;
  auto list = llmq({"--json", "budget", "list"});
  EXPECT_EQ(0, list.exit_code);
  json::Document d;
  ASSERT_TRUE(json::parse(d, list.output, nullptr)) << list.output;
  ASSERT_EQ(1u, d["budgets"].Size());
  EXPECT_STREQ("hold", d["budgets"][0]["action"].GetString());
  EXPECT_EQ(2u, d["budgets"][0]["alert_at"].Size());
  EXPECT_EQ(0, llmq({"budget", "delete", "client:cli", "week"}).exit_code);
  EXPECT_EQ(1, llmq({"budget", "delete", "client:cli", "week"}).exit_code) << "no such budget";
  EXPECT_EQ(2, llmq({"budget", "set", "global", "day"}).exit_code);
}

}  // namespace
}  // namespace llmq::testing
