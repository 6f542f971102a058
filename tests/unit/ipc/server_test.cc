// Tests for ipc::Server with a real Unix socket in a TempDir and raw POSIX
// clients: framing into a handler, output coalescing and delivery, the oversize
// frame error, binding rules (live vs stale socket, mode), the output bound,
// half-close with holds, and a clean shutdown. Every test ends with the loop
// closing cleanly (LoopTest).
#include "ipc/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/uv_handle.h"
#include "ipc/jsonrpc.h"
#include "tests/support/raw_client.h"
#include "tests/support/server_fixture.h"

namespace llmq::ipc {
namespace {

using llmq::testing::RawClient;

class ServerTest : public llmq::testing::ServerFixture {};

TEST_F(ServerTest, DeliversFramesSplitAcrossWritesAndSkipsEmptyLines) {
  Server& server = listeningServer();
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(client.write("{\"a\":"));
  ASSERT_TRUE(runUntil([&] { return server.find(id) != nullptr; }));
  ASSERT_TRUE(client.write("1}\n\n\r\nsecond\r\nthi"));
  ASSERT_TRUE(runUntil([&] { return frames_.size() >= 2; }));
  ASSERT_TRUE(client.write("rd\n"));
  ASSERT_TRUE(runUntil([&] { return frames_.size() >= 3; }));
  EXPECT_EQ((std::vector<std::string>{"{\"a\":1}", "second", "third"}), framesOf(id));
  EXPECT_EQ(::getpid(), last_peer_.pid);
  EXPECT_EQ(::getuid(), last_peer_.uid);
  EXPECT_EQ(::getgid(), last_peer_.gid);
  EXPECT_FALSE(last_peer_.user.empty());
}

TEST_F(ServerTest, KeepsConnectionsApart) {
  Server& server = listeningServer();
  RawClient a;
  RawClient b;
  uint64_t ida = connect(a);
  uint64_t idb = connect(b);
  ASSERT_NE(ida, idb);
  EXPECT_EQ(2u, server.connectionCount());
  ASSERT_TRUE(a.write("from-a\n"));
  ASSERT_TRUE(b.write("from-b\n"));
  ASSERT_TRUE(runUntil([&] { return frames_.size() == 2; }));
  EXPECT_EQ((std::vector<std::string>{"from-a"}), framesOf(ida));
  EXPECT_EQ((std::vector<std::string>{"from-b"}), framesOf(idb));
}

TEST_F(ServerTest, SendAndFlushReachTheClientInOrder) {
  Server& server = listeningServer();
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  server.send(id, "{\"n\":1}", "\n");
  server.send(id, "{\"n\":2}\n");
  server.send(id + 1000, "lost\n");  // An unknown connection: dropped.
  EXPECT_EQ(15u + 1u, server.find(id)->pendingOutput());
  ASSERT_TRUE(readUntil(client, [&] { return client.lines().size() == 2; }));
  EXPECT_EQ("{\"n\":1}\n{\"n\":2}\n", client.received());
  EXPECT_EQ(0u, server.find(id)->pendingOutput());
  EXPECT_FALSE(client.eof());
}

TEST_F(ServerTest, AnswersFromInsideOnFrameAreFlushedAtTheEndOfTheTurn) {
  Server& server = listeningServer();
  on_frame_ = [&](Connection& c, std::string_view frame) {
    server.send(c.id(), "echo:", std::string(frame) + "\n");
  };
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(readUntil(client, [&] { return client.lines().size() == 1; }));  // The hello.
  ASSERT_TRUE(client.write("x\ny\n"));
  ASSERT_TRUE(readUntil(client, [&] { return client.lines().size() == 3; }));
  EXPECT_EQ("echo:hello\necho:x\necho:y\n", client.received());
}

TEST_F(ServerTest, AHandlerMayCloseTheConnectionFromOnFrame) {
  listeningServer();
  on_frame_ = [](Connection& c, std::string_view frame) {
    if (frame == "close") {
      c.close();
      c.close();  // Idempotent.
    }
  };
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(client.write("close\nafter\n"));
  ASSERT_TRUE(runUntil([&] { return isClosed(id); }));
  EXPECT_EQ((std::vector<std::string>{"close"}), framesOf(id));  // Nothing after the close.
  EXPECT_EQ(1, std::count(closed_.begin(), closed_.end(), id));
  ASSERT_TRUE(readUntil(client, [&] { return client.eof(); }));
}

TEST_F(ServerTest, CloseAfterFlushDeliversQueuedOutputFirst) {
  Server& server = listeningServer();
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  server.send(id, "last words\n");
  server.find(id)->closeAfterFlush();
  ASSERT_TRUE(readUntil(client, [&] { return client.eof(); }));
  EXPECT_EQ("last words\n", client.received());
  ASSERT_TRUE(runUntil([&] { return isClosed(id); }));
}

TEST_F(ServerTest, AnOversizeFrameGetsAnInvalidRequestErrorThenTheConnectionCloses) {
  listeningServer(ServerOptions{.max_frame_bytes = 1024});
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(client.write("fine\n" + std::string(1025, 'x')));  // No newline needed.
  ASSERT_TRUE(readUntil(client, [&] { return client.eof(); }));
  ASSERT_TRUE(runUntil([&] { return isClosed(id); }));
  EXPECT_EQ((std::vector<std::string>{"fine"}), framesOf(id));

  auto lines = client.lines();
  ASSERT_EQ(1u, lines.size()) << client.received();
  json::Document doc;
  std::string error;
  ASSERT_TRUE(json::parse(doc, lines[0], &error)) << error;
  EXPECT_EQ("2.0", json::view(doc["jsonrpc"]));
  EXPECT_TRUE(doc["id"].IsNull());
  EXPECT_EQ(rpc::kInvalidRequest, doc["error"]["code"].GetInt());
  EXPECT_EQ("INVALID_REQUEST", json::view(doc["error"]["data"]["code"]));
  EXPECT_NE(std::string::npos, json::view(doc["error"]["message"]).find("1024"));
}

TEST_F(ServerTest, AFrameExactlyAtTheLimitIsAccepted) {
  listeningServer(ServerOptions{.max_frame_bytes = 1024});
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(client.write(std::string(1024, 'y') + "\n"));
  ASSERT_TRUE(runUntil([&] { return !framesOf(id).empty(); }));
  EXPECT_EQ(1024u, framesOf(id)[0].size());
  EXPECT_FALSE(isClosed(id));
}

TEST_F(ServerTest, RefusesToBindWhereAnotherServerListens) {
  Server& first = listeningServer();
  Server& second = makeServer();
  auto r = second.listenPath(path_, 0600);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kIo, r.error().kind);
  EXPECT_NE(std::string::npos, r.error().message.find(path_)) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find("already listening")) << r.error().message;
  EXPECT_FALSE(second.listening());
  // The first server still owns the path and serves it. (The failed attempt's probe
  // connection was accepted and dropped by the first server.)
  EXPECT_TRUE(first.listening());
  RawClient client;
  uint64_t id = connect(client);
  EXPECT_NE(0u, id);
  EXPECT_TRUE(first.find(id) != nullptr);
}

TEST_F(ServerTest, ReplacesAStaleSocketFile) {
  // A socket file nobody listens on: what a crashed daemon leaves behind.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  ::close(fd);
  struct stat st {};
  ASSERT_EQ(0, ::lstat(path_.c_str(), &st));
  ASSERT_TRUE(S_ISSOCK(st.st_mode));

  Server& server = makeServer();
  auto r = server.listenPath(path_, 0600);
  ASSERT_TRUE(r.ok()) << r.error().message;
  RawClient client;
  EXPECT_NE(0u, connect(client));
}

TEST_F(ServerTest, RefusesToReplaceAFileThatIsNotASocket) {
  { std::ofstream(path_) << "precious"; }
  Server& server = makeServer();
  auto r = server.listenPath(path_, 0600);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.error().message.find("not a socket")) << r.error().message;
  std::ifstream in(path_);
  std::string content;
  in >> content;
  EXPECT_EQ("precious", content);
}

TEST_F(ServerTest, RefusesAPathTooLongForSunPath) {
  Server& server = makeServer();
  auto r = server.listenPath(dir_.path() + "/" + std::string(200, 's'), 0600);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kInvalidArgument, r.error().kind);
  EXPECT_FALSE(server.listening());
}

TEST_F(ServerTest, SetsTheRequestedSocketModeAndRemovesTheFileOnStop) {
  for (int mode : {0600, 0660, 0666}) {
    Server& server = makeServer();
    std::string path = dir_.file("m" + std::to_string(mode) + ".sock");
    auto r = server.listenPath(path, mode);
    ASSERT_TRUE(r.ok()) << r.error().message;
    struct stat st {};
    ASSERT_EQ(0, ::stat(path.c_str(), &st));
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(static_cast<mode_t>(mode), st.st_mode & 07777) << std::oct << mode;
    server.stopListening();
    EXPECT_FALSE(server.listening());
    EXPECT_NE(0, ::lstat(path.c_str(), &st));  // Gone.
  }
}

TEST_F(ServerTest, CutsOffAClientThatNeverReads) {
  constexpr size_t kBound = 64 << 10;
  constexpr size_t kHard = 4 * kBound;
  Server& server =
      listeningServer(ServerOptions{.max_pending_output_bytes = kBound, .max_pending_output_hard_bytes = kHard});
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  const std::string chunk(16 << 10, 'x');
  size_t queued = 0;
  for (int i = 0; i < 8192; ++i) {
    Connection* c = server.find(id);
    if (c == nullptr || c->closing()) {
      break;
    }
    // The pending output never goes past the hard bound.
    EXPECT_LE(c->pendingOutput(), kHard);
    server.send(id, chunk);
    queued += chunk.size();
    uv_run(&loop_, UV_RUN_NOWAIT);  // One turn: flush into the (full) socket.
  }
  ASSERT_TRUE(runUntil([&] { return isClosed(id); })) << "never cut off after " << queued << " bytes";
  // The kernel's socket buffer took some of it; past that, only the bound.
  EXPECT_GT(queued, kBound);
  // What did reach the socket can still be read, then EOF.
  ASSERT_TRUE(readUntil(client, [&] { return client.eof(); }));
  EXPECT_LT(client.received().size(), queued);
  EXPECT_EQ(std::string::npos, client.received().find_first_not_of('x'));
}

TEST_F(ServerTest, AStalledClientIsCutOffPastTheSoftBoundAfterTheStallTimeout) {
  constexpr size_t kBound = 64 << 10;
  Server& server = listeningServer(ServerOptions{
      .max_pending_output_bytes = kBound, .max_pending_output_hard_bytes = 64 * kBound, .stall_timeout_ms = 100});
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  const std::string chunk(16 << 10, 'x');
  // Fill the socket and pass the soft bound; the client just took nothing.
  for (int i = 0; i < 256 && server.find(id) != nullptr && server.find(id)->pendingOutput() <= kBound; ++i) {
    server.send(id, chunk);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  ASSERT_FALSE(isClosed(id)) << "past the soft bound but within the stall timeout: kept";
  uv_sleep(150);
  uv_update_time(&loop_);
  server.send(id, chunk);
  ASSERT_TRUE(runUntil([&] { return isClosed(id); })) << "stalled past the timeout: cut off";
}

TEST_F(ServerTest, AClientThatReadsIsNeverCutOff) {
  constexpr size_t kBound = 64 << 10;
  Server& server = listeningServer(ServerOptions{.max_pending_output_bytes = kBound});
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  const std::string chunk(16 << 10, 'x');
  size_t queued = 0;
  for (int i = 0; i < 128; ++i) {  // 2 MiB, far past the bound in total.
    server.send(id, chunk);
    queued += chunk.size();
    uv_run(&loop_, UV_RUN_NOWAIT);
    client.poll();
  }
  ASSERT_TRUE(readUntil(client, [&] { return client.received().size() == queued; }));
  EXPECT_FALSE(isClosed(id));
  EXPECT_FALSE(client.eof());
}

TEST_F(ServerTest, HalfCloseWaitsForHoldsThenClosesAfterFlushing) {
  Server& server = listeningServer();
  on_frame_ = [&](Connection& c, std::string_view frame) {
    if (frame == "hold") {
      server.hold(c.id());
    }
  };
  RawClient held;
  RawClient plain;
  uint64_t idh = connect(held);
  uint64_t idp = connect(plain);
  ASSERT_NE(0u, idh);
  ASSERT_NE(0u, idp);
  ASSERT_TRUE(held.write("hold\n"));
  ASSERT_TRUE(runUntil([&] { return framesOf(idh).size() == 1; }));

  // Both shut down their sending side; `held` first, so by the time the server has
  // seen `plain`'s EOF it has seen `held`'s too (same epoll wakeup or earlier).
  held.shutdownWrite();
  plain.shutdownWrite();
  ASSERT_TRUE(runUntil([&] { return isClosed(idp); })) << "nothing holds `plain`: it closes at EOF";
  ASSERT_TRUE(readUntil(plain, [&] { return plain.eof(); }));

  // `held` is still open and still gets what it asked for.
  ASSERT_NE(nullptr, server.find(idh));
  EXPECT_FALSE(server.find(idh)->closing());
  server.send(idh, "while held\n");
  ASSERT_TRUE(readUntil(held, [&] { return held.lines().size() == 1; }));
  EXPECT_FALSE(held.eof());
  EXPECT_FALSE(isClosed(idh));

  // The last answer and the release in the same turn: the answer goes out, then EOF.
  server.send(idh, "final answer\n");
  server.release(idh);
  ASSERT_TRUE(readUntil(held, [&] { return held.eof(); }));
  EXPECT_EQ("while held\nfinal answer\n", held.received());
  ASSERT_TRUE(runUntil([&] { return isClosed(idh); }));
}

TEST_F(ServerTest, ReleaseWithoutEofKeepsTheConnection) {
  Server& server = listeningServer();
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  server.hold(id);
  server.release(id);
  server.send(id, "still here\n");
  ASSERT_TRUE(readUntil(client, [&] { return client.lines().size() == 1; }));
  EXPECT_FALSE(isClosed(id));
  EXPECT_FALSE(client.eof());
}

TEST_F(ServerTest, OneUidPastItsShareGetsMinus32005AndIsClosed) {
  ServerOptions o;
  o.max_connections_per_uid = 2;
  Server& server = listeningServer(o);
  RawClient a;
  RawClient b;
  ASSERT_NE(0u, connect(a));
  ASSERT_NE(0u, connect(b));
  RawClient c;
  ASSERT_TRUE(c.connect(path_));
  ASSERT_TRUE(readUntil(c, [&] { return c.eof(); }));
  EXPECT_NE(std::string::npos, c.received().find("-32005")) << c.received();
  EXPECT_NE(std::string::npos, c.received().find("max_connections_per_uid")) << c.received();
  EXPECT_EQ(2u, server.connectionCount());
}

TEST_F(ServerTest, AnUncappedPeerMayPassThePerUidShare) {
  ServerOptions o;
  o.max_connections_per_uid = 1;
  o.uncapped = [](const PeerCred&) { return true; };
  listeningServer(o);
  RawClient a;
  RawClient b;
  ASSERT_NE(0u, connect(a));
  ASSERT_NE(0u, connect(b));
}

TEST_F(ServerTest, ALongLineLeavesNoBufferBehind) {
  Server& server = listeningServer();
  RawClient client;
  uint64_t id = connect(client);
  ASSERT_NE(0u, id);
  ASSERT_TRUE(client.write(std::string(100000, 'x')));
  ASSERT_TRUE(runUntil([&] { return server.partialBytesTotal() > 0; }));
  ASSERT_TRUE(client.write("\n"));
  ASSERT_TRUE(runUntil([&] { return framesOf(id).size() == 1; }));
  EXPECT_EQ(0u, server.partialBytesTotal());
}

TEST_F(ServerTest, CloseAllAndStopListeningLeaveNothingOpen) {
  Server& server = listeningServer();
  RawClient clients[3];
  std::vector<uint64_t> ids;
  for (auto& c : clients) {
    ids.push_back(connect(c));
    ASSERT_NE(0u, ids.back());
  }
  server.send(ids[0], "dropped with the connection\n");
  server.closeAll();
  server.stopListening();
  EXPECT_FALSE(server.listening());
  ASSERT_TRUE(runUntil([&] { return server.connectionCount() == 0; }));
  std::vector<uint64_t> closed = closed_;
  std::sort(closed.begin(), closed.end());
  EXPECT_EQ(ids, closed);  // Each onClosed exactly once.
  for (auto& c : clients) {
    ASSERT_TRUE(readUntil(c, [&] { return c.eof(); }));
    EXPECT_EQ("", c.received());
  }
  struct stat st {};
  EXPECT_NE(0, ::lstat(path_.c_str(), &st));
  RawClient late;
  EXPECT_FALSE(late.connect(path_));
  // Sends after the close are dropped, not crashes.
  server.send(ids[1], "x\n");
  server.flush();
}

}  // namespace
}  // namespace llmq::ipc
