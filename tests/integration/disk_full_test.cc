// Integration: a full database. With [store] max_page_count at the file's size
// (SQLite's stand-in for a full disk), submits fail with -32006 while reads and a
// running job's stream go on; a job that ends meanwhile keeps its outcome in
// memory (still `running` in the store, its final events and `wait` answer held)
// and it is stored, announced and answered once a SIGHUP lifts the cap, with no
// restart. If llmqd stops first, the next start recovers that job like one a
// crash interrupted.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kQuiet[] = "[catalog]\nrefresh_at_start = false\nrefresh_s = 0\n[openrouter]\ncredit_check_s = 0\n";

std::string config(int64_t max_page_count) {
  return std::string(kQuiet) + "[store]\nmax_page_count = " + std::to_string(max_page_count) + "\n";
}

// Rewrites llmqd.toml and sends SIGHUP; waits until llmqd says it reloaded.
::testing::AssertionResult reload(const TempDir& dir, const DaemonProcess& d, const std::string& toml) {
  const size_t from = d.log().size();
  std::ofstream(dir.file("llmqd.toml")) << toml;
  if (::kill(d.pid(), SIGHUP) != 0) {
    return ::testing::AssertionFailure() << "kill(SIGHUP) failed";
  }
  return d.waitForLog("configuration reloaded", from, 30000);
}

// A long streamed mock answer (a result far larger than a page), quick chunks.
constexpr char kLongStream[] =
    R"("stream":true,"mock":{"tokens":6000,"tokens_per_chunk":30,"chunk_delay_ms":10,"first_chunk_delay_ms":0})";

// A submit whose request needs new pages (64 KiB of prompt).
std::string bigSubmitParams() {
  return R"({"request":{"model":"mock/big","max_tokens":2,"messages":[{"role":"user","content":")" +
         std::string(65536, 'x') + R"("}]}})";
}

// Events that arrive within `ms`, without failing the test when none do.
std::vector<Event> eventsFor(ipc::Client& client, int ms) {
  std::vector<Event> events;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      return events;
    }
    auto line = client.nextNotification(left);
    if (!line || !line->has_value()) {
      continue;
    }
    json::Document d;
    if (json::parse(d, **line, nullptr) && d.HasMember("params")) {
      const json::Value& p = d["params"];
      events.push_back(
          Event{p["job_id"].GetString(), p["event"].GetString(), p["seq"].GetInt64(), json::toString(p["data"])});
    }
  }
}

int64_t unsavedOutcomes(ipc::Client& client) {
  json::Document st = callOk(client, "daemon.status", "{}");
  return st.IsObject() ? st["storage"]["unsaved_outcomes"].GetInt64() : -1;
}

bool waitUnsaved(ipc::Client& client, int64_t n, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (unsavedOutcomes(client) == n) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(DiskFullTest, SubmitsFailReadsAndStreamsGoOnAndRoomComesBackWithoutARestart) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = config(0)});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  const std::string done = submit(*client, "mock/before");
  ASSERT_EQ("succeeded", waitTerminal(*client, done));

  // A long stream, followed by `watcher`; `waiter` waits for its end (wait: true).
  auto watcher = daemon.connect();
  auto waiter = daemon.connect();
  const std::string stream = submit(*watcher, "mock/stream", R"("subscribe":true)", kLongStream);
  ASSERT_FALSE(stream.empty());
  ASSERT_FALSE(readEvents(*watcher, [](const Event& e) { return e.name == "message_chunk"; }).empty());
  json::Document waited;
  std::thread wait_thread([&] {
    waited =
        callOk(*waiter, "job.submit",
               R"({"request":{"model":"mock/stream","messages":[{"role":"user","content":"hello from a test"}],)" +
                   std::string(kLongStream) + R"(},"idempotency_key":"stream-wait","wait":true})",
               60000);
  });

  bool both_running = false;
  for (int i = 0; i < 500 && !both_running; ++i) {
    json::Document st = callOk(*client, "daemon.status", "{}");
    both_running = st["queue"]["running"].GetInt64() == 2;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(both_running);

  // The disk fills up (the cap holds the file at its current size).
  ASSERT_TRUE(reload(dir, daemon, config(1)));
  EXPECT_NE(std::string::npos, daemon.log().find("database capped at")) << daemon.log();

  // Submits that need room fail with -32006, and say why.
  std::string message;
  EXPECT_EQ(-32006, callError(*client, "job.submit", bigSubmitParams(), &message));
  EXPECT_NE(std::string::npos, message.find("full")) << message;
  // Reads go on.
  json::Document job = callOk(*client, "job.get", "{\"job_id\":\"" + done + "\"}");
  EXPECT_STREQ("succeeded", job["state"].GetString());
  json::Document list = callOk(*client, "job.list", "{}");
  EXPECT_GE(list["jobs"].Size(), 2u);
  json::Document status = callOk(*client, "daemon.status", "{}");
  EXPECT_GE(status["storage"]["failed_commits"].GetInt64(), 1);
  callOk(*client, "usage.report", "{}");

  // The stream goes on to its end; its outcome cannot be stored, so it is held:
  // chunks arrive, the final events do not, the store still says running.
  std::vector<Event> streamed;
  for (int i = 0; i < 400 && unsavedOutcomes(*client) < 2; ++i) {
    for (const Event& e : eventsFor(*watcher, 50)) {
      streamed.push_back(e);
    }
  }
  ASSERT_EQ(2, unsavedOutcomes(*client)) << "both streams end with nowhere to store them\n" << daemon.log();
  for (const Event& e : eventsFor(*watcher, 300)) {
    streamed.push_back(e);
  }
  ASSERT_GT(streamed.size(), 10u) << "the stream kept flowing while the disk was full";
  for (const Event& e : streamed) {
    EXPECT_EQ("message_chunk", e.name) << "nothing final is announced before it is stored: " << e.data;
  }
  for (size_t i = 1; i < streamed.size(); ++i) {
    EXPECT_EQ(streamed[i - 1].seq + 1, streamed[i].seq) << "no chunk was lost";
  }
  json::Document held = callOk(*client, "job.get", "{\"job_id\":\"" + stream + "\"}");
  EXPECT_STREQ("running", held["state"].GetString());
  EXPECT_EQ(-32006, callError(*client, "job.cancel", "{\"job_id\":\"" + stream + "\"}", &message));
  EXPECT_NE(std::string::npos, message.find("not stored yet")) << message;
  EXPECT_FALSE(waited.IsObject()) << "the waiter is not answered before the outcome is stored";

  // Room again: no restart. The held outcomes are stored, announced, answered.
  ASSERT_TRUE(reload(dir, daemon, config(0)));
  std::vector<Event> rest = readEvents(
      *watcher, [](const Event& e) { return e.name == "final_response"; }, 10000);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ("final_response", rest.back().name);
  EXPECT_EQ(streamed.back().seq + 1, rest.front().seq) << "the final events follow the chunks";
  wait_thread.join();
  ASSERT_TRUE(waited.IsObject());
  EXPECT_STREQ("succeeded", waited["state"].GetString());
  EXPECT_TRUE(waited["result"].IsObject());
  json::Document stored = callOk(*client, "job.get", "{\"job_id\":\"" + stream + "\"}");
  EXPECT_STREQ("succeeded", stored["state"].GetString());
  EXPECT_EQ(6000, stored["usage"]["completion_tokens"].GetInt64());
  EXPECT_EQ(0, unsavedOutcomes(*client));
  json::Document counts = callOk(*client, "daemon.status", "{}");
  EXPECT_EQ(0, counts["queue"]["running"].GetInt64()) << "counters follow the stored outcomes";
  EXPECT_EQ(3, counts["queue"]["succeeded"].GetInt64());
  json::Document report = callOk(*client, "usage.report", "{}");
  EXPECT_EQ(3, report["totals"]["requests"].GetInt64()) << "the ledger and rollups have every attempt";

  // And submits work again.
  json::Document big = callOk(*client, "job.submit", bigSubmitParams());
  ASSERT_TRUE(big.IsObject());
  EXPECT_EQ("succeeded", waitTerminal(*client, big["job_id"].GetString()));
  EXPECT_TRUE(daemon.stop());
}

TEST(DiskFullTest, AnOutcomeStillUnstoredAtStopIsRecoveredAtTheNextStart) {
  TempDir dir;
  std::string stream;
  {
    DaemonProcess daemon(dir.path(), {.config_toml = config(0)});
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    stream = submit(*client, "mock/stream", "", kLongStream);
    ASSERT_FALSE(stream.empty());
    for (int i = 0; i < 200; ++i) {
      json::Document j = callOk(*client, "job.get", "{\"job_id\":\"" + stream + "\"}");
      if (std::string(j["state"].GetString()) == "running") {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(reload(dir, daemon, config(1)));
    ASSERT_TRUE(waitUnsaved(*client, 1, 20000)) << daemon.log();
    EXPECT_TRUE(daemon.stop());
    EXPECT_NE(std::string::npos, daemon.log().find("stopping without storing the outcome of job " + stream))
        << daemon.log();
  }
  // The store still said running: the next start queues it again (on_restart
  // "requeue", the default) and it runs to its end.
  DaemonProcess again(dir.path(), {.config_toml = config(0)});
  ASSERT_TRUE(again.start());
  auto client = again.connect();
  EXPECT_EQ("succeeded", waitTerminal(*client, stream, 30000));
  json::Document j = callOk(*client, "job.get", "{\"job_id\":\"" + stream + "\"}");
  EXPECT_EQ(2, j["attempts"].GetInt64()) << "the interrupted attempt stays in the ledger";
}

// budget.set, budget.delete and queue.pause change the daemon's memory along
// with their write. When the turn holding that write is lost, the caller gets
// -32006 and the change must be gone from memory too, not only from the file.
TEST(DiskFullTest, ABudgetOrPauseChangeWhoseTurnIsLostIsTakenBack) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = config(0)});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  callOk(*client, "budget.set", R"({"scope":"client:a","period":"day","limit_usd":5})");
  ASSERT_TRUE(reload(dir, daemon, config(1)));

  // One small write, so one read and one turn: the changes, then a submit that
  // needs new pages (12 KiB of prompt: overflow pages). SQLite rolls the whole
  // turn back, the changes' writes with it. Returns the changes' answers.
  auto inALostTurn = [&](const std::vector<std::pair<std::string, std::string>>& changes) {
    std::string lines;
    int id = 900;
    for (const auto& [method, params] : changes) {
      lines += R"({"jsonrpc":"2.0","id":)" + std::to_string(++id) + R"(,"method":")" + method + R"(","params":)" +
               params + "}\n";
    }
    lines += R"({"jsonrpc":"2.0","id":999,"method":"job.submit","params":{"request":{"model":"mock/big",)"
             R"("max_tokens":2,"messages":[{"role":"user","content":")" +
             std::string(12288, 'x') + "\"}]}}}\n";
    EXPECT_TRUE(client->sendRaw(lines));
    std::vector<int> codes(changes.size(), 1);  // 1: no answer.
    for (size_t answers = 0; answers <= changes.size();) {
      auto line = client->readLine(10000);
      if (!line || !line->has_value()) {
        ADD_FAILURE() << "no answer";
        break;
      }
      json::Document d;
      if (!json::parse(d, **line, nullptr) || !d.IsObject() || !d.HasMember("id")) {
        continue;  // An event.
      }
      ++answers;
      const int answered = d["id"].GetInt();
      if (answered == 999) {
        EXPECT_TRUE(d.HasMember("error")) << "the big submit fit after all: " << **line;
      } else {
        codes[static_cast<size_t>(answered - 901)] = d.HasMember("error") ? d["error"]["code"].GetInt() : 0;
      }
    }
    return codes;
  };
  using Codes = std::vector<int>;
  const Codes lost1{-32006};
  const Codes lost2{-32006, -32006};
  EXPECT_EQ(lost1, inALostTurn({{"budget.set", R"({"scope":"client:a","period":"day","limit_usd":50})"}}));
  EXPECT_EQ(lost1, inALostTurn({{"budget.delete", R"({"scope":"client:a","period":"day"})"}}));
  EXPECT_EQ(lost2, inALostTurn({{"budget.set", R"({"scope":"client:a","period":"day","limit_usd":50})"},
                                {"budget.set", R"({"scope":"client:a","period":"day","limit_usd":60})"}}));
  EXPECT_EQ(lost2, inALostTurn({{"budget.set", R"({"scope":"client:b","period":"day","limit_usd":1})"},
                                {"budget.delete", R"({"scope":"client:b","period":"day"})"}}));
  EXPECT_EQ(lost1, inALostTurn({{"queue.pause", R"({"client":"c"})"}}));
  EXPECT_EQ(lost2, inALostTurn({{"queue.resume", "{}"}, {"queue.pause", "{}"}}));

  auto expectAsBefore = [&](const char* when) {
    json::Document b = callOk(*client, "budget.list", "{}");
    ASSERT_EQ(1u, b["budgets"].Size()) << when << ": " << json::toString(b);
    EXPECT_STREQ("client:a", b["budgets"][0]["scope"].GetString()) << when;
    EXPECT_EQ(5.0, b["budgets"][0]["limit_usd"].GetDouble()) << when;
    json::Document st = callOk(*client, "daemon.status", "{}");
    EXPECT_FALSE(st["queue_state"]["paused"].GetBool()) << when;
    EXPECT_EQ(0u, st["queue_state"]["paused_clients"].Size()) << when;
  };
  expectAsBefore("in memory");
  // Memory and file agree: a restart (which reads the file) shows the same.
  client.reset();
  ASSERT_TRUE(daemon.stop());
  ASSERT_TRUE(daemon.start());
  client = daemon.connect();
  expectAsBefore("after a restart");
}

}  // namespace
}  // namespace llmq::testing
