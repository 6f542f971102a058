// EngineTest: a GoogleTest fixture that builds llmqd's engine (daemon/engine.h)
// in the test process, by the same Engine::build the daemon runs, on a real
// libuv loop and a scratch SQLite database, with a ScriptedProvider serving the
// models `test/*` and the built-in mock serving `mock/*`. Clients are
// in-process connections of the engine's socket server (Server::openLocal) with
// the credentials a test chooses, so the handlers, access checks, scheduler,
// runner, accounting and lifecycle all run as in llmqd, without a process.
//
// Each loop iteration ends with Engine::endTurn(), as in the Daemon. TearDown
// shuts the engine down in the Daemon's order and checks no handle is left.
// A test that adds what the Daemon keeps around the engine (the HTTP front)
// overrides the hooks afterTurn, beforeEngineClose and afterLoopDrained.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/time.h"
#include "common/uv_handle.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/policy/provider_registry.h"
#include "ipc/protocol.h"
#include "ipc/server.h"
#include "store/store.h"
#include "tests/support/loop_test.h"
#include "tests/support/scripted_provider.h"
#include "tests/support/stepped_clock.h"
#include "tests/support/test_db.h"

namespace llmq::testing {

class EngineTest : public LoopTest, public ipc::LocalPeer {
 protected:
  // Generous: only a failing test waits this long, and CI machines are loaded.
  static constexpr int kWaitMs = 30000;

  void SetUp() override {
    LoopTest::SetUp();
    ASSERT_TRUE(db_.ok());
    config_.db_path = db_.path();
    config_.providers.clear();  // Nothing reaches the network.
    config_.catalog.refresh_at_start = false;
    config_.catalog.refresh_ms = 0;
    config_.credit_check_ms = 0;
    config_.retry_base_ms = 1;
    config_.retry_cap_ms = 2;
    config_.mock.first_chunk_delay_ms = 0;
    config_.mock.chunk_delay_ms = 0;
  }

  // Builds the engine over config_ as the test left it.
  void start() {
    auto built = daemon::Engine::build(&loop_, config_, clock_, db_.db());
    ASSERT_TRUE(built.ok()) << built.error().message;
    engine_ = std::move(*built);
    upstream_ = std::make_unique<ScriptedProvider>(&loop_);
    engine_->providers->mount("test/*", *upstream_);
    prepare_ = makeUvHandle<uv_prepare_t>(&loop_, this, uv_prepare_init);
    check_ = makeUvHandle<uv_check_t>(&loop_, this, uv_check_init);
    uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) { static_cast<EngineTest*>(h->data)->endTurn(); });
    uv_check_start(check_.get(), [](uv_check_t* h) { static_cast<EngineTest*>(h->data)->endTurn(); });
  }

  void TearDown() override {
    stop();
    LoopTest::TearDown();
  }

  // Shuts the engine down as the Daemon does (its connections close; what runs
  // goes back to the queue) and builds a new one on the same database, as a
  // restart of llmqd would.
  void restart() {
    stop();
    start();
  }

  // A client of the engine's socket server. The test process's own uid is an
  // administrator (daemon/policy/access.h); any other uid is an ordinary user.
  uint64_t connect(uid_t uid, const std::string& user) {
    ipc::PeerCred cred;
    cred.pid = ::getpid();
    cred.uid = uid;
    cred.gid = uid;
    cred.user = user;
    const uint64_t id = engine_->server->openLocal(this, cred);
    output_[id];
    return id;
  }
  uint64_t admin() { return connect(::getuid(), "admin"); }
  // The client closes its connection while llmqd runs (the engine's onClosed
  // runs at once); the fixture forgets it and what it received.
  void disconnect(uint64_t conn) {
    engine_->server->closeLocal(conn);
    output_.erase(conn);
  }
  // Sends one raw frame (any text, not necessarily JSON-RPC) on a connection;
  // its answers, if any, arrive in lines(conn) as the loop runs.
  void send(uint64_t conn, const std::string& frame) { engine_->server->dispatchLocal(conn, frame); }
  // Runs the loop until the connection has received at least `n` lines.
  bool receives(uint64_t conn, size_t n) {
    return runUntil([&] { return output_[conn].size() >= n; }, kWaitMs);
  }

  // Sends one JSON-RPC call and runs the loop until its answer; returns the
  // answer line (a test failure and "" when none came).
  std::string call(uint64_t conn, const std::string& method, const std::string& params = "{}") {
    const int id = ++last_id_;
    engine_->server->dispatchLocal(conn, "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"" +
                                             method + "\",\"params\":" + params + "}");
    const std::string tag = "\"id\":" + std::to_string(id) + ",";
    const std::string tag_end = "\"id\":" + std::to_string(id) + "}";
    std::string answer;
    bool got = runUntil(
        [&] {
          for (const std::string& line : output_[conn]) {
            if (line.find(tag) != std::string::npos || line.find(tag_end) != std::string::npos) {
              answer = line;
              return true;
            }
          }
          return false;
        },
        kWaitMs);
    EXPECT_TRUE(got) << "no answer to " << method;
    std::erase(output_[conn], answer);
    return answer;
  }
  // The job id ("j_...") a job.submit answer names.
  static std::string jobIdOf(const std::string& answer) {
    json::Document d;
    std::string error;
    if (!json::parse(d, answer, &error) || !d.IsObject()) {
      return "";
    }
    const json::Value* result = json::member(d, "result");
    const json::Value* id = result != nullptr ? json::member(*result, "job_id") : nullptr;
    return id != nullptr && id->IsString() ? std::string(json::view(*id)) : "";
  }
  // Submits a chat request for `model` ("hi"); `extra` adds params after
  // `request` (",\"priority\":3"), `in_request` members of the request itself.
  std::string submit(uint64_t conn, const std::string& model, const std::string& extra = "",
                     const std::string& in_request = "") {
    return jobIdOf(call(conn, "job.submit",
                        "{\"request\":{\"model\":\"" + model +
                            "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + in_request + "}" + extra +
                            "}"));
  }
  // The params {"job_id": ID} of job.get, job.cancel, job.retry, ...
  static std::string jobArg(const std::string& job_id) { return "{\"job_id\":\"" + job_id + "\"}"; }
  // Whether a JSON-RPC answer is an error.
  static bool isError(const std::string& answer) {
    json::Document d;
    std::string error;
    return !json::parse(d, answer, &error) || !d.IsObject() || json::member(d, "error") != nullptr;
  }
  // The member at a dotted path of a JSON-RPC answer ("result.queue.running",
  // "error.data.code"; array elements by index, "result.jobs.0.job_id"), as
  // JSON text: strings keep their quotes. "" when the path is absent.
  static std::string field(const std::string& answer, const std::string& path) {
    json::Document d;
    std::string error;
    if (!json::parse(d, answer, &error)) {
      return "";
    }
    const json::Value* v = &d;
    size_t from = 0;
    while (v != nullptr && from <= path.size()) {
      const size_t dot = std::min(path.find('.', from), path.size());
      const std::string name = path.substr(from, dot - from);
      if (v->IsArray()) {
        const size_t i = static_cast<size_t>(std::strtoul(name.c_str(), nullptr, 10));
        v = i < v->Size() ? &(*v)[static_cast<rapidjson::SizeType>(i)] : nullptr;
      } else {
        v = v->IsObject() ? json::member(*v, name.c_str()) : nullptr;
      }
      from = dot + 1;
    }
    return v != nullptr ? json::toString(*v) : "";
  }
  // The JSON-RPC error code of an answer; 0 when it is not an error.
  static int errorCode(const std::string& answer) {
    const std::string code = field(answer, "error.code");
    return code.empty() ? 0 : std::atoi(code.c_str());
  }
  // A number at a dotted path of an answer (NaN when absent or not a number).
  static double number(const std::string& answer, const std::string& path) {
    const std::string text = field(answer, path);
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    return !text.empty() && end != nullptr && *end == '\0' ? v : std::nan("");
  }
  // The stored job.
  store::JobRecord job(const std::string& job_id) {
    int64_t id = 0;
    EXPECT_TRUE(ipc::parseJobId(job_id, &id)) << job_id;
    auto j = engine_->store->getJob(id);
    EXPECT_TRUE(j.ok() && j->has_value()) << job_id;
    return j.ok() && j->has_value() ? **j : store::JobRecord{};
  }
  store::JobState stateOf(const std::string& job_id) { return job(job_id).state; }
  // Runs the loop until the job is in `state`.
  bool reaches(const std::string& job_id, store::JobState state) {
    return runUntil([&] { return stateOf(job_id) == state; }, kWaitMs);
  }
  // Every notification line a connection received, in order.
  const std::vector<std::string>& lines(uint64_t conn) { return output_[conn]; }
  // The lines a connection received so far, which the fixture then forgets (so
  // a later call() cannot mistake one of them for its answer).
  std::vector<std::string> take(uint64_t conn) { return std::exchange(output_[conn], {}); }

  void onOutput(uint64_t conn_id, std::string_view bytes) override {
    std::vector<std::string>& to = output_[conn_id];
    while (!bytes.empty()) {
      const size_t nl = bytes.find('\n');
      to.emplace_back(bytes.substr(0, nl));
      bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    }
  }

  // Runs after Engine::endTurn() at the end of every turn (the Daemon flushes
  // its HTTP front there).
  virtual void afterTurn() {}
  // Runs on shutdown after Engine::stop() and before Engine::close() (the
  // Daemon flushes and closes its HTTP front there).
  virtual void beforeEngineClose() {}
  // Runs once the loop has delivered every close callback, before the engine is
  // destroyed (the place to destroy what refers to the engine).
  virtual void afterLoopDrained() {}

  TestDb db_;
  daemon::Config config_;
  SteppedClock clock_;  // The wall clock steps only when a test says so.
  std::unique_ptr<daemon::Engine> engine_;
  std::unique_ptr<ScriptedProvider> upstream_;

 private:
  // In the Daemon's order: the engine stops first (shutting_down is set, what
  // runs goes back to the queue), then the in-process connections close (as
  // the HTTP front's do), then the engine closes its handles. Closing the
  // connections first would look like clients going away while llmqd runs,
  // and cancel their cancel_on_disconnect jobs.
  void stop() {
    if (engine_) {
      engine_->stop();
      beforeEngineClose();
      for (const auto& [id, lines] : output_) {
        engine_->server->closeLocal(id);
      }
      engine_->close();
    }
    output_.clear();
    prepare_.reset();
    check_.reset();
    upstream_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    afterLoopDrained();
    engine_.reset();
  }

  void endTurn() {
    if (engine_) {
      engine_->endTurn();
      afterTurn();
    }
  }

  UvHandlePtr<uv_prepare_t> prepare_;
  UvHandlePtr<uv_check_t> check_;
  std::map<uint64_t, std::vector<std::string>> output_;
  int last_id_ = 0;
};

}  // namespace llmq::testing
