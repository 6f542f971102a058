// DaemonFixture: starting, restarting and stopping llmqd and the fake for a test.
#include "tests/support/daemon_fixture.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "tests/support/rpc.h"
#include "tests/support/wait.h"

namespace llmq::testing {

void DaemonFixture::TearDown() {
  client_.reset();
  if (daemon_ && daemon_->running()) {
    EXPECT_TRUE(daemon_->stop());
  }
}

void DaemonFixture::startFake() { ASSERT_TRUE(fake_.start()); }

std::vector<std::string> DaemonFixture::fakeEnv(const std::string& key) const {
  return openRouterEnv(key, fake_.baseUrl());
}

void DaemonFixture::launchDaemon(DaemonOptions options, bool connect) {
  client_.reset();
  // The old process goes before the new one starts: both would use dir_'s socket.
  daemon_.reset();
  daemon_ = std::make_unique<DaemonProcess>(dir_.path(), std::move(options));
  ASSERT_TRUE(daemon_->start());
  if (connect) {
    client_ = daemon_->connect();
    ASSERT_NE(nullptr, client_);
  }
}

void DaemonFixture::restartDaemon() {
  ASSERT_NE(nullptr, daemon_) << "restartDaemon() before launchDaemon()";
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  ASSERT_TRUE(daemon_->start());
  client_ = daemon_->connect();
  ASSERT_NE(nullptr, client_);
}

json::Document DaemonFixture::job(const std::string& id) {
  if (client_ == nullptr) {
    ADD_FAILURE() << "job(" << id << ") without a client";
    return json::Document();
  }
  return callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
}

std::vector<std::string> DaemonFixture::cliArgv(std::vector<std::string> args) const {
  args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon_->socketPath()});
  return args;
}

int DaemonFixture::apiPort() const { return daemon_->apiPort(); }

int DaemonFixture::metricsPort() const { return daemon_->metricsPort(); }

std::string DaemonFixture::apiToken() const {
  std::ifstream in(dir_.file("api.token"));
  std::string token;
  std::getline(in, token);
  return token;
}

void DaemonFixture::limitDescriptors(rlim_t limit) {
  ASSERT_NE(nullptr, daemon_) << "limitDescriptors() before launchDaemon()";
  const rlimit low{limit, limit};
  ASSERT_EQ(0, ::prlimit(daemon_->pid(), RLIMIT_NOFILE, &low, nullptr)) << std::strerror(errno);
}

void DaemonFixture::expectServing() {
  ASSERT_TRUE(daemon_ != nullptr && daemon_->running()) << "llmqd is not running";
  auto fresh = daemon_->connect();
  ASSERT_NE(nullptr, fresh);
  json::Document status = callOk(*fresh, "daemon.status", "{}");
  EXPECT_TRUE(status.IsObject() && status.HasMember("pid"));
}

::testing::AssertionResult DaemonFixture::waitUntilServed(const std::string& method, const std::string& params,
                                                          int timeout_ms) {
  const auto served = [&] {
    auto client = ipc::Client::connect(daemon_->socketPath());
    if (!client) {
      return false;
    }
    auto r = (*client)->call(method, params, 30000);
    return r && r->ok();
  };
  return waitUntil(served, timeout_ms, "a new client's " + method, 100);
}

}  // namespace llmq::testing
