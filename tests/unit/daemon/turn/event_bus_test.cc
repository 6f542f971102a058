// Tests for daemon::EventBus with a real ipc::Server, a CommitCycle on a
// TempDir database, and raw client sockets: subscription bookkeeping and
// wanted(), delivery as JSON-RPC notifications, the event mask, delivery only
// after COMMIT (and never for a rolled-back turn), terminal events ending job
// subscriptions, holds on half-closed connections, and id formatting. In-process
// sinks: events as values (a chunk's piece as it came), not as text; after the
// commit, from the bus's own copy; none once the connection is dropped.
#include "daemon/turn/event_bus.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "daemon/turn/commit_cycle.h"
#include "ipc/server.h"
#include "store/sqlite_store.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_fixture.h"
#include "tests/support/test_db.h"

namespace llmq::daemon {
namespace {

using ipc::EventKind;
using llmq::testing::RawClient;

constexpr uint32_t bit(EventKind k) { return 1u << static_cast<int>(k); }
constexpr int64_t kTs = 1795488367123;  // 2026-11-24T02:46:07.123Z

struct Event {
  std::string subscription;
  std::string job_id;
  int64_t seq = 0;
  std::string event;
  std::string data;
};

class EventBusTest : public llmq::testing::ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_TRUE(db_.ok());
    cycle_ = std::make_unique<CommitCycle>(store_);
    server_ = &listeningServer();
    bus_ = std::make_unique<EventBus>(*server_, *cycle_);
    // As the daemon does: a closed connection's subscriptions go with it.
    on_closed_ = [this](uint64_t id) { bus_->dropConnection(id); };
  }
  void TearDown() override {
    ServerFixture::TearDown();
    bus_.reset();
  }

  EventSource source(const std::string& job = "j000000000001", const std::string& client = "alice") {
    job_ = job;
    client_ = client;
    return EventSource{job_, client_, &tags_};
  }

  void publish(const EventSource& s, int64_t seq, EventKind kind, bool terminal = false,
               const std::string& data = R"({"n":1})") {
    bus_->publish(s, seq, kind, data, kTs, terminal);
  }

  // Parses every complete line `client` received as an event notification.
  std::vector<Event> events(const RawClient& client) {
    std::vector<Event> out;
    for (const auto& line : client.lines()) {
      json::Document doc;
      std::string error;
      if (!json::parse(doc, line, &error)) {
        ADD_FAILURE() << error << ": " << line;
        continue;
      }
      const json::Value* params = json::member(doc, "params");
      if (params == nullptr || json::member(doc, "method") == nullptr) {
        out.push_back(Event{"", "", 0, "not an event: " + line, ""});
        continue;
      }
      EXPECT_EQ("2.0", json::view(doc["jsonrpc"]));
      EXPECT_EQ("event", json::view(doc["method"]));
      EXPECT_FALSE(doc.HasMember("id")) << "a notification has no id: " << line;
      out.push_back(Event{std::string(json::view((*params)["subscription"])),
                          std::string(json::view((*params)["job_id"])), (*params)["seq"].GetInt64(),
                          std::string(json::view((*params)["event"])), json::toString((*params)["data"])});
    }
    return out;
  }

  bool waitLines(RawClient& client, size_t n) {
    return readUntil(client, [&] { return client.lines().size() >= n; });
  }
  // Sends `marker` straight through the server: a barrier, since a connection's
  // output is delivered in order. When it arrives, everything sent before it has.
  bool barrier(RawClient& client, uint64_t conn) {
    size_t before = client.lines().size();
    server_->send(conn, "{\"marker\":true}\n");
    return waitLines(client, before + 1);
  }
  std::vector<Event> eventsBeforeMarker(const RawClient& client) {
    std::vector<Event> out;
    for (auto& e : events(client)) {
      if (e.event.rfind("not an event", 0) == 0) {
        break;
      }
      out.push_back(e);
    }
    return out;
  }

  llmq::testing::TestDb db_;
  store::SqliteStore store_{db_.db()};
  std::unique_ptr<CommitCycle> cycle_;
  ipc::Server* server_ = nullptr;
  std::unique_ptr<EventBus> bus_;
  std::string job_;
  std::string client_;
  std::vector<std::string> tags_;
};

// ---- ids -------------------------------------------------------------------------

TEST(EventBusIdTest, FormatsAndParsesSubscriptionIds) {
  EXPECT_EQ("s1", EventBus::formatId(1));
  EXPECT_EQ("s18446744073709551615", EventBus::formatId(UINT64_MAX));
  for (uint64_t id : {uint64_t{1}, uint64_t{42}, uint64_t{1} << 40, UINT64_MAX}) {
    uint64_t back = 0;
    ASSERT_TRUE(EventBus::parseId(EventBus::formatId(id), &back)) << id;
    EXPECT_EQ(id, back);
  }
  uint64_t untouched = 7;
  for (const char* bad :
       {"", "s", "1", "x1", "S1", "s-1", "s1a", "s 1", "s1.0", "j000000000001", "s123456789012345678901"}) {
    EXPECT_FALSE(EventBus::parseId(bad, &untouched)) << bad;
  }
  EXPECT_EQ(7u, untouched);
}

TEST(EventBusIdTest, RejectsIdsThatOverflow) {
  uint64_t id = 0;
  EXPECT_FALSE(EventBus::parseId("s18446744073709551617", &id)) << "parsed as s" << id;
  EXPECT_FALSE(EventBus::parseId("s99999999999999999999", &id)) << "parsed as s" << id;
}

// ---- bookkeeping -------------------------------------------------------------------

TEST_F(EventBusTest, WantedFollowsEachScope) {
  tags_ = {"nightly", "eval"};
  EXPECT_FALSE(bus_->wanted(source(), EventKind::kQueued));  // No subscriptions at all.

  uint64_t s1 = bus_->subscribe(101, SubscriptionScope::kJob, "j000000000002", ipc::kAllEvents);
  EXPECT_FALSE(bus_->wanted(source("j000000000001"), EventKind::kQueued));
  EXPECT_TRUE(bus_->wanted(source("j000000000002"), EventKind::kQueued));

  uint64_t s2 = bus_->subscribe(101, SubscriptionScope::kClient, "bob", ipc::kAllEvents);
  EXPECT_FALSE(bus_->wanted(source("j000000000001", "alice"), EventKind::kQueued));
  EXPECT_TRUE(bus_->wanted(source("j000000000001", "bob"), EventKind::kQueued));

  uint64_t s3 = bus_->subscribe(101, SubscriptionScope::kTag, "eval", ipc::kAllEvents);
  EXPECT_TRUE(bus_->wanted(source("j000000000001", "alice"), EventKind::kQueued));
  tags_ = {"other"};
  EXPECT_FALSE(bus_->wanted(source("j000000000001", "alice"), EventKind::kQueued));
  EXPECT_FALSE(bus_->wanted(EventSource{"j000000000001", "alice", nullptr}, EventKind::kQueued));

  uint64_t s4 = bus_->subscribe(101, SubscriptionScope::kAll, "", ipc::kAllEvents);
  EXPECT_TRUE(bus_->wanted(EventSource{"j000000000009", "zed", nullptr}, EventKind::kQueued));

  EXPECT_EQ(4u, bus_->subscriptionCount());
  EXPECT_LT(s1, s2);
  EXPECT_LT(s2, s3);
  EXPECT_LT(s3, s4);
}

TEST_F(EventBusTest, TheEventMaskFilters) {
  bus_->subscribe(101, SubscriptionScope::kAll, "", bit(EventKind::kFinalResponse) | bit(EventKind::kError));
  EXPECT_FALSE(bus_->wanted(source(), EventKind::kMessageChunk));
  EXPECT_FALSE(bus_->wanted(source(), EventKind::kQueued));
  EXPECT_TRUE(bus_->wanted(source(), EventKind::kFinalResponse));
  EXPECT_TRUE(bus_->wanted(source(), EventKind::kError));
  bus_->subscribe(102, SubscriptionScope::kJob, "j000000000001", 0);  // Wants nothing.
  EXPECT_FALSE(bus_->wanted(source(), EventKind::kMessageChunk));
}

TEST_F(EventBusTest, OnlyTheOwnerCanUnsubscribe) {
  uint64_t s = bus_->subscribe(101, SubscriptionScope::kClient, "alice", ipc::kAllEvents);
  EXPECT_FALSE(bus_->unsubscribe(202, s));
  EXPECT_EQ(1u, bus_->subscriptionCount());
  EXPECT_TRUE(bus_->wanted(source(), EventKind::kQueued));
  EXPECT_FALSE(bus_->unsubscribe(101, s + 1));  // No such subscription.
  EXPECT_TRUE(bus_->unsubscribe(101, s));
  EXPECT_EQ(0u, bus_->subscriptionCount());
  EXPECT_FALSE(bus_->wanted(source(), EventKind::kQueued));
  EXPECT_FALSE(bus_->unsubscribe(101, s));  // Already gone.
}

TEST_F(EventBusTest, DropConnectionRemovesOnlyThatConnectionsSubscriptions) {
  bus_->subscribe(101, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  bus_->subscribe(101, SubscriptionScope::kAll, "", ipc::kAllEvents);
  bus_->subscribe(101, SubscriptionScope::kTag, "eval", ipc::kAllEvents);
  uint64_t kept = bus_->subscribe(202, SubscriptionScope::kClient, "bob", ipc::kAllEvents);
  bus_->dropConnection(101);
  EXPECT_EQ(1u, bus_->subscriptionCount());
  tags_ = {"eval"};
  EXPECT_FALSE(bus_->wanted(source("j000000000001", "alice"), EventKind::kQueued));
  EXPECT_TRUE(bus_->wanted(source("j000000000001", "bob"), EventKind::kQueued));
  bus_->dropConnection(101);  // Twice, or for an unknown connection: harmless.
  bus_->dropConnection(999);
  EXPECT_TRUE(bus_->unsubscribe(202, kept));
}

// ---- delivery ----------------------------------------------------------------------

TEST_F(EventBusTest, DeliversAJsonRpcNotificationToEachMatchingSubscription) {
  RawClient a;
  RawClient b;
  uint64_t ca = connect(a);
  uint64_t cb = connect(b);
  ASSERT_NE(0u, ca);
  ASSERT_NE(0u, cb);
  tags_ = {"nightly"};
  uint64_t sa = bus_->subscribe(ca, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  uint64_t sb = bus_->subscribe(cb, SubscriptionScope::kClient, "bob", ipc::kAllEvents);
  uint64_t sa2 = bus_->subscribe(ca, SubscriptionScope::kTag, "nightly", ipc::kAllEvents);

  publish(source("j000000000001", "alice"), 3, EventKind::kMessageChunk, false,
          R"({"delta":"Hi \"there\"","index":0})");
  ASSERT_TRUE(waitLines(a, 2));
  ASSERT_TRUE(barrier(b, cb));

  ASSERT_EQ(1u, b.lines().size()) << "bob's subscription does not match alice's job";
  auto got = events(a);
  ASSERT_EQ(2u, got.size());
  EXPECT_EQ(EventBus::formatId(sa), got[0].subscription);
  EXPECT_EQ(EventBus::formatId(sa2), got[1].subscription);
  for (const auto& e : got) {
    EXPECT_EQ("j000000000001", e.job_id);
    EXPECT_EQ(3, e.seq);
    EXPECT_EQ("message_chunk", e.event);
    EXPECT_EQ(R"({"delta":"Hi \"there\"","index":0})", e.data);
  }
  // The timestamp is RFC 3339 in UTC with milliseconds.
  json::Document doc;
  ASSERT_TRUE(json::parse(doc, a.lines()[0], nullptr));
  EXPECT_EQ("2026-11-24T02:46:07.123Z", json::view(doc["params"]["ts"]));
  (void)sb;
}

TEST_F(EventBusTest, EmptyDataIsAnEmptyObjectAndMaskedEventsAreNotSent) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  bus_->subscribe(conn, SubscriptionScope::kAll, "", bit(EventKind::kUsage));
  publish(source(), 1, EventKind::kMessageChunk);
  publish(source(), 2, EventKind::kUsage, false, "");
  ASSERT_TRUE(barrier(c, conn));
  auto got = eventsBeforeMarker(c);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("usage", got[0].event);
  EXPECT_EQ(2, got[0].seq);
  EXPECT_EQ("{}", got[0].data);
}

TEST_F(EventBusTest, AJobWithARepeatedTagIsDeliveredOncePerSubscription) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  bus_->subscribe(conn, SubscriptionScope::kTag, "x", ipc::kAllEvents);
  tags_ = {"x", "x"};
  publish(source(), 1, EventKind::kQueued);
  ASSERT_TRUE(barrier(c, conn));
  EXPECT_EQ(1u, eventsBeforeMarker(c).size());
}

TEST_F(EventBusTest, EventsOfAnOpenTurnWaitForTheCommitAndKeepTheirOrder) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  bus_->subscribe(conn, SubscriptionScope::kClient, "alice", ipc::kAllEvents);
  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 1, EventKind::kQueued);
  publish(source(), 2, EventKind::kStarted);
  publish(source(), 3, EventKind::kMessageChunk);
  // Nothing is sent while the transaction is open.
  ASSERT_TRUE(barrier(c, conn));
  EXPECT_TRUE(eventsBeforeMarker(c).empty());

  ASSERT_TRUE(cycle_->commit());
  ASSERT_TRUE(waitLines(c, 4));
  auto got = events(c);
  ASSERT_EQ(4u, got.size());
  EXPECT_EQ("queued", got[1].event);
  EXPECT_EQ("started", got[2].event);
  EXPECT_EQ("message_chunk", got[3].event);
  EXPECT_EQ(1, got[1].seq);
  EXPECT_EQ(3, got[3].seq);
}

TEST_F(EventBusTest, EventsOfARolledBackTurnAreNeverSent) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  bus_->subscribe(conn, SubscriptionScope::kAll, "", ipc::kAllEvents);
  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 1, EventKind::kQueued);
  db_.db().rollback();  // As SQLite does on SQLITE_FULL.
  EXPECT_FALSE(cycle_->commit());
  publish(source(), 2, EventKind::kStarted);  // No transaction now: sent at once.
  ASSERT_TRUE(barrier(c, conn));
  auto got = eventsBeforeMarker(c);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("started", got[0].event);
}

TEST_F(EventBusTest, SendToReachesOnlyThatSubscription) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  uint64_t s1 = bus_->subscribe(conn, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  bus_->subscribe(conn, SubscriptionScope::kAll, "", ipc::kAllEvents);
  bus_->sendTo(s1, "j000000000001", 5, EventKind::kMessageChunk, R"({"delta":"so far"})", kTs);
  bus_->sendTo(s1 + 100, "j000000000001", 6, EventKind::kMessageChunk, "{}", kTs);  // Unknown.
  ASSERT_TRUE(barrier(c, conn));
  auto got = eventsBeforeMarker(c);
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(EventBus::formatId(s1), got[0].subscription);
  EXPECT_EQ(5, got[0].seq);
  EXPECT_EQ(R"({"delta":"so far"})", got[0].data);
}

// ---- terminal events ---------------------------------------------------------------

TEST_F(EventBusTest, ATerminalEventIsDeliveredThenEndsOnlyThatJobsSubscriptions) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  uint64_t job_sub = bus_->subscribe(conn, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  uint64_t other_job = bus_->subscribe(conn, SubscriptionScope::kJob, "j000000000002", ipc::kAllEvents);
  uint64_t client_sub = bus_->subscribe(conn, SubscriptionScope::kClient, "alice", ipc::kAllEvents);
  publish(source("j000000000001"), 4, EventKind::kFinalResponse, /*terminal=*/true);
  EXPECT_EQ(2u, bus_->subscriptionCount());
  EXPECT_FALSE(bus_->unsubscribe(conn, job_sub));          // Already ended.
  publish(source("j000000000001"), 5, EventKind::kUsage);  // Only the client scope now.
  ASSERT_TRUE(barrier(c, conn));
  auto got = eventsBeforeMarker(c);
  ASSERT_EQ(3u, got.size());
  EXPECT_EQ(EventBus::formatId(job_sub), got[0].subscription);
  EXPECT_EQ("final_response", got[0].event);
  EXPECT_EQ(EventBus::formatId(client_sub), got[1].subscription);
  EXPECT_EQ("final_response", got[1].event);
  EXPECT_EQ(EventBus::formatId(client_sub), got[2].subscription);
  EXPECT_EQ("usage", got[2].event);
  EXPECT_TRUE(bus_->unsubscribe(conn, other_job));
  EXPECT_TRUE(bus_->unsubscribe(conn, client_sub));
}

TEST_F(EventBusTest, ATerminalEventEndsAJobSubscriptionThatMasksItOut) {
  bus_->subscribe(101, SubscriptionScope::kJob, "j000000000001", bit(EventKind::kMessageChunk));
  publish(source(), 9, EventKind::kCancelled, /*terminal=*/true);
  EXPECT_EQ(0u, bus_->subscriptionCount());
}

TEST_F(EventBusTest, ATerminalEventInAnOpenTurnEndsSubscriptionsOnlyIfItCommits) {
  bus_->subscribe(101, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 2, EventKind::kError, /*terminal=*/true);
  EXPECT_EQ(1u, bus_->subscriptionCount());
  db_.db().rollback();
  EXPECT_FALSE(cycle_->commit());
  EXPECT_EQ(1u, bus_->subscriptionCount()) << "the job did not end: the turn was rolled back";

  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 2, EventKind::kError, /*terminal=*/true);
  EXPECT_EQ(1u, bus_->subscriptionCount());
  ASSERT_TRUE(cycle_->commit());
  EXPECT_EQ(0u, bus_->subscriptionCount());
}

// ---- holds on half-closed connections ------------------------------------------------

TEST_F(EventBusTest, AHalfClosedSubscriberStaysConnectedUntilItsJobEnds) {
  RawClient sub;
  RawClient plain;
  uint64_t cs = connect(sub);
  uint64_t cp = connect(plain);
  ASSERT_NE(0u, cs);
  ASSERT_NE(0u, cp);
  bus_->subscribe(cs, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  // `sub` first: once the server has seen `plain`'s EOF it has seen `sub`'s.
  sub.shutdownWrite();
  plain.shutdownWrite();
  ASSERT_TRUE(runUntil([&] { return isClosed(cp); }));
  EXPECT_FALSE(isClosed(cs));
  publish(source(), 1, EventKind::kMessageChunk);
  ASSERT_TRUE(waitLines(sub, 1));
  EXPECT_FALSE(sub.eof());

  publish(source(), 2, EventKind::kFinalResponse, /*terminal=*/true);
  ASSERT_TRUE(readUntil(sub, [&] { return sub.eof(); }));
  auto got = events(sub);
  ASSERT_EQ(2u, got.size());
  EXPECT_EQ("final_response", got[1].event);
  ASSERT_TRUE(runUntil([&] { return isClosed(cs); }));
  EXPECT_EQ(0u, bus_->subscriptionCount());
}

TEST_F(EventBusTest, UnsubscribingReleasesAHalfClosedConnection) {
  RawClient sub;
  RawClient plain;
  uint64_t cs = connect(sub);
  uint64_t cp = connect(plain);
  ASSERT_NE(0u, cs);
  ASSERT_NE(0u, cp);
  uint64_t s = bus_->subscribe(cs, SubscriptionScope::kAll, "", ipc::kAllEvents);
  sub.shutdownWrite();
  plain.shutdownWrite();
  ASSERT_TRUE(runUntil([&] { return isClosed(cp); }));
  EXPECT_FALSE(isClosed(cs));
  ASSERT_TRUE(bus_->unsubscribe(cs, s));
  ASSERT_TRUE(runUntil([&] { return isClosed(cs); }));
  ASSERT_TRUE(readUntil(sub, [&] { return sub.eof(); }));
}

TEST_F(EventBusTest, AClosedConnectionTakesItsSubscriptionsAlong) {
  RawClient c;
  uint64_t conn = connect(c);
  ASSERT_NE(0u, conn);
  bus_->subscribe(conn, SubscriptionScope::kAll, "", ipc::kAllEvents);
  bus_->subscribe(conn, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  c.close();
  // A read EOF looks like a half-close, and the subscriptions hold the connection;
  // the next event's write fails (EPIPE) and closes it.
  publish(source(), 1, EventKind::kQueued);
  ASSERT_TRUE(runUntil([&] { return isClosed(conn); }));
  EXPECT_EQ(0u, bus_->subscriptionCount());
  publish(source(), 2, EventKind::kStarted);  // Nobody to send to: no crash, no send.
}

// ---- in-process sinks ----------------------------------------------------------------

namespace sink_test {

// What a sink received, copied out of the views it was handed.
struct Got {
  uint64_t conn_id = 0;
  uint64_t subscription = 0;
  std::string job_id;
  int64_t seq = 0;
  EventKind kind = EventKind::kQueued;
  std::string data;
  bool has_chunk = false;
  int index = 0;
  std::string content, reasoning, tool_calls;
};

class RecordingSink : public EventSink {
 public:
  void onEvent(const BusEvent& e) override {
    Got g{e.conn_id, e.subscription, std::string(e.job_id), e.seq, e.kind, std::string(e.data_json)};
    if (e.chunk != nullptr) {
      g.has_chunk = true;
      g.index = e.chunk->index;
      g.content = e.chunk->content;
      g.reasoning = e.chunk->reasoning;
      g.tool_calls = e.chunk->tool_calls_json;
    }
    got.push_back(std::move(g));
  }
  std::vector<Got> got;
};

}  // namespace sink_test

TEST_F(EventBusTest, ASinkGetsTheEventsOfItsConnectionAsValues) {
  sink_test::RecordingSink sink;
  bus_->attachSink(101, &sink);
  const uint64_t s = bus_->subscribe(101, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  // Only a sink listens: the event is wanted, but not as text.
  EXPECT_TRUE(bus_->wanted(source(), EventKind::kMessageChunk));
  EXPECT_FALSE(bus_->wantedAsText(source(), EventKind::kMessageChunk));

  upstream::StreamDelta delta;
  delta.index = 1;
  delta.content = "hel\"lo";
  delta.reasoning = "because";
  delta.tool_calls_json = R"([{"index":0}])";
  EventSource src = source();
  src.chunk = &delta;
  bus_->publish(src, 4, EventKind::kMessageChunk, "", kTs, false);
  publish(source(), 5, EventKind::kUsage, false, R"({"usage":{"total_tokens":3}})");

  ASSERT_EQ(2u, sink.got.size());
  const sink_test::Got& chunk = sink.got[0];
  EXPECT_EQ(101u, chunk.conn_id);
  EXPECT_EQ(s, chunk.subscription);
  EXPECT_EQ("j000000000001", chunk.job_id);
  EXPECT_EQ(4, chunk.seq);
  EXPECT_EQ(EventKind::kMessageChunk, chunk.kind);
  ASSERT_TRUE(chunk.has_chunk);
  EXPECT_EQ(1, chunk.index);
  EXPECT_EQ("hel\"lo", chunk.content);  // As it came: no JSON escaping to undo.
  EXPECT_EQ("because", chunk.reasoning);
  EXPECT_EQ(R"([{"index":0}])", chunk.tool_calls);
  EXPECT_EQ(EventKind::kUsage, sink.got[1].kind);
  EXPECT_FALSE(sink.got[1].has_chunk);
  EXPECT_EQ(R"({"usage":{"total_tokens":3}})", sink.got[1].data);

  // A subscriber without a sink reads text: now the chunk's JSON is wanted.
  bus_->subscribe(202, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  EXPECT_TRUE(bus_->wantedAsText(source(), EventKind::kMessageChunk));
}

TEST_F(EventBusTest, ASinksEventsWaitForTheCommitAndOutliveTheirViews) {
  sink_test::RecordingSink sink;
  bus_->attachSink(101, &sink);
  bus_->subscribe(101, SubscriptionScope::kClient, "alice", ipc::kAllEvents);
  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 1, EventKind::kQueued);
  {
    std::string text = "streamed";  // Gone before the turn commits: the bus keeps a copy.
    upstream::StreamDelta delta;
    delta.content = text;
    EventSource src = source();
    src.chunk = &delta;
    bus_->publish(src, 2, EventKind::kMessageChunk, "", kTs, false);
    text.assign("XXXXXXXX");
  }
  EXPECT_TRUE(sink.got.empty());  // Nothing while the transaction is open.
  ASSERT_TRUE(cycle_->commit());
  ASSERT_EQ(2u, sink.got.size());
  EXPECT_EQ(EventKind::kQueued, sink.got[0].kind);
  EXPECT_EQ("streamed", sink.got[1].content);
}

TEST_F(EventBusTest, ASinkHearsNothingOnceItsConnectionIsDropped) {
  sink_test::RecordingSink sink;
  bus_->attachSink(101, &sink);
  bus_->subscribe(101, SubscriptionScope::kAll, "", ipc::kAllEvents);
  ASSERT_TRUE(cycle_->write().ok());
  publish(source(), 1, EventKind::kQueued);
  bus_->dropConnection(101);  // Before the commit delivers: the sink is not called.
  ASSERT_TRUE(cycle_->commit());
  EXPECT_TRUE(sink.got.empty());
  // A new connection with the same id and no sink reads text again.
  bus_->subscribe(101, SubscriptionScope::kAll, "", ipc::kAllEvents);
  EXPECT_TRUE(bus_->wantedAsText(source(), EventKind::kQueued));
}

TEST_F(EventBusTest, SendToASinksSubscriptionCarriesTheChunk) {
  sink_test::RecordingSink sink;
  bus_->attachSink(101, &sink);
  const uint64_t s = bus_->subscribe(101, SubscriptionScope::kJob, "j000000000001", ipc::kAllEvents);
  upstream::StreamDelta delta;
  delta.content = "so far";
  bus_->sendTo(s, "j000000000001", 5, EventKind::kMessageChunk, R"({"delta":"so far","index":0})", kTs, &delta);
  ASSERT_EQ(1u, sink.got.size());
  EXPECT_EQ(s, sink.got[0].subscription);
  EXPECT_EQ("so far", sink.got[0].content);
  EXPECT_EQ(5, sink.got[0].seq);
}

}  // namespace
}  // namespace llmq::daemon
