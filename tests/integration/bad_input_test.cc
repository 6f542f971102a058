// Integration: bad input gets a clear error and the daemon keeps serving
// (invalid JSON, non-objects, wrong params, unknown methods, oversize frames,
// split and coalesced frames, binary garbage, abrupt disconnects, many
// connections, and a subscriber that never reads).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ipc/jsonrpc.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/proc_status.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

int rawConnect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int64_t rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6));
    }
  }
  return -1;
}

class BadInputTest : public DaemonFixture {
 protected:
  void SetUp() override {
    launchDaemon({.config_toml = "[ipc]\nmax_frame_bytes = 65536\n"
                                 "max_pending_output_bytes = 262144\nmax_pending_output_hard_bytes = 1048576\n"
                                 "[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\n"});
  }
  // Sends raw bytes and returns the next line the daemon writes back.
  std::string exchange(const std::string& bytes) {
    EXPECT_TRUE(client_->sendRaw(bytes));
    auto line = client_->readLine(5000);
    EXPECT_TRUE(line && line->has_value());
    return line && line->has_value() ? **line : std::string();
  }
  static int errorCodeOf(const std::string& line) {
    json::Document d;
    if (!json::parse(d, line, nullptr) || !d.HasMember("error")) {
      return 0;
    }
    return d["error"]["code"].GetInt();
  }
  void expectAlive() {
    json::Document status = callOk(*client_, "daemon.status", "{}");
    EXPECT_TRUE(status.IsObject() && status.HasMember("pid"));
  }
};

TEST_F(BadInputTest, InvalidJsonIsAParseErrorAndTheConnectionStays) {
  EXPECT_EQ(-32700, errorCodeOf(exchange("{\"jsonrpc\":\"2.0\",\"id\":1,\n")));
  EXPECT_EQ(-32700, errorCodeOf(exchange("{} trailing\n")));
  expectAlive();
}

TEST_F(BadInputTest, NonObjectsAreInvalidRequests) {
  EXPECT_EQ(-32600, errorCodeOf(exchange("42\n")));
  EXPECT_EQ(-32600, errorCodeOf(exchange("\"text\"\n")));
  EXPECT_EQ(-32600, errorCodeOf(exchange("[]\n")));
  EXPECT_EQ(-32600, errorCodeOf(exchange("{\"id\":1,\"method\":\"daemon.status\"}\n")));
  EXPECT_EQ(-32600, errorCodeOf(exchange("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}\n")));
  expectAlive();
}

TEST_F(BadInputTest, WrongParamsAndUnknownMethods) {
  std::string msg;
  EXPECT_EQ(-32601, callError(*client_, "job.explode", "{}"));
  EXPECT_EQ(-32602,
            callError(*client_, "job.submit", R"({"request":{"messages":[{"role":"user","content":"x"}]}})", &msg));
  EXPECT_NE(std::string::npos, msg.find("model")) << msg;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", R"({"request":{"model":"mock/x"}})", &msg));
  EXPECT_NE(std::string::npos, msg.find("messages")) << msg;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("mock/x", R"("priority":"high")")));
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("mock/x", R"("priority":5000)")));
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("mock/x", R"("tags":"a")")));
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("mock/x", R"("priorty":1)"), &msg));
  EXPECT_NE(std::string::npos, msg.find("priorty")) << msg;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("openai/gpt-4o")));
  EXPECT_EQ(-32602, callError(*client_, "job.get", R"({"job_id":5})"));
  EXPECT_EQ(-32602, callError(*client_, "events.subscribe", R"({"all":true,"client":"x"})"));
  EXPECT_EQ(-32602, callError(*client_, "events.subscribe", R"({"all":true,"events":["nope"]})"));
  EXPECT_EQ(-32001, callError(*client_, "events.unsubscribe", R"({"subscription":"s999"})"));
  expectAlive();
}

TEST_F(BadInputTest, BatchesAnswerAsOneArrayAndSkipNotifications) {
  std::string line =
      exchange(R"([{"jsonrpc":"2.0","id":1,"method":"daemon.status"},{"jsonrpc":"2.0","method":"daemon.status"},)"
               R"({"jsonrpc":"2.0","id":"x","method":"nope"},7])"
               "\n");
  json::Document d;
  ASSERT_TRUE(json::parse(d, line, nullptr)) << line;
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(3u, d.Size());
  EXPECT_EQ(1, d[0]["id"].GetInt());
  EXPECT_TRUE(d[0].HasMember("result"));
  EXPECT_STREQ("x", d[1]["id"].GetString());
  EXPECT_EQ(-32601, d[1]["error"]["code"].GetInt());
  EXPECT_TRUE(d[2]["id"].IsNull());
  EXPECT_EQ(-32600, d[2]["error"]["code"].GetInt());
  // A lone notification gets no answer: the next line answers the next request.
  ASSERT_TRUE(client_->sendRaw("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.status\"}\n"));
  expectAlive();
}

TEST_F(BadInputTest, OversizeFrameIsRefusedAndTheConnectionClosed) {
  std::string big(70000, 'x');
  std::string line = exchange("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + big + "\"}\n");
  EXPECT_EQ(-32600, errorCodeOf(line));
  auto next = client_->readLine(5000);
  EXPECT_FALSE(next) << "the connection should be closed";
  // Even without a newline, a frame that passes the limit is refused.
  auto other = daemon_->connect();
  ASSERT_TRUE(other->sendRaw("{\"a\":\"" + big));
  auto err = other->readLine(5000);
  ASSERT_TRUE(err && err->has_value());
  EXPECT_EQ(-32600, errorCodeOf(**err));
  client_ = daemon_->connect();
  expectAlive();
}

TEST_F(BadInputTest, FrameSplitAcrossManyWrites) {
  std::string req = ipc::makeRequest("daemon.status", "{}", 77);
  for (char c : req) {
    ASSERT_TRUE(client_->sendRaw(std::string(1, c)));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  auto line = client_->readLine(5000);
  ASSERT_TRUE(line && line->has_value());
  EXPECT_NE(std::string::npos, (*line)->find("\"id\":77"));
}

TEST_F(BadInputTest, ManyFramesInOneWriteAnswerInOrder) {
  std::string bytes;
  const int n = 2000;
  for (int i = 1; i <= n; ++i) {
    bytes += ipc::makeRequest("job.submit", submitParams("mock/x"), i);
  }
  ASSERT_TRUE(client_->sendRaw(bytes));
  for (int i = 1; i <= n; ++i) {
    auto line = client_->readLine(10000);
    ASSERT_TRUE(line && line->has_value()) << "answer " << i;
    ASSERT_NE(std::string::npos, (*line)->find("\"id\":" + std::to_string(i) + ",")) << **line;
  }
  json::Document status = callOk(*client_, "daemon.status", "{}");
  int total = 0;
  for (auto it = status["queue"].MemberBegin(); it != status["queue"].MemberEnd(); ++it) {
    total += it->value.GetInt();
  }
  EXPECT_EQ(n, total);
}

TEST_F(BadInputTest, BinaryGarbageNeverCrashes) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 50; ++round) {
    int fd = rawConnect(daemon_->socketPath());
    ASSERT_GE(fd, 0);
    std::string junk(4096, '\0');
    for (char& c : junk) {
      c = static_cast<char>(rng());
    }
    ssize_t ignored = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    (void)ignored;
    ::close(fd);
  }
  // Invalid UTF-8 inside otherwise valid JSON is a parse error, not a stored job.
  EXPECT_EQ(-32700, errorCodeOf(exchange("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}\n")));
  expectAlive();
  EXPECT_TRUE(daemon_->running());
}

TEST_F(BadInputTest, ClientsDisconnectingMidFrameAndMidStream) {
  int fd = rawConnect(daemon_->socketPath());
  std::string half = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.sub";
  ssize_t ignored = ::send(fd, half.data(), half.size(), MSG_NOSIGNAL);
  (void)ignored;
  ::close(fd);

  auto streamer = daemon_->connect();
  json::Document r = callOk(
      *streamer, "job.submit",
      submitParams("mock/x", R"("subscribe":true)", R"("stream":true,"mock":{"tokens":2000,"chunk_delay_ms":1})"));
  std::string id = r["job_id"].GetString();
  readEvents(*streamer, [](const Event& e) { return e.name == "message_chunk"; });
  streamer.reset();  // Gone mid-stream.
  EXPECT_EQ("succeeded", waitTerminal(*client_, id, 30000));
  expectAlive();
}

TEST_F(BadInputTest, ClosedWatchersAreDroppedAndHalfClosedOnesStillServed) {
  {
    auto watcher = daemon_->connect();
    callOk(*watcher, "events.subscribe", R"({"all":true})");
  }  // Closed entirely, with a live subscription.
  // Half-closed after subscribing to a job: it still gets that job's events.
  auto half = daemon_->connect();
  std::string id = submit(*half, "mock/x", R"("subscribe":true)", R"("stream":true,"max_tokens":4)");
  half->shutdownWrite();
  auto events = readEvents(*half, [](const Event& e) { return e.name == "final_response"; });
  EXPECT_EQ("final_response", events.back().name);
  auto eof = half->readLine(5000);
  EXPECT_FALSE(eof) << "the daemon closes a half-closed connection once nothing holds it";
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(1, status["connections"].GetInt());
  EXPECT_EQ(0, status["subscriptions"].GetInt());
}

TEST_F(BadInputTest, FiveHundredConcurrentConnections) {
  std::vector<std::unique_ptr<ipc::Client>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(daemon_->connect());
    ASSERT_NE(nullptr, clients.back());
  }
  for (auto& c : clients) {
    ASSERT_TRUE(c->send("job.submit", submitParams("mock/x")));
  }
  for (auto& c : clients) {
    auto line = c->readLine(20000);
    ASSERT_TRUE(line && line->has_value());
    EXPECT_NE(std::string::npos, (*line)->find("\"result\""));
  }
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_GE(status["connections"].GetInt(), 501);
}

TEST_F(BadInputTest, SubscriberThatNeverReadsIsCutOffAndMemoryStaysFlat) {
  if constexpr (kAddressSanitizer) {
    // ASan keeps freed memory in quarantine, which reads as growth: use a small one.
    client_.reset();
    ASSERT_TRUE(daemon_->stop());
    launchDaemon({.config_toml =
                      "[ipc]\nmax_pending_output_bytes = 262144\nmax_pending_output_hard_bytes = 1048576\n"
                      "[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\n",
                  .extra_env = {"ASAN_OPTIONS=quarantine_size_mb=1:abort_on_error=1"}});
  }
  int fd = rawConnect(daemon_->socketPath());
  ASSERT_GE(fd, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string sub = ipc::makeRequest("events.subscribe", R"({"all":true})", 1);
  ASSERT_EQ(static_cast<ssize_t>(sub.size()), ::send(fd, sub.data(), sub.size(), MSG_NOSIGNAL));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int64_t rss_before = rssKb(daemon_->pid());
  // ~40 jobs x 5000 chunks of ~150 bytes of events: ~30 MB the subscriber never reads.
  std::vector<std::string> ids;
  ids.reserve(40);
  for (int i = 0; i < 40; ++i) {
    ids.push_back(submit(*client_, "mock/x", "", R"("stream":true,"mock":{"tokens":5000})"));
  }
  for (const std::string& id : ids) {
    EXPECT_EQ("succeeded", waitTerminal(*client_, id, 60000));
  }
  int64_t rss_after = rssKb(daemon_->pid());
  EXPECT_LT(rss_after - rss_before, 20 * 1024) << "RSS grew from " << rss_before << " to " << rss_after << " kB";
  EXPECT_NE(std::string::npos, daemon_->log().find("is not reading"));
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(0, status["subscriptions"].GetInt());
  ::close(fd);
}

}  // namespace
}  // namespace llmq::testing
