// HttpFrontFixture: a real llmqd with its OpenAI-compatible HTTP front on a
// loopback port, in front of the fake upstream (tests/fake_upstream/) as
// OpenRouter, with a made-up server key. The base of the tests that speak HTTP to
// llmqd; a test suite adds its own config with extraConfig().
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {

inline constexpr char kFixtureKey[] = "sk-or-v1-test0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b";

// `text` parsed, or a failed expectation and an empty Document.
inline json::Document parseJsonText(const std::string& text) {
  json::Document d;
  std::string error;
  EXPECT_TRUE(json::parse(d, text, &error)) << error << " in: " << text;
  return d;
}

// The string member `name` of `v`, or "".
inline std::string strMember(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsString() ? std::string(json::view(*m)) : std::string();
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

class HttpFrontFixture : public ::testing::Test {
 protected:
  // TOML appended to the fixture's own ([retry] fast, [api] on port 0 with
  // maxBodyBytes() and a 0.5 s header timeout).
  virtual std::string extraConfig() const { return ""; }
  virtual size_t maxBodyBytes() const { return 65536; }

  void SetUp() override {
    ASSERT_TRUE(fake_.start());
    daemon_ = std::make_unique<DaemonProcess>(
        dir_.path(),
        DaemonOptions{.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n"
                                     "[api]\nlisten = \"127.0.0.1:0\"\nheader_timeout_s = 0.5\n"
                                     "max_body_bytes = " + std::to_string(maxBodyBytes()) + "\n" +
                                     extraConfig(),
                      .extra_env = {"OPENROUTER_API_KEY=" + std::string(kFixtureKey),
                                    "OPENROUTER_BASE_URL=" + fake_.baseUrl()}});
    ASSERT_TRUE(daemon_->start());
    connectBoth();
    std::ifstream in(dir_.path() + "/api.token");
    std::getline(in, token_);
    ASSERT_GE(token_.size(), 16u);
  }
  // Stops llmqd and starts it again on the same database and token (a new port).
  void restart() {
    client_.reset();
    ASSERT_TRUE(daemon_->stop());
    ASSERT_TRUE(daemon_->start());
    connectBoth();
  }
  // The socket client, and the port of the newest "API on" line of the log.
  void connectBoth() {
    client_ = daemon_->connect();
    ASSERT_NE(nullptr, client_);
    // "OpenAI-compatible API on http://127.0.0.1:PORT/v1 (bearer token in FILE)"
    const std::string log = daemon_->log();
    const std::string marker = "API on http://127.0.0.1:";
    const size_t at = log.rfind(marker);
    ASSERT_NE(std::string::npos, at) << log;
    port_ = std::atoi(log.c_str() + at + marker.size());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_ && daemon_->running()) {
      EXPECT_TRUE(daemon_->stop());
    }
  }

  HttpHeaders auth(HttpHeaders more = {}) const {
    more.emplace_back("Authorization", "Bearer " + token_);
    more.emplace_back("Content-Type", "application/json");
    return more;
  }
  static std::string chat(const std::string& model, const std::string& text, const std::string& extra = "") {
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + text + R"("}])" +
           extra + "}";
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
  json::Document job(const std::string& id) {
    return callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
  }
  static std::vector<std::string> events(const std::string& body) { return sseEvents(body); }

  TempDir dir_;
  FakeUpstream fake_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<ipc::Client> client_;
  int port_ = 0;
  std::string token_;
};

}  // namespace llmq::testing
