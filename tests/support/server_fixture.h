// ServerFixture: a LoopTest with real ipc::Servers on Unix sockets in a TempDir,
// acting as their ServerHandler. It records frames and closed connections,
// flushes output once per loop turn (a uv_check_t, as the daemon does), and in
// TearDown closes every connection and waits for the close callbacks, so the
// loop ends empty. Clients are RawClients. Header-only.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/uv_handle.h"
#include "ipc/server.h"
#include "tests/support/loop_test.h"
#include "tests/support/raw_client.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {

struct Frame {
  uint64_t conn;
  std::string text;
};

class ServerFixture : public LoopTest, public ipc::ServerHandler {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    path_ = dir_.file("llmqd.sock");
    // Like the daemon, flush all output once per loop turn.
    check_ = makeUvHandle<uv_check_t>(&loop_, this, uv_check_init);
    ASSERT_TRUE(check_);
    uv_check_start(check_.get(), [](uv_check_t* h) {
      for (auto& s : static_cast<ServerFixture*>(h->data)->servers_) {
        s->flush();
      }
    });
  }

  void TearDown() override {
    for (auto& s : servers_) {
      s->closeAll();
      s->stopListening();
    }
    EXPECT_TRUE(runUntil([&] {
      return std::all_of(servers_.begin(), servers_.end(), [](const auto& s) { return s->connectionCount() == 0; });
    })) << "connections still open at the end of the test";
    servers_.clear();
    check_.reset();
    LoopTest::TearDown();
  }

  // ServerHandler
  void onFrame(ipc::Connection& conn, std::string_view frame) override {
    frames_.push_back({conn.id(), std::string(frame)});
    last_peer_ = conn.peer();
    if (on_frame_) {
      on_frame_(conn, frame);
    }
  }
  void onClosed(uint64_t conn_id) override {
    closed_.push_back(conn_id);
    if (on_closed_) {
      on_closed_(conn_id);
    }
  }

  ipc::Server& makeServer(ipc::ServerOptions options = {}) {
    servers_.push_back(std::make_unique<ipc::Server>(&loop_, this, options));
    return *servers_.back();
  }
  ipc::Server& listeningServer(ipc::ServerOptions options = {}) {
    ipc::Server& s = makeServer(options);
    auto r = s.listenPath(path_, 0600);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return s;
  }

  // Connects `client` and returns the server's id for it, learnt from a "hello" frame.
  uint64_t connect(RawClient& client) {
    if (!client.connect(path_)) {
      ADD_FAILURE() << "connect " << path_ << ": " << std::strerror(client.error());
      return 0;
    }
    size_t before = frames_.size();
    EXPECT_TRUE(client.write("hello\n"));
    if (!runUntil([&] { return frames_.size() > before; })) {
      ADD_FAILURE() << "the server never saw the hello frame";
      return 0;
    }
    uint64_t id = frames_.back().conn;
    frames_.pop_back();
    return id;
  }

  bool isClosed(uint64_t id) const { return std::find(closed_.begin(), closed_.end(), id) != closed_.end(); }
  std::vector<std::string> framesOf(uint64_t conn) const {
    std::vector<std::string> out;
    for (const auto& f : frames_) {
      if (f.conn == conn) {
        out.push_back(f.text);
      }
    }
    return out;
  }
  bool readUntil(RawClient& client, const std::function<bool()>& done) {
    return runUntil([&] {
      client.poll();
      return done();
    });
  }

  TempDir dir_;
  std::string path_;
  std::vector<std::unique_ptr<ipc::Server>> servers_;
  UvHandlePtr<uv_check_t> check_;
  std::vector<Frame> frames_;
  std::vector<uint64_t> closed_;
  ipc::PeerCred last_peer_;
  std::function<void(ipc::Connection&, std::string_view)> on_frame_;
  std::function<void(uint64_t)> on_closed_;
};

}  // namespace llmq::testing
