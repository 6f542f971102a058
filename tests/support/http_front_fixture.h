// HttpFrontFixture: a real llmqd with its OpenAI-compatible HTTP front on a
// loopback port, in front of the fake upstream (tests/fake_upstream/) as
// OpenRouter, with a made-up server key: a DaemonFixture with the fake started and
// the front's port and token read. The base of the tests that speak HTTP to
// llmqd; a test suite adds its own config with extraConfig().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"

namespace llmq::testing {

// `text` parsed, or a failed expectation and an empty Document.
inline json::Document parseJsonText(const std::string& text) {
  json::Document d;
  std::string error;
  EXPECT_TRUE(json::parse(d, text, &error)) << error << " in: " << text;
  return d;
}

// The data: payloads of an SSE body, in order.
inline std::vector<std::string> sseEvents(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end == std::string::npos ? body.size() : end + 2;
  }
  return out;
}

class HttpFrontFixture : public DaemonFixture {
 protected:
  // TOML appended to the fixture's own ([retry] fast, [api] on port 0 with
  // maxBodyBytes() and a 0.5 s header timeout).
  virtual std::string extraConfig() const { return ""; }
  virtual size_t maxBodyBytes() const { return 65536; }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startFake());
    ASSERT_NO_FATAL_FAILURE(launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n"
                                                         "[api]\nlisten = \"127.0.0.1:0\"\nheader_timeout_s = 0.5\n"
                                                         "max_body_bytes = " +
                                                         std::to_string(maxBodyBytes()) + "\n" + extraConfig(),
                                          .extra_env = fakeEnv(kFixtureKey)}));
    ASSERT_NO_FATAL_FAILURE(readPort());
    token_ = apiToken();
    ASSERT_GE(token_.size(), 16u);
  }
  // Stops llmqd and starts it again on the same database and token (a new port).
  void restart() {
    ASSERT_NO_FATAL_FAILURE(restartDaemon());
    readPort();
  }
  // The port of the newest "API on" line of the log.
  void readPort() {
    port_ = apiPort();
    ASSERT_NE(0, port_) << daemon_->log();
  }
  HttpHeaders auth(HttpHeaders more = {}) const {
    more.emplace_back("Authorization", "Bearer " + token_);
    more.emplace_back("Content-Type", "application/json");
    return more;
  }
  static std::string chat(const std::string& model, const std::string& text, const std::string& extra = "") {
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + text + R"("}])" + extra + "}";
  }
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body = "",
                       HttpHeaders headers = {}, int timeout_ms = 15000) {
    HttpConnection c;
    EXPECT_TRUE(c.connect(port_));
    return c.request(method, path, body, auth(std::move(headers)), timeout_ms);
  }
  HttpResponse post(const std::string& body, HttpHeaders headers = {}, int timeout_ms = 15000) {
    return request("POST", "/v1/chat/completions", body, std::move(headers), timeout_ms);
  }
  static std::vector<std::string> events(const std::string& body) { return sseEvents(body); }

  int port_ = 0;
  std::string token_;
};

}  // namespace llmq::testing
