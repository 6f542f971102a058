// Integration: usage.report, budget.list and models.list page as job.list does:
// a page ends at `limit` rows or at [ipc] max_answer_bytes, next_cursor leads on
// and is null on the last page, every row is listed exactly once even while rows
// are added between pages, and a bad limit or cursor is -32602. The CLI follows
// next_cursor to the end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-test-paging0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f";

// What paging through one list saw.
struct Paged {
  std::vector<std::string> rows;  // The `field` of every row, in the order listed.
  int pages = 0;
  size_t largest_line = 0;  // The longest answer line, envelope included.
};

// Calls `method` with `params` (the inside of an object, may be empty) and then
// with each next_cursor until it is null. `field` names a row; `between(page)`
// runs after each page but the last.
Paged pageThrough(ipc::Client& client, const std::string& method, const std::string& params, const char* array,
                  const char* field, const std::function<void(int)>& between = {}) {
  Paged out;
  std::string cursor;
  for (;;) {
    std::string p = "{" + params;
    if (!cursor.empty()) {
      p += params.empty() ? "\"cursor\":" : ",\"cursor\":";
      json::appendString(p, cursor);
    }
    p += "}";
    auto id = client.send(method, p);
    if (!id) {
      ADD_FAILURE() << method << ": " << id.error().message;
      return out;
    }
    auto line = client.readLine(60000);
    if (!line || !*line) {
      ADD_FAILURE() << method << ": no answer";
      return out;
    }
    out.largest_line = std::max(out.largest_line, (*line)->size());
    json::Document d;
    if (!json::parse(d, **line, nullptr) || !d.IsObject() || !d.HasMember("result")) {
      ADD_FAILURE() << method << " " << p << ": " << **line;
      return out;
    }
    const json::Value& result = d["result"];
    ++out.pages;
    for (const auto& row : result[array].GetArray()) {
      out.rows.emplace_back(row[field].GetString());
    }
    if (result["next_cursor"].IsNull()) {
      return out;
    }
    cursor = result["next_cursor"].GetString();
    if (out.pages > 10000) {
      ADD_FAILURE() << method << ": paging does not end";
      return out;
    }
    if (between) {
      between(out.pages);
    }
  }
}

// How often each row was listed.
std::map<std::string, int> counts(const std::vector<std::string>& rows) {
  std::map<std::string, int> out;
  for (const std::string& r : rows) {
    ++out[r];
  }
  return out;
}

class ListPagingTest : public DaemonFixture {
 protected:
  void start(const std::string& ipc_toml = "", std::vector<std::string> env = {}) {
    launchDaemon({.config_toml = "[ipc]\n" + ipc_toml + "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n",
                  .extra_env = std::move(env)});
  }
  // One finished mock job of client `name`.
  void spend(const std::string& name) {
    std::string extra = "\"wait\":true,\"client\":";
    json::appendString(extra, name);
    json::Document job = callOk(*client_, "job.submit", submitParams("mock/echo", extra));
    EXPECT_STREQ("succeeded", job["state"].GetString()) << name;
  }
  // Waits until usage.report by client has `n` rows, all pages together (the
  // rollups are written in the job's commit; this only rules out a report read
  // before it).
  void waitForUsageRows(size_t n) {
    for (int i = 0; i < 600; ++i) {
      if (pageThrough(*client_, "usage.report", R"("group_by":["client"])", "rows", "client").rows.size() >= n) {
        return;
      }
      usleep(100 * 1000);
    }
    FAIL() << "usage.report never had " << n << " rows";
  }
  void setBudget(const std::string& scope) {
    std::string p = "{\"scope\":";
    json::appendString(p, scope);
    p += ",\"period\":\"month\",\"limit_usd\":100}";
    callOk(*client_, "budget.set", p);
  }
};

TEST_F(ListPagingTest, UsageReportPagesVisitEveryClientOnceWhileClientsAreAdded) {
  start();
  std::set<std::string> names;
  for (int i = 0; i < 30; ++i) {
    names.insert("pg-" + std::to_string(100 + i * 7 % 30));
  }
  for (const std::string& n : names) {
    spend(n);
  }
  waitForUsageRows(names.size());
  // Whole, as before: the default limit takes every row of a usual report.
  json::Document whole = callOk(*client_, "usage.report", R"({"group_by":["client"]})");
  EXPECT_EQ(names.size(), whole["rows"].Size());
  EXPECT_TRUE(whole["next_cursor"].IsNull());

  // Between pages, clients appear that sort before, among and after the rest.
  int added = 0;
  Paged paged =
      pageThrough(*client_, "usage.report", R"("group_by":["client"],"limit":4)", "rows", "client", [&](int page) {
        for (const char* prefix : {"pg-0", "pg-115a", "pg-9"}) {
          spend(prefix + std::to_string(page));
          ++added;
        }
      });
  EXPECT_GE(paged.pages, 8) << "30 clients, 4 a page";
  for (const auto& [name, times] : counts(paged.rows)) {
    EXPECT_EQ(1, times) << name << " listed more than once";
  }
  std::set<std::string> seen(paged.rows.begin(), paged.rows.end());
  for (const std::string& n : names) {
    EXPECT_EQ(1u, seen.count(n)) << n << " was not listed";
  }
  EXPECT_GT(added, 0);
  // Every page answers the same totals, over the whole report.
  EXPECT_TRUE(whole["totals"].IsObject());
}

TEST_F(ListPagingTest, UsageReportPagesByBytes) {
  start("max_answer_bytes = 4096\n");
  std::set<std::string> names;
  for (int i = 0; i < 24; ++i) {
    names.insert("pg-" + std::to_string(i) + "-" + std::string(220, 'n'));
  }
  for (const std::string& n : names) {
    spend(n);
  }
  waitForUsageRows(names.size());
  Paged paged = pageThrough(*client_, "usage.report", R"("group_by":["client","model"])", "rows", "client");
  EXPECT_GE(paged.pages, 3) << "24 rows of ~400 bytes do not fit in 4 KiB";
  // The answer line: the result within max_answer_bytes, and the JSON-RPC envelope.
  EXPECT_LE(paged.largest_line, 4096u + 64) << "a page stays within max_answer_bytes";
  EXPECT_EQ(names, std::set<std::string>(paged.rows.begin(), paged.rows.end()));
  EXPECT_EQ(names.size(), paged.rows.size()) << "each row once";
}

TEST_F(ListPagingTest, BudgetListPagesVisitEveryBudgetOnceWhileBudgetsAreAdded) {
  start();
  std::set<std::string> scopes;
  for (int i = 0; i < 25; ++i) {
    scopes.insert("client:pg-" + std::to_string(10 + i));
    setBudget("client:pg-" + std::to_string(10 + i));
  }
  json::Document whole = callOk(*client_, "budget.list", "{}");
  EXPECT_EQ(scopes.size(), whole["budgets"].Size()) << "the default limit lists them all";
  EXPECT_TRUE(whole["next_cursor"].IsNull());

  Paged paged = pageThrough(*client_, "budget.list", R"("limit":3)", "budgets", "scope", [&](int page) {
    setBudget("client:pg-0" + std::to_string(page));
    setBudget("client:pg-15-" + std::to_string(page));
    setBudget("client:pg-9" + std::to_string(page));
  });
  EXPECT_GE(paged.pages, 9);
  for (const auto& [scope, times] : counts(paged.rows)) {
    EXPECT_EQ(1, times) << scope << " listed more than once";
  }
  std::set<std::string> seen(paged.rows.begin(), paged.rows.end());
  for (const std::string& s : scopes) {
    EXPECT_EQ(1u, seen.count(s)) << s << " was not listed";
  }
}

TEST_F(ListPagingTest, BudgetListPagesByBytes) {
  start("max_answer_bytes = 4096\n");
  std::set<std::string> scopes;
  for (int i = 0; i < 30; ++i) {
    scopes.insert("client:pg-" + std::to_string(i) + "-" + std::string(200, 'b'));
    setBudget("client:pg-" + std::to_string(i) + "-" + std::string(200, 'b'));
  }
  Paged paged = pageThrough(*client_, "budget.list", "", "budgets", "scope");
  EXPECT_GE(paged.pages, 3);
  EXPECT_LE(paged.largest_line, 4096u + 64) << "a page stays within max_answer_bytes";
  EXPECT_EQ(scopes, std::set<std::string>(paged.rows.begin(), paged.rows.end()));
  EXPECT_EQ(scopes.size(), paged.rows.size()) << "each budget once";
}

// A catalog from the upstream much larger than a page: every model is listed
// once, pages by count and by bytes, the first page after a refresh too.
TEST_F(ListPagingTest, ModelsListPagesABigUpstreamCatalog) {
  startFake();
  ASSERT_TRUE(fake_.setExtraModels(3000));
  start("max_answer_bytes = 65536\n", fakeEnv(kKey));
  // A refresh answers with a page too.
  json::Document first = callOk(*client_, "models.list", R"({"refresh":true,"limit":1})");
  ASSERT_EQ(1u, first["models"].Size());
  ASSERT_TRUE(first["next_cursor"].IsString());
  Paged by_bytes = pageThrough(*client_, "models.list", "", "models", "id");
  EXPECT_GE(by_bytes.pages, 5) << "3000 models of ~300 bytes in 64 KiB pages";
  EXPECT_LE(by_bytes.largest_line, 65536u + 64) << "a page stays within max_answer_bytes";
  for (const auto& [id, times] : counts(by_bytes.rows)) {
    EXPECT_EQ(1, times) << id << " listed more than once";
  }
  std::set<std::string> seen(by_bytes.rows.begin(), by_bytes.rows.end());
  for (int i = 0; i < 3000; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "fake/extra-%06d", i);
    ASSERT_EQ(1u, seen.count(id)) << id << " was not listed";
  }
  EXPECT_EQ(1u, seen.count("mock/*")) << "the mock entry comes last, on the last page";
  EXPECT_EQ("mock/*", by_bytes.rows.back());

  Paged by_count = pageThrough(*client_, "models.list", R"("limit":150,"filter":"EXTRA-")", "models", "id");
  EXPECT_EQ(20, by_count.pages);
  EXPECT_EQ(3000u, by_count.rows.size());
  EXPECT_EQ(3000u, std::set<std::string>(by_count.rows.begin(), by_count.rows.end()).size());
  EXPECT_TRUE(fake_.stop());
}

TEST_F(ListPagingTest, ABadLimitOrCursorIsInvalidParams) {
  start();
  for (const char* method : {"usage.report", "budget.list", "models.list"}) {
    for (const char* params : {R"({"limit":0})", R"({"limit":10001})", R"({"limit":"5"})", R"({"cursor":"x"})",
                               R"({"cursor":"[\"a\",1]"})", R"({"cursor":"{}"})", R"({"cursor":7})"}) {
      std::string message;
      EXPECT_EQ(-32602, callError(*client_, method, params, &message)) << method << " " << params;
    }
  }
  std::string message;
  EXPECT_EQ(-32602,
            callError(*client_, "usage.report", R"({"group_by":["client","model"],"cursor":"[\"a\"]"})", &message));
  EXPECT_NE(std::string::npos, message.find("cursor")) << message;
  // The largest limit is taken.
  callOk(*client_, "budget.list", R"({"limit":10000})");
}

// The CLI follows next_cursor: `llmq budget list` and `llmq usage` show every
// row when they take several pages.
TEST_F(ListPagingTest, TheCliFollowsEveryPage) {
  start("max_answer_bytes = 4096\n");
  for (int i = 0; i < 30; ++i) {
    setBudget("client:pg-" + std::to_string(i) + "-" + std::string(200, 'c'));
  }
  for (int i = 0; i < 20; ++i) {
    spend("pg-" + std::to_string(i) + "-" + std::string(220, 'u'));
  }
  waitForUsageRows(20);
  ASSERT_GE(pageThrough(*client_, "budget.list", "", "budgets", "scope").pages, 2);
  ASSERT_GE(pageThrough(*client_, "usage.report", R"("group_by":["client"])", "rows", "client").pages, 2);
  auto llmq = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon_->socketPath()});
    return runCommand(args, "", {}, 30000, /*merge_stderr=*/false);
  };
  auto budgets = llmq({"--json", "budget", "list"});
  ASSERT_EQ(0, budgets.exit_code) << budgets.output;
  json::Document b;
  ASSERT_TRUE(json::parse(b, budgets.output, nullptr)) << budgets.output;
  EXPECT_EQ(30u, b["budgets"].Size());
  EXPECT_TRUE(b["next_cursor"].IsNull());
  auto usage = llmq({"--json", "usage", "--by", "client"});
  ASSERT_EQ(0, usage.exit_code) << usage.output;
  json::Document u;
  ASSERT_TRUE(json::parse(u, usage.output, nullptr)) << usage.output;
  EXPECT_EQ(20u, u["rows"].Size());
  auto table = llmq({"usage", "--by", "client", "--csv"});
  ASSERT_EQ(0, table.exit_code);
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(std::string::npos, table.output.find("pg-" + std::to_string(i) + "-u")) << i;
  }
}

}  // namespace
}  // namespace llmq::testing
