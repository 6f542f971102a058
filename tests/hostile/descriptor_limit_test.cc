// Hostile: more connections than llmqd has descriptors. llmqd runs under a hard
// RLIMIT_NOFILE of 64 (set with prlimit(2) once it is up: a soft limit alone it
// raises at start) while a client opens 150
// connections to the Unix socket, the HTTP front or the metrics listener, all
// open at once before any sends a request (so the test does not depend on how
// fast llmqd serves). Each connection must get a prompt, clear outcome within a generous deadline: served,
// or refused with its protocol's error (-32005 line, 503), or at least closed;
// none may hang. Afterwards a normal client is served. docs/operations.md
// "Bounds" ("Out of descriptors").
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/raw_socket.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

constexpr unsigned long kNofile = 64;
constexpr int kConnections = 150;

struct Outcome {
  int fd = -1;
  std::string got;
  bool ended = false;  // EOF or an error (reset).
};

struct HttpTally {
  int served = 0, refused = 0, closed = 0, hanging = 0;
};

// What the HTTP listeners' connections got: 200, a 503 for want of
// descriptors, a close without either, or nothing yet.
HttpTally tallyHttp(const std::vector<Outcome>& all) {
  HttpTally t;
  for (const Outcome& o : all) {
    if (o.got.rfind("HTTP/1.1 200", 0) == 0) {
      ++t.served;
    } else if (o.got.rfind("HTTP/1.1 503", 0) == 0 && o.got.find("file descriptors") != std::string::npos) {
      ++t.refused;
    } else if (o.ended) {
      ++t.closed;
    } else {
      ++t.hanging;
    }
  }
  return t;
}

// Reads whatever the open connections in `all` have for up to 200 ms.
void readSome(std::vector<Outcome>& all, const std::function<bool(const std::string&)>& done) {
  std::vector<pollfd> fds;
  std::vector<Outcome*> who;
  for (Outcome& o : all) {
    if (!o.ended && !done(o.got)) {
      fds.push_back(pollfd{o.fd, POLLIN, 0});
      who.push_back(&o);
    }
  }
  if (fds.empty() || ::poll(fds.data(), fds.size(), 200) <= 0) {
    return;
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents == 0) {
      continue;
    }
    char buf[4096];
    const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      who[i]->got.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      who[i]->ended = true;
    }
  }
}

// Opens kConnections with `open` and sends nothing until llmqd has answered or
// closed at least one of them (60 s at most): the connections it keeps stay
// open, waiting for a request, so past its descriptors it must refuse some,
// however fast it serves. Then sends `request` on each connection that has
// neither an answer nor an end, reads until each is `done` or ended, or 60 s
// pass, and closes them all.
std::vector<Outcome> storm(const std::function<int()>& open, const std::string& request,
                           const std::function<bool(const std::string&)>& done) {
  std::vector<Outcome> all;
  for (int i = 0; i < kConnections; ++i) {
    Outcome o;
    o.fd = open();
    o.ended = o.fd < 0;  // Refused at connect: an outcome too.
    all.push_back(std::move(o));
  }
  const auto anyOutcome = [&all] {
    for (const Outcome& o : all) {
      if (o.ended || !o.got.empty()) {
        return true;
      }
    }
    return false;
  };
  const auto first_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!anyOutcome() && std::chrono::steady_clock::now() < first_deadline) {
    readSome(all, done);
  }
  for (Outcome& o : all) {
    if (!o.ended && o.got.empty()) {
      ::send(o.fd, request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT);  // May meet a closed peer.
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const auto pending = [&all, &done] {
    for (const Outcome& o : all) {
      if (!o.ended && !done(o.got)) {
        return true;
      }
    }
    return false;
  };
  while (pending() && std::chrono::steady_clock::now() < deadline) {
    readSome(all, done);
  }
  for (Outcome& o : all) {
    if (o.fd >= 0) {
      ::close(o.fd);
    }
  }
  return all;
}

class DescriptorLimitTest : public DaemonFixture {
 protected:
  void start(const std::string& toml) {
    ASSERT_NO_FATAL_FAILURE(launchDaemon({.config_toml = toml}, /*connect=*/false));
    limitDescriptors(kNofile);
  }
  // A normal client of the Unix socket is served again (bounded wait).
  void expectSocketServed() { EXPECT_TRUE(waitUntilServed()) << daemon_->log(); }
};

TEST_F(DescriptorLimitTest, UnixSocketConnectionsPastTheLimitGetALine) {
  start("");
  const auto all = storm([this] { return connectUnixSocket(daemon_->socketPath()); },
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\",\"params\":{}}\n",
                         [](const std::string& got) { return got.find('\n') != std::string::npos; });
  int served = 0, refused = 0, closed = 0, hanging = 0;
  for (const Outcome& o : all) {
    if (o.got.find("\"result\"") != std::string::npos) {
      ++served;
    } else if (o.got.find("-32005") != std::string::npos && o.got.find("file descriptors") != std::string::npos) {
      ++refused;
    } else if (o.ended) {
      ++closed;
    } else {
      ++hanging;
    }
  }
  EXPECT_EQ(0, hanging) << "served " << served << ", refused " << refused << ", closed " << closed;
  EXPECT_GT(served, 0);
  EXPECT_GT(refused, 0) << "served " << served << ", closed " << closed;
  // Every connection past the limit is told why, not closed without a word.
  EXPECT_EQ(kConnections, served + refused)
      << "served " << served << ", refused " << refused << ", closed " << closed;
  EXPECT_NE(std::string::npos, daemon_->log().find("out of file descriptors"));
  expectSocketServed();
}

TEST_F(DescriptorLimitTest, HttpFrontConnectionsPastTheLimitGet503) {
  start("[api]\nlisten = \"127.0.0.1:0\"\n");
  const int port = apiPort();
  ASSERT_GT(port, 0) << daemon_->log();
  const auto all = storm([port] { return connectLoopback(port); },
                         "GET /healthz HTTP/1.1\r\nHost: llmq\r\nConnection: close\r\n\r\n",
                         [](const std::string&) { return false; });
  const auto [served, refused, closed, hanging] = tallyHttp(all);
  EXPECT_EQ(0, hanging) << "served " << served << ", refused " << refused << ", closed " << closed;
  EXPECT_GT(refused, 0) << "served " << served << ", closed " << closed;
  HttpConnection c;
  ASSERT_TRUE(c.connect(port));
  EXPECT_EQ(200, c.request("GET", "/healthz", "", {}, 30000).status);
  expectSocketServed();
}

TEST_F(DescriptorLimitTest, MetricsConnectionsPastTheLimitGet503) {
  start("[metrics]\nlisten = \"127.0.0.1:0\"\n");
  const int port = metricsPort();
  ASSERT_GT(port, 0) << daemon_->log();
  // Idle socket connections take the descriptors (past the headroom they are
  // refused); at most 8 scrapes run at once, so they alone would not.
  const size_t log_from = daemon_->log().size();
  std::vector<int> held;
  for (int i = 0; i < 70; ++i) {
    held.push_back(connectUnixSocket(daemon_->socketPath()));
  }
  EXPECT_TRUE(daemon_->waitForLog("out of file descriptors", log_from, 60000));
  const auto all = storm([port] { return connectLoopback(port); }, "GET /metrics HTTP/1.1\r\nHost: llmq\r\n\r\n",
                         [](const std::string&) { return false; });
  const auto [served, refused, closed, hanging] = tallyHttp(all);
  EXPECT_EQ(0, hanging) << "served " << served << ", refused " << refused << ", closed " << closed;
  EXPECT_GT(refused, 0) << "served " << served << ", closed " << closed;
  for (int fd : held) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  int status = 0;
  waitUntil(
      [&] {
        HttpConnection c;
        status = c.connect(port) ? c.request("GET", "/metrics", "", {}, 30000).status : 0;
        return status == 200;
      },
      60000, "a scrape", 100);
  EXPECT_EQ(200, status);
  expectSocketServed();
}

}  // namespace
}  // namespace llmq::testing
