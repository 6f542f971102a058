// Hostile: a client on the Unix socket that asks llmqd to hold things for it
// until later: subscriptions (events.subscribe, job.submit "subscribe") and held
// answers (job.submit "wait"). Each is bounded per connection, subscriptions in
// total too; past a bound the call gets -32005 and nothing is held or stored,
// others' subscriptions keep working, and the daemon stays up. docs/operations.md
// "Bounds", "Subscriptions".
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ipc/client.h"
#include "ipc/jsonrpc.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class SubscriptionsTest : public DaemonFixture {
 protected:
  void start(const std::string& toml) { launchDaemon({.config_toml = toml}, /*connect=*/false); }
  // Sends `n` calls in one go, then reads their `n` answers; returns how many
  // succeeded. Pipelined, so thousands cost one round trip.
  static int pipeline(ipc::Client& c, const std::string& method, const std::string& params, int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(c.send(method, params).ok());
    }
    int ok = 0;
    for (int answered = 0; answered < n;) {
      auto line = c.readLine(30000);
      if (!line.ok() || !line->has_value()) {
        ADD_FAILURE() << "no answer after " << answered << " of " << n;
        return ok;
      }
      json::Document d;
      if (!json::parse(d, **line, nullptr) || !d.HasMember("id")) {
        continue;  // A notification.
      }
      ++answered;
      ok += d.HasMember("result") ? 1 : 0;
    }
    return ok;
  }
};

TEST_F(SubscriptionsTest, OneConnectionCannotHoldMoreThanTheDefaultBound) {
  start("");
  auto c = daemon_->connect();
  ASSERT_NE(nullptr, c);
  // The default bound, [ipc] max_subscriptions_per_connection = 4096.
  EXPECT_EQ(4096, pipeline(*c, "events.subscribe", R"({"client":"root"})", 4096));
  std::string message;
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "events.subscribe", R"({"client":"root"})", &message));
  EXPECT_NE(std::string::npos, message.find("max_subscriptions_per_connection")) << message;
  // The same subscription through job.submit is refused too, and no job is stored.
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "job.submit", submitParams("mock/test", R"("subscribe":true)")));
  json::Document listed = callOk(*c, "job.list", "{}");
  EXPECT_EQ(0u, listed["jobs"].Size());
  // Another connection has its own allowance.
  auto other = daemon_->connect();
  ASSERT_NE(nullptr, other);
  callOk(*other, "events.subscribe", R"({"client":"root"})");
  expectServing();
}

TEST_F(SubscriptionsTest, AnUnsubscribeMakesRoomAgain) {
  start("[ipc]\nmax_subscriptions_per_connection = 3\n");
  auto c = daemon_->connect();
  ASSERT_NE(nullptr, c);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    json::Document r = callOk(*c, "events.subscribe", R"({"client":"root"})");
    ids.push_back(r["subscription"].GetString());
  }
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "events.subscribe", R"({"client":"root"})"));
  callOk(*c, "events.unsubscribe", "{\"subscription\":\"" + ids[0] + "\"}");
  callOk(*c, "events.subscribe", R"({"client":"root"})");
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "events.subscribe", R"({"client":"root"})"));
}

TEST_F(SubscriptionsTest, ClosingAConnectionGivesItsSubscriptionsBack) {
  start("[ipc]\nmax_subscriptions = 4\n");
  {
    auto c = daemon_->connect();
    ASSERT_NE(nullptr, c);
    EXPECT_EQ(4, pipeline(*c, "events.subscribe", R"({"client":"root"})", 4));
    auto other = daemon_->connect();
    ASSERT_NE(nullptr, other);
    std::string message;
    EXPECT_EQ(ipc::rpc::kOverloaded, callError(*other, "events.subscribe", R"({"client":"root"})", &message));
    EXPECT_NE(std::string::npos, message.find("max_subscriptions")) << message;
  }
  // The connection is gone: its four are freed once llmqd has seen it close.
  auto c = daemon_->connect();
  ASSERT_NE(nullptr, c);
  bool room = false;
  for (int i = 0; i < 600 && !room; ++i) {
    auto r = c->call("events.subscribe", R"({"client":"root"})", 10000);
    ASSERT_TRUE(r.ok());
    room = r->ok();
    if (!room) {
      ASSERT_EQ(ipc::rpc::kOverloaded, r->error.code);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(room);
}

TEST_F(SubscriptionsTest, TheTotalBoundHoldsAcrossConnections) {
  start("[ipc]\nmax_subscriptions = 10\n");
  std::vector<std::unique_ptr<ipc::Client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(daemon_->connect());
    ASSERT_NE(nullptr, clients.back());
    EXPECT_EQ(2, pipeline(*clients.back(), "events.subscribe", R"({"client":"root"})", 2));
  }
  auto late = daemon_->connect();
  ASSERT_NE(nullptr, late);
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*late, "events.subscribe", R"({"all":true})"));
  // The ones held still deliver: a job's events reach the first connection.
  std::string id = submit(*late, "mock/test");
  auto events =
      readEvents(*clients[0], [&](const Event& e) { return e.job_id == id && e.name == "final_response"; });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ("final_response", events.back().name);
  expectServing();
}

TEST_F(SubscriptionsTest, RepeatingOneIdempotencyKeyCannotPileUpSubscriptions) {
  // The same job again and again: each duplicate would subscribe once more.
  start("[ipc]\nmax_subscriptions_per_connection = 8\n");
  auto c = daemon_->connect();
  ASSERT_NE(nullptr, c);
  const std::string params = submitParams("mock/hang", R"("subscribe":true,"idempotency_key":"k1")");
  EXPECT_EQ(8, pipeline(*c, "job.submit", params, 8));
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "job.submit", params));
  expectServing();
}

TEST_F(SubscriptionsTest, HeldWaitsPerConnectionAreBounded) {
  start("[ipc]\nmax_waits_per_connection = 5\n");
  auto c = daemon_->connect();
  ASSERT_NE(nullptr, c);
  // mock/hang never ends: each wait is held. The same idempotency key makes every
  // call after the first a duplicate that only adds a waiter.
  const std::string params = submitParams("mock/hang", R"("wait":true,"idempotency_key":"w1")");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c->send("job.submit", params).ok());
  }
  std::string message;
  EXPECT_EQ(ipc::rpc::kOverloaded, callError(*c, "job.submit", params, &message));
  EXPECT_NE(std::string::npos, message.find("max_waits_per_connection")) << message;
  // Others still wait, submit and read.
  auto other = daemon_->connect();
  ASSERT_NE(nullptr, other);
  ASSERT_TRUE(other->send("job.submit", submitParams("mock/test", R"("wait":true)")).ok());
  bool answered = false;
  for (int i = 0; i < 10 && !answered; ++i) {
    auto line = other->readLine(10000);
    ASSERT_TRUE(line.ok());
    answered = line->has_value() && (*line)->find("\"result\"") != std::string::npos;
  }
  EXPECT_TRUE(answered);
  // Cancelling the hung job answers the five waits, which makes room again.
  json::Document listed = callOk(*other, "job.list", R"({"state":"running"})");
  ASSERT_EQ(1u, listed["jobs"].Size());
  callOk(*other, "job.cancel", std::string("{\"job_id\":\"") + listed["jobs"][0]["job_id"].GetString() + "\"}");
  int answers = 0;
  while (answers < 5) {
    auto line = c->readLine(20000);
    ASSERT_TRUE(line.ok());
    ASSERT_TRUE(line->has_value()) << "only " << answers << " of the 5 waits were answered";
    answers += (*line)->find("\"result\"") != std::string::npos ? 1 : 0;
  }
  ASSERT_TRUE(c->send("job.submit", submitParams("mock/test", R"("wait":true)")).ok());
  bool again = false;
  for (int i = 0; i < 10 && !again; ++i) {
    auto line = c->readLine(10000);
    ASSERT_TRUE(line.ok());
    again = line->has_value() && (*line)->find("\"result\"") != std::string::npos;
  }
  EXPECT_TRUE(again);
}

TEST_F(SubscriptionsTest, AnotherConnectionsSubscriptionCannotBeEnded) {
  start("");
  auto a = daemon_->connect();
  auto b = daemon_->connect();
  ASSERT_NE(nullptr, a);
  ASSERT_NE(nullptr, b);
  json::Document r = callOk(*a, "events.subscribe", R"({"client":"root"})");
  const std::string sub = r["subscription"].GetString();
  EXPECT_EQ(ipc::rpc::kNotFound, callError(*b, "events.unsubscribe", "{\"subscription\":\"" + sub + "\"}"));
  EXPECT_EQ(ipc::rpc::kNotFound,
            callError(*b, "events.unsubscribe", R"({"subscription":"s99999999999999999999"})"));
  std::string id = submit(*b, "mock/test");
  auto events = readEvents(*a, [&](const Event& e) { return e.job_id == id && e.name == "final_response"; });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ("final_response", events.back().name);
}

}  // namespace
}  // namespace llmq::testing
