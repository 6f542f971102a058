// fuzz_ipc_dispatch: what a client can send llmqd over its socket. The input is
// the byte stream of one connection: LineFramer splits it into frames, and each
// frame goes through the real RpcDispatcher and handlers of a daemon stack wired
// as Daemon::start() wires it, on a fresh SQLite database (a copy of one migrated
// template) with the built-in mock provider only, so nothing leaves the process.
// Every line the daemon writes back must be a JSON-RPC 2.0 object.
//
// Frames arrive from an administrator (our own uid), except lines that begin with
// a space: those come from an ordinary user ("alice"), so both sides of
// daemon/policy/access.h are reached. db.backup would write wherever the input says, so
// frames that ask for it are always sent as alice, who is refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "common/uv_handle.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "ipc/framing.h"
#include "ipc/server.h"
#include "store/database.h"
#include "store/schema.h"

namespace {

using namespace llmq;
using namespace llmq::daemon;

// The loop's own clock from a fixed start, so timestamps and budget periods are
// the same from run to run, while timeouts, deadlines and retry backoffs still
// come due as the loop's timers fire.
class LoopClock final : public Clock {
 public:
  explicit LoopClock(uv_loop_t* loop) : loop_(loop) {}
  void start() { start_ = uv_now(loop_); }
  int64_t nowMs() const override { return 1'700'000'000'000 + static_cast<int64_t>(uv_now(loop_) - start_); }
  // Rate limits and breakers keep time on it: the same loop time, from another start.
  int64_t monoMs() const override { return 1'000'000 + static_cast<int64_t>(uv_now(loop_) - start_); }

 private:
  uv_loop_t* loop_;
  uint64_t start_ = 0;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fuzz_ipc_dispatch: %s\n", what.c_str());
  std::abort();
}

std::string g_dir;  // Private temporary directory: template.db, secret.key, llmq.db.

void copyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in < 0 || out < 0) {
    die("copying " + from + " to " + to + ": " + std::strerror(errno));
  }
  char buf[64 * 1024];
  for (ssize_t n; (n = ::read(in, buf, sizeof buf)) > 0;) {
    if (::write(out, buf, static_cast<size_t>(n)) != n) {
      die("writing " + to + ": " + std::strerror(errno));
    }
  }
  ::close(in);
  ::close(out);
}

void removeDbFiles(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((db + suffix).c_str());
  }
}

void cleanUp() {
  removeDbFiles(g_dir + "/llmq.db");
  removeDbFiles(g_dir + "/template.db");
  ::unlink((g_dir + "/secret.key").c_str());
  ::rmdir(g_dir.c_str());
}

// Every output line must parse as a JSON-RPC 2.0 response or notification.
class CheckingPeer final : public ipc::LocalPeer {
 public:
  void onOutput(uint64_t, std::string_view bytes) override {
    while (!bytes.empty()) {
      size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        die("output does not end in a newline: " + std::string(bytes.substr(0, 200)));
      }
      std::string_view line = bytes.substr(0, nl);
      bytes.remove_prefix(nl + 1);
      if (echo_) {
        std::fprintf(stderr, "< %.*s\n", static_cast<int>(line.size()), line.data());
      }
      json::Document doc;
      std::string error;
      if (!json::parse(doc, line, &error)) {
        die("invalid JSON in the output (" + error + "): " + std::string(line.substr(0, 400)));
      }
      auto isRpc = [](const json::Value& v) {
        const json::Value* version = json::member(v, "jsonrpc");
        return version != nullptr && version->IsString() && json::view(*version) == "2.0";
      };
      bool ok = doc.IsObject() ? isRpc(doc) : doc.IsArray() && !doc.Empty();
      if (doc.IsArray()) {
        for (const json::Value& part : doc.GetArray()) {
          ok = ok && part.IsObject() && isRpc(part);
        }
      }
      if (!ok) {
        die("output line is not a JSON-RPC 2.0 message: " + std::string(line.substr(0, 400)));
      }
    }
  }

 private:
  // LLMQ_FUZZ_ECHO=1 prints what the daemon answers (to check a seed by hand).
  const bool echo_ = std::getenv("LLMQ_FUZZ_ECHO") != nullptr;
};

// The daemon's engine, built by the one wiring llmqd runs (daemon/engine.h), and
// the end of every loop turn as the Daemon runs it; minus the socket, signals,
// timers for systemd, retention and /metrics.
class Stack {
 public:
  Stack(const Config& config, const std::string& db_path) : config_(config) {
    config_.db_path = db_path;  // The secret key goes beside it.
    if (uv_loop_init(&loop_) != 0) {
      die("uv_loop_init failed");
    }
    clock_.start();
    auto db = store::Database::open(db_path, store::OpenOptions{store::Synchronous::kOff});
    if (!db) {
      die(db.error().message);
    }
    db_ = std::move(*db);
    auto engine = Engine::build(&loop_, config_, clock_, *db_);
    if (!engine) {
      die(engine.error().message);
    }
    engine_ = std::move(*engine);
    prepare_ = makeUvHandle<uv_prepare_t>(&loop_, this, uv_prepare_init);
    check_ = makeUvHandle<uv_check_t>(&loop_, this, uv_check_init);
    uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) { static_cast<Stack*>(h->data)->engine_->endTurn(); });
    uv_check_start(check_.get(), [](uv_check_t* h) { static_cast<Stack*>(h->data)->engine_->endTurn(); });
  }

  ~Stack() {
    // Daemon::finishShutdown().
    for (uint64_t id : local_) {
      engine_->server->closeLocal(id);
    }
    engine_->close();
    prepare_.reset();
    check_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    engine_.reset();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) {
      uv_walk(
          &loop_,
          [](uv_handle_t* h, void*) {
            std::fprintf(stderr, "handle left open: %s\n", uv_handle_type_name(h->type));
          },
          nullptr);
      die(std::string("the loop closed with handles open: ") + uv_strerror(rc));
    }
  }

  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  uint64_t openLocal(ipc::PeerCred cred) {
    uint64_t id = engine_->server->openLocal(&peer_, std::move(cred));
    local_.push_back(id);
    return id;
  }
  void closeLocal(uint64_t id) {
    std::erase(local_, id);
    engine_->server->closeLocal(id);
  }
  void dispatch(uint64_t conn, std::string_view frame) { engine_->server->dispatchLocal(conn, frame); }
  // One loop turn without blocking: due timers (the mock provider's), then the
  // end-of-turn step.
  void turn() { uv_run(&loop_, UV_RUN_NOWAIT); }
  // Runs the loop while its next timer is at most `max_wait_ms` away, for at most
  // `budget_ms` in all: the mock's chunks (0 ms), short timeouts, deadlines and
  // retry backoffs (1-2 ms) play out; anything slower is left for the teardown.
  void settle(int max_wait_ms, uint64_t budget_ms) {
    uv_update_time(&loop_);
    const uint64_t end = uv_now(&loop_) + budget_ms;
    for (int i = 0; i < 256 && uv_now(&loop_) < end; ++i) {
      const int wait = uv_backend_timeout(&loop_);
      if (wait < 0 || wait > max_wait_ms) {
        break;
      }
      // Never block in the loop: its end-of-turn step may stop the timer waited
      // for, and the prepare and check handles alone would keep it waiting forever.
      if (wait > 0) {
        uv_sleep(static_cast<unsigned>(wait));
      }
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
  }

 private:
  Config config_;
  uv_loop_t loop_{};
  LoopClock clock_{&loop_};
  CheckingPeer peer_;
  std::vector<uint64_t> local_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Engine> engine_;
  UvHandlePtr<uv_prepare_t> prepare_;
  UvHandlePtr<uv_check_t> check_;
};

Config makeConfig() {
  Config c;
  c.log_level = log::Level::kError;
  c.synchronous = store::Synchronous::kOff;
  c.max_frame_bytes = 64 * 1024;
  c.providers.clear();  // No HTTP provider: only mock/... models can run.
  c.catalog.refresh_at_start = false;
  c.catalog.refresh_ms = 0;
  c.credit_check_ms = 0;
  c.retention.finished_job_ms = 0;
  c.mock.first_chunk_delay_ms = 0;
  c.mock.chunk_delay_ms = 0;
  c.mock.default_tokens = 4;
  c.retry_base_ms = 1;
  c.retry_cap_ms = 2;
  // mock/lim... models are rate limited, so jobs wait on the limiter too.
  c.limits.rules.push_back(LimitRule{LimitScope::kModel, "mock/lim*", 2, 0, 200, 1});
  c.chains["cheap"] = {"mock/a", "mock/b"};
  c.aliases.push_back({"fast", "mock/fast"});
  c.routes.push_back({"coding", {"mock/coder", "fast"}, RouteStrategy::kCostOptimized});
  return c;
}

const Config& config() {
  static const Config c = makeConfig();
  return c;
}

// Does the frame ask for db.backup (alone or in a batch)?
bool asksForBackup(std::string_view frame) {
  json::Document doc;
  std::string error;
  if (!json::parse(doc, frame, &error)) {
    return false;
  }
  auto isBackup = [](const json::Value& v) {
    const json::Value* m = json::member(v, "method");
    return m != nullptr && m->IsString() && json::view(*m) == "db.backup";
  };
  if (doc.IsArray()) {
    for (const json::Value& part : doc.GetArray()) {
      if (isBackup(part)) {
        return true;
      }
    }
    return false;
  }
  return isBackup(doc);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::kError);
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/llmq-fuzz-ipc.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    die(std::string("mkdtemp: ") + std::strerror(errno));
  }
  g_dir = tmpl;
  std::atexit(cleanUp);
  // Migrate once; every input starts from a copy.
  auto db = store::Database::open(g_dir + "/template.db", store::OpenOptions{store::Synchronous::kOff});
  if (!db) {
    die(db.error().message);
  }
  if (auto r = store::migrate(**db); !r) {
    die(r.error().message);
  }
  if (auto r = (*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !r) {
    die(r.error().message);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string db_path = g_dir + "/llmq.db";
  removeDbFiles(db_path);
  copyFile(g_dir + "/template.db", db_path);
  {
    Stack stack(config(), db_path);
    ipc::PeerCred admin{1000, ::getuid(), ::getgid(), "fuzzer"};
    ipc::PeerCred alice{1001, ::getuid() + 4242, ::getgid() + 4242, "alice"};
    const uint64_t admin_conn = stack.openLocal(admin);
    const uint64_t alice_conn = stack.openLocal(alice);

    ipc::LineFramer framer(config().max_frame_bytes);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // Each frame as if it came in its own read: the end-of-turn step runs between them.
    auto on_frame = [&](std::string_view frame) {
      bool as_alice = (!frame.empty() && frame.front() == ' ') || asksForBackup(frame);
      stack.dispatch(as_alice ? alice_conn : admin_conn, frame);
      stack.turn();
      return true;
    };
    // An oversize frame ends the input, as it ends the connection; a last line
    // without its newline is never seen by the server either.
    (void)framer.feed(input, on_frame);
    // Let what was started play out, within bounds.
    stack.settle(/*max_wait_ms=*/2, /*budget_ms=*/10);
    // The peers hang up (subscriptions and waiters go, cancel_on_disconnect runs).
    stack.closeLocal(alice_conn);
    stack.closeLocal(admin_conn);
    stack.turn();
  }
  return 0;
}
