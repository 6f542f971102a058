// DaemonFixture: starting, restarting and stopping llmqd and the fake for a test.
#include "tests/support/daemon_fixture.h"

#include <utility>

#include "tests/support/rpc.h"

namespace llmq::testing {

void DaemonFixture::TearDown() {
  client_.reset();
  if (daemon_ && daemon_->running()) {
    EXPECT_TRUE(daemon_->stop());
  }
}

void DaemonFixture::startFake() { ASSERT_TRUE(fake_.start()); }

std::vector<std::string> DaemonFixture::fakeEnv(const std::string& key) const {
  return {"OPENROUTER_API_KEY=" + key, "OPENROUTER_BASE_URL=" + fake_.baseUrl()};
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

}  // namespace llmq::testing
