// Integration: the daemon-wide output bound. Each connection's output is bounded
// on its own; when subscribers on many connections fall behind together, llmqd
// starts no new job until their output drains ([ipc]
// max_total_pending_output_bytes), so a burst cannot grow its memory without end.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/raw_client.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

int64_t status(ipc::Client& c, const char* field) {
  json::Document st = callOk(c, "daemon.status", "{}");
  return st[field].GetInt64();
}

int64_t queued(ipc::Client& c) {
  json::Document st = callOk(c, "daemon.status", "{}");
  return st["queue"]["queued"].GetInt64();
}

TEST(OutputBudgetTest, SlowSubscribersHoldBackNewJobsUntilTheyRead) {
  TempDir dir;
  DaemonProcess daemon(
      dir.path(), {.config_toml = "[ipc]\nmax_total_pending_output_bytes = 1048576\n"
                                  "max_pending_output_bytes = 65536\n"
                                  "max_pending_output_hard_bytes = 67108864\nstall_timeout_ms = 600000\n"
                                  "[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\ntokens_per_chunk = 1\n"});
  ASSERT_TRUE(daemon.start());
  auto control = daemon.connect();
  // Four subscribers to everything that do not read.
  std::vector<std::unique_ptr<RawClient>> subs;
  for (int i = 0; i < 4; ++i) {
    subs.push_back(std::make_unique<RawClient>());
    ASSERT_TRUE(subs.back()->connect(daemon.socketPath()));
    ASSERT_TRUE(subs.back()->write(R"({"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"all":true}})"
                                   "\n"));
  }
  constexpr int kJobs = 200;
  std::vector<std::string> ids;
  ids.reserve(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    ids.push_back(submit(*control, "mock/burst", "", R"("max_tokens":400,"stream":true)"));
  }
  // The subscribers' output piles up past the bound, and the queue stops moving.
  int64_t pending = 0;
  for (int i = 0; i < 200 && pending <= (1 << 20); ++i) {
    pending = status(*control, "output_pending_bytes");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(pending, 1 << 20);
  const int64_t held = queued(*control);
  EXPECT_GT(held, 0) << "new jobs must wait while subscribers are behind";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(held, queued(*control)) << "nothing starts while the output stays above the bound";
  EXPECT_LT(status(*control, "output_pending_bytes"), int64_t{64} << 20);
  // Reading drains it; everything then runs, and nobody was cut off.
  for (int round = 0; round < 2000 && queued(*control) > 0; ++round) {
    for (auto& s : subs) {
      s->poll();
      s->clearReceived();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (const std::string& id : ids) {
    for (auto& s : subs) {
      s->poll();
      s->clearReceived();
    }
    ASSERT_EQ("succeeded", waitTerminal(*control, id, 60000));
  }
  for (auto& s : subs) {
    EXPECT_FALSE(s->eof()) << "a subscriber that reads is never cut off";
  }
  EXPECT_EQ(4 + 1, status(*control, "connections"));
}

}  // namespace
}  // namespace llmq::testing
