// Hostile: an upstream that answers like an attacker, at the byte level
// (tests/hostile/raw_upstream.h): endless or giant headers, a body larger than
// any answer, many large answers at once, a gzip bomb, redirects to another
// host or scheme, an upstream that accepts and never answers, and a base_url
// that is not http(s). Each attempt ends in a documented failure, the daemon
// stays up, and what it holds stays within docs/operations.md "Bounds",
// "Upstream transport".
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tests/hostile/raw_upstream.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/proc_status.h"
#include "tests/support/rpc.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

constexpr char kCompletion[] =
    R"({"id":"gen-raw","object":"chat.completion","model":"openai/gpt-4o-mini","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";

class UpstreamTransportTest : public DaemonFixture {
 protected:
  void start(RawUpstream& upstream, const std::string& toml = "", std::string base_url = "") {
    ASSERT_TRUE(upstream.start());
    if (base_url.empty()) {
      base_url = upstream.baseUrl();
    }
    launchDaemon({.config_toml = toml, .extra_env = openRouterEnv(kFixtureKey, base_url)});
  }
  std::string submitOne(const std::string& extra = "") {
    return submit(*client_, "openai/gpt-4o-mini", R"("max_attempts":1)" + extra);
  }
  // A finished job's error {code, message} as "CODE: message"; "" for a job without one.
  static std::string errorOf(const json::Document& j) {
    if (!j.IsObject() || !j.HasMember("error") || !j["error"].IsObject()) {
      return "";
    }
    return std::string(j["error"]["code"].GetString()) + ": " + j["error"]["message"].GetString();
  }
  // The job's error once it has failed.
  std::string failure(const std::string& id, int timeout_ms = 60000) {
    EXPECT_EQ("failed", waitTerminal(*client_, id, timeout_ms));
    return errorOf(job(id));
  }
};

TEST_F(UpstreamTransportTest, EndlessHeadersFailTheAttempt) {
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    const std::string junk = "X-Junk: " + std::string(1000, 'a') + "\r\n";
    while (self.send(fd, junk)) {
    }
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_EQ(0u, why.rfind("NETWORK: ", 0)) << why;
  EXPECT_LT(peakResidentBytes(daemon_->pid()), 200u << 20);
  expectServing();
}

TEST_F(UpstreamTransportTest, OneGiantHeaderLineFailsTheAttempt) {
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd, "HTTP/1.1 200 OK\r\nRetry-After: ");
    const std::string junk(65536, '9');
    while (self.send(fd, junk)) {
    }
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_EQ(0u, why.rfind("NETWORK: ", 0)) << why;
  expectServing();
}

TEST_F(UpstreamTransportTest, EndlessInterimResponsesFailTheAttempt) {
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    while (self.send(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    }
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_EQ(0u, why.rfind("NETWORK: ", 0)) << why;
  expectServing();
}

TEST_F(UpstreamTransportTest, AnAnswerLargerThanTheCapFailsLocally) {
  // 32 MiB is the cap of one answer; this one has no end.
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"x\":\"");
    const std::string junk(1 << 20, 'a');
    while (self.send(fd, junk)) {
    }
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_NE(std::string::npos, why.find("larger than the daemon accepts")) << why;
  expectServing();
}

TEST_F(UpstreamTransportTest, ChunkedWithAnEnormousChunkSizeFailsLocally) {
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              "7FFFFFFFFFFFFFF\r\n");
    const std::string junk(1 << 20, 'a');
    while (self.send(fd, junk)) {
    }
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_NE(std::string::npos, why.find("larger than the daemon accepts")) << why;
  expectServing();
}

TEST_F(UpstreamTransportTest, AnswersReceivedTogetherAreBoundedInMemory) {
  // Each answer announces 8 MiB (under the 32 MiB cap of one answer), sends
  // 400 KiB and stalls. Six at once pass a 1 MiB bound on all of them together:
  // the attempt whose bytes would pass it fails, retryable, instead of the daemon
  // holding max_inflight times 32 MiB for an upstream that wants it to.
  RawUpstream upstream([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8388608\r\n\r\n" +
                      std::string(400 << 10, ' '));
  });
  start(upstream, "[http]\nmax_buffered_bytes = 1048576\nidle_timeout_s = 600\n");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(submitOne());
  }
  // Wait (bounded) for the first of them to fail; the others stay stalled.
  std::string why;
  const auto oneFailed = [&] {
    for (const std::string& id : ids) {
      json::Document j = job(id);
      if (std::string(j["state"].GetString()) == "failed") {
        why = errorOf(j);
        return true;
      }
    }
    return false;
  };
  waitUntil(oneFailed, 60000, "a failed attempt", 100);
  std::string states;
  for (const std::string& id : ids) {
    states += std::string(" ") + job(id)["state"].GetString();
  }
  EXPECT_NE(std::string::npos, why.find("max_buffered_bytes"))
      << "no attempt failed at the bound: " << why << "; states" << states << "; requests " << upstream.requests()
      << "\n"
      << daemon_->log();
  expectServing();
}

TEST_F(UpstreamTransportTest, OneStalledAnswerDoesNotHoldBackTheOthers) {
  // The first request gets no answer until the test ends; the rest are answered
  // at once. They must reach the upstream while the first still waits.
  std::atomic<int> seen{0};
  RawUpstream upstream([&seen](RawUpstream& self, int fd, const std::string&) {
    if (seen.fetch_add(1) == 0) {
      return;  // Held open by the server, unanswered.
    }
    self.send(fd, std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ") +
                      std::to_string(sizeof kCompletion - 1) + "\r\n\r\n" + kCompletion);
  });
  start(upstream, "[http]\nidle_timeout_s = 600\n");
  const std::string stalled = submitOne();
  waitUntil([&] { return upstream.requests() >= 1; }, 30000, "the first request", 20);
  ASSERT_EQ(1, upstream.requests());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(submitOne());
  }
  for (const std::string& id : ids) {
    EXPECT_EQ("succeeded", waitTerminal(*client_, id, 30000));
  }
  EXPECT_EQ(4, upstream.requests());
  json::Document j = job(stalled);
  EXPECT_STREQ("running", j["state"].GetString());
}

TEST_F(UpstreamTransportTest, AGzipBombIsNotInflated) {
  // 256 MiB of zeros as ~1 MiB of gzip. llmqd asks for no encoding, so it must
  // not inflate one it did not ask for: the attempt fails on the bytes as sent.
  const std::string path = dir_.path() + "/bomb.gz";
  CommandResult made = runCommand({"/bin/sh", "-c", "head -c 268435456 /dev/zero | gzip -1 > " + path});
  ASSERT_EQ(0, made.exit_code) << made.output;
  // Read with stdio: GCC 12 warns (-Wnull-dereference, a false positive in
  // <streambuf>) on istreambuf_iterator inlined here at -O2.
  std::string bomb;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
      bomb.append(buf, n);
    }
    std::fclose(f);
  }
  ASSERT_LT(bomb.size(), 4u << 20);
  RawUpstream upstream([&bomb](RawUpstream& self, int fd, const std::string&) {
    self.send(fd,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
              "Content-Length: " +
                  std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
  });
  start(upstream);
  std::string why = failure(submitOne());
  EXPECT_EQ(0u, why.rfind("UPSTREAM_ERROR: ", 0)) << why;
  EXPECT_LT(peakResidentBytes(daemon_->pid()), 200u << 20);
  expectServing();
}

TEST_F(UpstreamTransportTest, ARedirectIsNeverFollowed) {
  // The second "host" would learn the key if llmqd followed the redirect.
  RawUpstream elsewhere([](RawUpstream& self, int fd, const std::string&) {
    self.send(fd, std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ") +
                      std::to_string(sizeof kCompletion - 1) + "\r\n\r\n" + kCompletion);
  });
  ASSERT_TRUE(elsewhere.start());
  const std::string target = "http://localhost:" + std::to_string(elsewhere.port()) + "/steal";
  for (const std::string& location :
       {target, std::string("file:///etc/passwd"), std::string("gopher://127.0.0.1:1/")}) {
    SCOPED_TRACE(location);
    RawUpstream upstream([&location](RawUpstream& self, int fd, const std::string&) {
      self.send(fd, "HTTP/1.1 307 Temporary Redirect\r\nLocation: " + location + "\r\nContent-Length: 0\r\n\r\n");
    });
    start(upstream);
    std::string why = failure(submitOne());
    EXPECT_NE(std::string::npos, why.find("307")) << why;
    EXPECT_TRUE(daemon_->stop());
    client_.reset();
  }
  EXPECT_EQ(0, elsewhere.requests());
}

TEST_F(UpstreamTransportTest, ABaseUrlThatIsNotHttpRefusesToStart) {
  // A file:// base_url would make llmqd read a local file as the "answer"; curl is
  // held to http and https, and llmqd refuses any other scheme at start.
  const std::string config = dir_.path() + "/empty.toml";
  std::ofstream(config) << "";
  for (const std::string& url : {"file://" + dir_.path() + "/fake-api", std::string("gopher://127.0.0.1:70/")}) {
    CommandResult r =
        runCommand({LLMQD_PATH, "--check-config", "--config", config}, "", openRouterEnv(kFixtureKey, url));
    EXPECT_NE(0, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("OPENROUTER_BASE_URL")) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("http:// or https://")) << r.output;
  }
}

TEST_F(UpstreamTransportTest, AnUpstreamThatNeverAnswersTimesOut) {
  RawUpstream upstream([](RawUpstream&, int, const std::string&) {});  // Reads, then holds.
  start(upstream, "[http]\nidle_timeout_s = 2\n");
  std::string why = failure(submitOne());
  EXPECT_EQ(0u, why.rfind("TIMEOUT: ", 0)) << why;
  expectServing();
}

}  // namespace
}  // namespace llmq::testing
