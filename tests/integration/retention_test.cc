// Integration: retention. Finished jobs lose their request and result bodies
// after [retention] finished_jobs_days; their rows, usage and the ledger stay,
// and a pruned job cannot be retried. Ledger rows older than ledger_days go, and
// usage reports and budgets say exactly what they said before, also after a
// restart. Under a steady load the database file does not keep growing: pruned
// pages go back to the file system (incremental vacuum).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "store/database.h"
#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace llmq::testing {
namespace {

TEST(RetentionTest, OldFinishedJobsLoseTheirBodiesButNotTheirAccounts) {
  TempDir dir;
  // 0.00001 days is 864 ms; look every 100 ms.
  DaemonProcess daemon(dir.path(), {.config_toml = "[retention]\nfinished_jobs_days = 0.00001\ncheck_s = 0.1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  std::vector<std::string> ids;
  ids.reserve(3);
  for (int i = 0; i < 3; ++i) {
    ids.push_back(submit(*client, "mock/old"));
  }
  std::string failed = submit(*client, "mock/fail-400");
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client, id));
  }
  ASSERT_EQ("failed", waitTerminal(*client, failed));
  json::Document fresh = callOk(*client, "job.get", "{\"job_id\":\"" + ids[0] + "\"}");
  ASSERT_TRUE(fresh["result"].IsObject()) << "not pruned yet";
  const double cost = fresh["usage"]["cost_usd"].GetDouble();

  json::Document old;
  for (int waited = 0; waited < 5000; waited += 50) {
    old = callOk(*client, "job.get", "{\"job_id\":\"" + ids[0] + "\"}");
    if (old.HasMember("pruned")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(old.HasMember("pruned")) << json::toString(old);
  EXPECT_TRUE(old["result"].IsNull());
  EXPECT_STREQ("succeeded", old["state"].GetString());
  EXPECT_EQ(cost, old["usage"]["cost_usd"].GetDouble()) << "the account stays";
  json::Document report = callOk(*client, "usage.report", "{}");
  EXPECT_EQ(4, report["totals"]["requests"].GetInt()) << "the ledger stays";
  // A pruned failed job cannot be retried: its request is gone.
  for (int waited = 0; waited < 5000; waited += 50) {
    if (callOk(*client, "job.get", "{\"job_id\":\"" + failed + "\"}").HasMember("pruned")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string message;
  EXPECT_EQ(-32004, callError(*client, "job.retry", "{\"job_id\":\"" + failed + "\"}", &message));
  EXPECT_NE(std::string::npos, message.find("pruned")) << message;
  // New jobs run as ever.
  EXPECT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/new")));
}

constexpr int64_t kDayMs = 86'400'000;

// Opens the daemon's database beside it.
std::unique_ptr<store::Database> openDb(const DaemonProcess& d) { return openDatabase(d.dbPath()); }

int64_t queryInt(store::Database& db, const std::string& sql) {
  auto v = db.queryInt(sql.c_str());
  EXPECT_TRUE(v.ok()) << sql;
  return v.ok() ? *v : -1;
}

// What the money side says: usage reports over several groupings and ranges,
// and the budgets' spending, as one comparable text.
std::string moneyView(ipc::Client& client, int64_t since_ms) {
  std::string out;
  const std::string since = rfc3339(since_ms);
  for (const std::string& params :
       {std::string("{}"), std::string(R"({"group_by":["day"]})"),
        std::string(R"({"group_by":["model","client"]})"), std::string(R"({"group_by":["tag"]})"),
        std::string(R"({"group_by":["key","day"]})"), R"({"since":")" + since + R"("})",
        R"({"group_by":["client"],"since":")" + since + R"("})"}) {
    json::Document r = callOk(client, "usage.report", params);
    out += params + " -> rows " + json::toString(r["rows"]) + " totals " + json::toString(r["totals"]) + "\n";
  }
  json::Document budgets = callOk(client, "budget.list", "{}");
  for (const auto& b : budgets["budgets"].GetArray()) {
    out += std::string(b["scope"].GetString()) + "/" + b["period"].GetString() + " spent " +
           json::toString(b["spent_usd"]) + "\n";
  }
  return out;
}

TEST(RetentionTest, OldLedgerRowsGoWhileReportsAndBudgetsStayExact) {
  TempDir dir;
  {
    DaemonProcess daemon(dir.path(), {.config_toml = "[retention]\nledger_days = 0\n"});
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    int i = 0;
    for (const char* model : {"mock/a", "mock/b"}) {
      for (const char* who : {"alice", "bob"}) {
        const std::string tags = ++i % 2 == 0 ? R"(["x","y"])" : R"(["x"])";
        std::string id = submit(*client, model, std::string(R"("client":")") + who + R"(","tags":)" + tags,
                                R"("max_tokens":)" + std::to_string(5 + i));
        ASSERT_EQ("succeeded", waitTerminal(*client, id));
      }
    }
    ASSERT_TRUE(daemon.stop());
  }
  {
    // Make those attempts 400 days old, ledger and rollups alike.
    auto db = store::Database::open(dir.file("llmq.db"), store::OpenOptions{});
    ASSERT_TRUE(db.ok());
    const std::string shift = std::to_string(400 * kDayMs);
    for (const std::string& sql :
         {"UPDATE attempts SET started_at = started_at - " + shift + ", finished_at = finished_at - " + shift,
          std::string("UPDATE usage_daily SET day = date(day, '-400 days')"),
          std::string("UPDATE usage_daily_tag SET day = date(day, '-400 days')")}) {
      ASSERT_TRUE((*db)->exec(sql.c_str()).ok()) << sql;
    }
  }
  const std::string keep_all = "[retention]\nledger_days = 0\n";
  std::string before;
  {
    DaemonProcess daemon(dir.path(), {.config_toml = keep_all});
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    for (const char* b : {R"({"scope":"global","period":"total","limit_usd":100})",
                          R"({"scope":"tag:y","period":"total","limit_usd":100})",
                          R"({"scope":"client:alice","period":"total","limit_usd":100})",
                          R"({"scope":"global","period":"month","limit_usd":100})"}) {
      callOk(*client, "budget.set", b);
    }
    // And some recent spending.
    for (const char* who : {"alice", "carol"}) {
      std::string id = submit(*client, "mock/c", std::string(R"("client":")") + who + R"(","tags":["y"])");
      ASSERT_EQ("succeeded", waitTerminal(*client, id));
    }
    ASSERT_TRUE(daemon.stop());
  }
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t since = now() - 3'600'000 - 1234;  // Off a day boundary, after the horizon.
  {
    DaemonProcess daemon(dir.path(), {.config_toml = keep_all});
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    before = moneyView(*client, since);
    ASSERT_TRUE(daemon.stop());
  }
  ASSERT_NE(std::string::npos, before.find("global/total")) << before;
  {
    // Ledger retention on: the old rows go, in batches, on a short check interval.
    DaemonProcess daemon(dir.path(), {.config_toml = "[retention]\nledger_days = 32\ncheck_s = 0.1\n"});
    ASSERT_TRUE(daemon.start());
    auto db = openDb(daemon);
    ASSERT_NE(nullptr, db);
    int64_t left = -1;
    for (int waited = 0; waited < 10000; waited += 50) {
      left = queryInt(*db, "SELECT count(*) FROM attempts");
      if (left == 2) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(2, left) << "only the recent attempts stay in the ledger";
    EXPECT_GT(queryInt(*db, "SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'ledger_horizon_ms'"), 0);
    auto client = daemon.connect();
    EXPECT_EQ(before, moneyView(*client, since)) << "while running";
    ASSERT_TRUE(daemon.stop());
  }
  // Budgets are summed from the store again at start: from the rollups for the
  // pruned days, from the ledger after them.
  DaemonProcess daemon(dir.path(), {.config_toml = "[retention]\nledger_days = 32\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  EXPECT_EQ(before, moneyView(*client, since)) << "after a restart";
  // A report that starts inside a pruned day covers that whole day, and says so.
  const int64_t old_noon = now() - 400 * kDayMs;
  json::Document widened = callOk(*client, "usage.report", R"({"since":")" + rfc3339(old_noon) + R"("})");
  EXPECT_TRUE(widened.HasMember("widened")) << json::toString(widened);
  EXPECT_EQ(rfc3339(old_noon - old_noon % kDayMs), widened["since"].GetString());
  EXPECT_EQ(6, widened["totals"]["requests"].GetInt());
}

// Pruning runs only between the cycles (a SIGHUP switches the retention from a day
// to 864 ms and back), so each cycle's peak holds all of its bodies however fast
// the machine runs them. With pruning on during the load, a slow cycle had part of
// its bodies pruned before its peak was measured, and the next, faster cycle looked
// like growth (579 pages against a bound of 570 on a busy machine).
TEST(RetentionTest, TheFileDoesNotGrowWithoutBoundUnderSteadyLoad) {
  TempDir dir;
  constexpr char kKeep[] = "finished_jobs_days = 1\n";
  constexpr char kPrune[] = "finished_jobs_days = 0.00001\n";  // 864 ms.
  DaemonProcess daemon(dir.path(), {.config_toml = std::string("[retention]\n") + kKeep + "check_s = 0.1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  auto db = openDb(daemon);
  ASSERT_NE(nullptr, db);
  EXPECT_EQ(2, queryInt(*db, "PRAGMA auto_vacuum")) << "incremental";
  int reloads = 0;
  // Rewrites the retention line of llmqd.toml and waits until the daemon applied it.
  auto setRetention = [&](const char* from, const char* to) {
    const std::string path = dir.file("llmqd.toml");
    std::string toml;
    {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      toml = ss.str();
    }
    const size_t at = toml.find(from);
    ASSERT_NE(std::string::npos, at) << toml;
    toml.replace(at, std::strlen(from), to);
    std::ofstream(path, std::ios::trunc) << toml;
    ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
    ++reloads;
    bool applied = false;
    for (int waited = 0; waited < 60000 && !applied; waited += 20) {
      const std::string log = daemon.log();
      int seen = 0;
      for (size_t p = log.find("configuration reloaded"); p != std::string::npos;
           p = log.find("configuration reloaded", p + 1)) {
        ++seen;
      }
      applied = seen >= reloads;
      if (!applied) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    ASSERT_TRUE(applied) << daemon.log();
  };
  const std::string prompt(60'000, 'p');  // About 15 pages per job, freed when pruned.
  // What stays of a job (its row, attempt, indexes) is well under a page.
  constexpr int64_t kKeptPagesPerCycle = 30;
  std::vector<int64_t> loaded;
  std::vector<int64_t> settled;
  for (int cycle = 0; cycle < 4; ++cycle) {
    std::vector<std::string> ids;
    for (int i = 0; i < 30; ++i) {
      json::Document r =
          callOk(*client, "job.submit",
                 R"({"request":{"model":"mock/load","max_tokens":2,"messages":[{"role":"user","content":")" +
                     prompt + std::to_string(cycle * 100 + i) + R"("}]}})");
      ASSERT_TRUE(r.IsObject());
      ids.emplace_back(r["job_id"].GetString());
    }
    for (const std::string& id : ids) {
      ASSERT_EQ("succeeded", waitTerminal(*client, id));
    }
    loaded.push_back(queryInt(*db, "PRAGMA page_count"));
    // Pruned, and the free pages given back.
    ASSERT_NO_FATAL_FAILURE(setRetention(kKeep, kPrune));
    bool clean = false;
    for (int waited = 0; waited < 60000 && !clean; waited += 50) {
      clean = queryInt(*db, "SELECT count(*) FROM jobs WHERE request != ''") == 0 &&
              queryInt(*db, "PRAGMA freelist_count") == 0;
      if (!clean) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_TRUE(clean) << "freelist_count " << queryInt(*db, "PRAGMA freelist_count");
    settled.push_back(queryInt(*db, "PRAGMA page_count"));
    ASSERT_NO_FATAL_FAILURE(setRetention(kPrune, kKeep));
    EXPECT_LT(settled.back() + 300, loaded.back()) << "cycle " << cycle << ": the bodies' pages went back";
  }
  // Each cycle's bodies take the room the last cycle's gave back: the file's peak
  // grows by the rows that stay, not by another cycle of bodies (~450 pages, as
  // measured in cycle 0). How the rows that stay fall into pages depends on how
  // many jobs shared a commit, which a busy machine decides, so the bound is half
  // a cycle of bodies per cycle, and all three cycles together stay under one.
  const int64_t bodies = loaded[0] - settled[0];
  for (size_t i = 1; i < loaded.size(); ++i) {
    EXPECT_LT(loaded[i] - loaded[i - 1], std::max<int64_t>(bodies / 2, kKeptPagesPerCycle))
        << "cycle " << i << ": " << loaded[i] << " pages at its peak vs " << loaded[i - 1];
    EXPECT_LT(settled[i] - settled[i - 1], std::max<int64_t>(bodies / 2, kKeptPagesPerCycle))
        << "cycle " << i << ": " << settled[i] << " pages settled vs " << settled[i - 1];
  }
  EXPECT_LT(loaded.back() - loaded.front(), bodies) << "three cycles grew the file by a cycle of bodies";
}

}  // namespace
}  // namespace llmq::testing
