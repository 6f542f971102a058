// Hostile: the machine's own limits, little memory. llmqd runs in a memory cgroup
// of 128 MiB (cgroup v2 memory.max, or v1 memory.limit_in_bytes where only v1
// has the memory controller) while outsiders push the memory bounds of
// docs/operations.md "Bounds" to their defaults: unfinished lines on the socket
// (max_partial_bytes_total, 64 MiB), HTTP bodies without a token (refused at
// the headers), an upstream stream that never ends (max_response_bytes, 32 MiB);
// and an 8 MiB streamed answer that ends, stored and read back. The kernel must
// never OOM-kill it, and it answers a real client after each. Creating a cgroup
// needs root and a writable cgroup filesystem with the memory controller: the
// test skips without (and under ASan, whose quarantine alone would fill it).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/hostile/raw_upstream.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/proc_status.h"
#include "tests/support/raw_socket.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

// The number after `key ` in a "key value" per line file (memory.events,
// memory.oom_control); -1 when absent.
int64_t keyedValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v) {
    if (k == key) {
      return v;
    }
  }
  return -1;
}

// A memory cgroup of its own, made at the top of the hierarchy and removed when
// the object goes away (after the processes in it have exited).
class MemoryCgroup {
 public:
  // Null, with the reason in *why_not, where this machine cannot give one.
  static std::unique_ptr<MemoryCgroup> create(size_t limit_bytes, std::string* why_not) {
    if (::geteuid() != 0) {
      *why_not = "creating a cgroup needs root; running as uid " + std::to_string(::geteuid());
      return nullptr;
    }
    const std::string name = "llmq-test-" + std::to_string(::getpid());
    // cgroup v2, mounted at /sys/fs/cgroup or (hybrid) /sys/fs/cgroup/unified.
    for (const std::string root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
      const std::string controllers = readFile(root + "/cgroup.controllers");
      if (controllers.find("memory") == std::string::npos) {
        continue;
      }
      if (readFile(root + "/cgroup.subtree_control").find("memory") == std::string::npos &&
          !writeFile(root + "/cgroup.subtree_control", "+memory")) {
        *why_not = "cannot enable +memory in " + root + "/cgroup.subtree_control: " + std::strerror(errno);
        return nullptr;
      }
      std::unique_ptr<MemoryCgroup> g(new MemoryCgroup(root + "/" + name, true));
      if (::mkdir(g->path_.c_str(), 0755) != 0) {
        *why_not = "cannot create " + g->path_ + ": " + std::strerror(errno);
        return nullptr;
      }
      g->made_ = true;
      if (!writeFile(g->path_ + "/memory.max", std::to_string(limit_bytes))) {
        *why_not = "cannot set " + g->path_ + "/memory.max: " + std::strerror(errno);
        return nullptr;
      }
      writeFile(g->path_ + "/memory.swap.max", "0");  // Absent without swap accounting.
      return g;
    }
    const std::string v1 = "/sys/fs/cgroup/memory";
    if (::access((v1 + "/memory.limit_in_bytes").c_str(), W_OK) != 0) {
      *why_not = "no cgroup v2 hierarchy with the memory controller and no writable cgroup v1 memory hierarchy";
      return nullptr;
    }
    std::unique_ptr<MemoryCgroup> g(new MemoryCgroup(v1 + "/" + name, false));
    if (::mkdir(g->path_.c_str(), 0755) != 0) {
      *why_not = "cannot create " + g->path_ + ": " + std::strerror(errno);
      return nullptr;
    }
    g->made_ = true;
    if (!writeFile(g->path_ + "/memory.limit_in_bytes", std::to_string(limit_bytes))) {
      *why_not = "cannot set " + g->path_ + "/memory.limit_in_bytes: " + std::strerror(errno);
      return nullptr;
    }
    writeFile(g->path_ + "/memory.memsw.limit_in_bytes", std::to_string(limit_bytes));  // No swap either.
    // What the process already holds moves with it (v2 has no such switch).
    writeFile(g->path_ + "/memory.move_charge_at_immigrate", "3");
    if (keyedValue(readFile(g->path_ + "/memory.oom_control"), "oom_kill") < 0) {
      *why_not = "this kernel's cgroup v1 memory.oom_control does not count OOM kills";
      return nullptr;
    }
    return g;
  }

  ~MemoryCgroup() {
    if (!made_) {
      return;
    }
    // The processes in it were stopped by their owners; an exiting one may
    // linger a moment.
    for (int i = 0; i < 500 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  bool add(pid_t pid) { return writeFile(path_ + "/cgroup.procs", std::to_string(pid)); }
  int64_t oomKills() const {
    return v2_ ? keyedValue(readFile(path_ + "/memory.events"), "oom_kill")
               : keyedValue(readFile(path_ + "/memory.oom_control"), "oom_kill");
  }
  // Times the limit was hit (reclaim was needed): v2 memory.events max, v1 failcnt.
  int64_t limitHits() const {
    if (v2_) {
      return keyedValue(readFile(path_ + "/memory.events"), "max");
    }
    const std::string s = readFile(path_ + "/memory.failcnt");
    return s.empty() ? -1 : std::stoll(s);
  }
  // The most it held (v2 memory.peak needs Linux 5.19); 0 when unknown.
  size_t peakBytes() const {
    const std::string s = readFile(path_ + (v2_ ? "/memory.peak" : "/memory.max_usage_in_bytes"));
    return s.empty() ? 0 : std::stoull(s);
  }
  const std::string& path() const { return path_; }

 private:
  MemoryCgroup(std::string path, bool v2) : path_(std::move(path)), v2_(v2) {}
  std::string path_;
  bool v2_;
  bool made_ = false;
};

constexpr size_t kLimit = 128u << 20;

std::string sseChunk(const std::string& content) {
  return R"(data: {"id":"gen-raw","object":"chat.completion.chunk","model":"openai/gpt-4o-mini",)"
         R"("choices":[{"index":0,"delta":{"content":")" +
         content + "\"},\"finish_reason\":null}]}\n\n";
}

// llmqd in a 128 MiB memory cgroup, its upstream a RawUpstream that streams:
// "/endless" models for ever, any other model `answer_bytes` of text in 64 KiB
// deltas, then [DONE].
class MemoryLimitTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!kResidentMemoryIsMeaningful) {
      GTEST_SKIP() << "ASan's quarantine and shadow memory would fill the cgroup";
    }
    std::string why_not;
    cgroup_ = MemoryCgroup::create(kLimit, &why_not);
    if (cgroup_ == nullptr) {
      GTEST_SKIP() << "no memory cgroup for llmqd: " << why_not;
    }
  }
  void TearDown() override {
    DaemonFixture::TearDown();
    daemon_.reset();  // Out of the cgroup before it goes.
    upstream_.reset();
  }
  void start(size_t answer_bytes) {
    upstream_ =
        std::make_unique<RawUpstream>([answer_bytes](RawUpstream& self, int fd, const std::string& request) {
          self.send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
          const std::string chunk = sseChunk(std::string(65536, 'a'));
          const bool endless = request.find("endless") != std::string::npos;
          for (size_t sent = 0; endless || sent < answer_bytes; sent += 65536) {
            if (!self.send(fd, chunk)) {
              return;
            }
          }
          self.send(fd, R"(data: {"id":"gen-raw","object":"chat.completion.chunk","model":"openai/gpt-4o-mini",)"
                        R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}],)"
                        R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})"
                        "\n\ndata: [DONE]\n\n");
          ::shutdown(fd, SHUT_RDWR);
        });
    ASSERT_TRUE(upstream_->start());
    ASSERT_NO_FATAL_FAILURE(
        launchDaemon({.config_toml = "[api]\nlisten = \"127.0.0.1:0\"\n[ipc]\nline_timeout_s = 600\n",
                      .extra_env = openRouterEnv(kFixtureKey, upstream_->baseUrl())},
                     /*connect=*/false));
    ASSERT_TRUE(cgroup_->add(daemon_->pid())) << cgroup_->path() << ": " << std::strerror(errno);
    client_ = daemon_->connect();
    ASSERT_NE(nullptr, client_);
  }
  // Not OOM-killed, up, and a new client's job runs.
  void expectAnswers(const char* after) {
    SCOPED_TRACE(after);
    ASSERT_EQ(0, cgroup_->oomKills()) << "llmqd was OOM-killed\n" << daemon_->log();
    ASSERT_EQ(0, ::kill(daemon_->pid(), 0));
    auto fresh = daemon_->connect();
    ASSERT_NE(nullptr, fresh);
    EXPECT_EQ("succeeded", waitTerminal(*fresh, submit(*fresh, "mock/after")));
    std::printf("llmqd in a %zu MiB cgroup, after %s: peak %zu MiB\n", kLimit >> 20, after,
                cgroup_->peakBytes() >> 20);
  }

  std::unique_ptr<MemoryCgroup> cgroup_;  // Removed once llmqd has exited (TearDown).
  std::unique_ptr<RawUpstream> upstream_;
};

// Outsiders at the bounds, one after the other: unfinished lines on the socket
// (64 MiB over all connections), HTTP bodies without a token, an upstream stream
// that never ends (32 MiB of content).
TEST_F(MemoryLimitTest, ClientsAndAnEndlessStreamAtTheirBoundsDoNotGetItOomKilled) {
  start(0);
  expectAnswers("start");

  // 1. Unfinished lines: 24 connections of almost 4 MiB each (96 MiB) against the
  // default 64 MiB over all of them, all held at once.
  {
    const std::string chunk(256 * 1024, 'x');
    std::vector<std::unique_ptr<UnixStream>> socks;
    int cut = 0;
    for (int i = 0; i < 24; ++i) {
      socks.push_back(std::make_unique<UnixStream>(daemon_->socketPath(), 5000));
      ASSERT_TRUE(socks.back()->ok());
      bool sent = socks.back()->send(R"({"jsonrpc":"2.0","id":1,"method":")");
      for (int k = 0; k < 15 && sent; ++k) {
        sent = socks.back()->send(chunk);
      }
      cut += sent ? 0 : 1;
    }
    expectAnswers("unfinished lines held");
    EXPECT_GT(cut, 0) << "96 MiB of unfinished lines were all accepted";
  }
  expectAnswers("unfinished lines gone");

  // 2. HTTP bodies without a token: 100 requests announcing 4 MB each.
  {
    const int port = apiPort();
    ASSERT_NE(0, port) << daemon_->log();
    const std::string chunk(1 << 20, 'x');
    std::vector<std::unique_ptr<HttpConnection>> conns;
    for (int i = 0; i < 100; ++i) {
      conns.push_back(std::make_unique<HttpConnection>());
      ASSERT_TRUE(conns.back()->connect(port));
      sendAll(conns.back()->fd(),
              "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: 4000000\r\n\r\n");
    }
    int refused = 0;
    for (auto& c : conns) {
      sendAll(c->fd(), chunk);
      refused += c->readUntil("401", 15000) ? 1 : 0;
    }
    EXPECT_EQ(100, refused);
  }
  expectAnswers("bodies without a token");

  // 3. A stream that never ends: the attempt fails at max_response_bytes.
  const std::string endless = submit(*client_, "openai/endless", R"("max_attempts":1)", R"("stream":true)");
  EXPECT_EQ("failed", waitTerminal(*client_, endless));
  expectAnswers("an endless stream");
}

// A streamed answer that ends is stored, announced and read back: llmqd holds
// copies of it meanwhile (docs/operations.md "Upstream answers" says how many),
// so an 8 MiB answer fits in 128 MiB.
TEST_F(MemoryLimitTest, AnEightMibAnswerIsStoredAndReadBack) {
  start(8u << 20);
  expectAnswers("start");
  const std::string big = submit(*client_, "openai/big", R"("max_attempts":1)", R"("stream":true)");
  EXPECT_EQ("succeeded", waitTerminal(*client_, big, 120000));
  expectAnswers("an 8 MiB answer");
}

}  // namespace
}  // namespace llmq::testing
