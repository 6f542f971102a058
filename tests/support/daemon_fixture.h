// DaemonFixture: the one GoogleTest fixture of the integration and hostile tests
// that run a real llmqd. It owns a TempDir, the fake upstream (started only when
// a test asks), llmqd itself (a DaemonProcess: its config written to the
// TempDir, its output in llmqd.log, ready when it sends READY=1) and a socket
// client, and it tears them down in that reverse order, so no test leaves a
// process or a file behind. Around them, the small helpers the suites share: the
// upstream's environment, the listeners' ports and token, a lower descriptor
// limit, and bounded waits for llmqd to serve again.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "ipc/client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {

// A made-up OpenRouter key, for tests whose upstream needs one and checks none.
inline constexpr char kFixtureKey[] = "sk-or-v1-test0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b";

// Test thread only, like the processes it owns. A suite derives from it and adds
// its own config and helpers; a parameterised suite derives from it and from
// ::testing::WithParamInterface<P>.
class DaemonFixture : public ::testing::Test {
 protected:
  // Closes client_ and stops llmqd with SIGTERM, expecting a clean exit (a test
  // that killed it, or never started it, skips that). A suite with clients of its
  // own closes them first and then calls this. The members' destructors then kill
  // and reap whatever still runs, llmqd before the fake, and remove dir_.
  void TearDown() override;

  // Starts the fake upstream; a fatal failure if it does not come up.
  void startFake();
  // openRouterEnv() for the fake. Call it after startFake(), which picks the port.
  std::vector<std::string> fakeEnv(const std::string& key = kFixtureKey) const;

  // Starts llmqd on dir_ with `options` and waits (bounded) for READY=1; then,
  // unless `connect` is false, connects client_. A daemon_ of an earlier start is
  // replaced: SIGKILLed and reaped first if it still runs (stop it before, when the
  // test wants a clean exit). On failure the test has a fatal failure and client_
  // is null.
  void launchDaemon(DaemonOptions options, bool connect = true);
  // Closes client_, stops llmqd (a clean exit expected) and starts it again with
  // the same options on the same directory and database, then reconnects client_.
  void restartDaemon();

  // job.get of `id` on client_ (an empty document, with a failure, if it fails).
  json::Document job(const std::string& id);
  // An argv that runs the llmq CLI against this daemon's socket: `args` after
  // LLMQ_CLI_PATH --socket <socket>.
  std::vector<std::string> cliArgv(std::vector<std::string> args) const;

  // The ports of the HTTP front ([api] listen) and of the metrics listener
  // ([metrics] listen) as llmqd logged them, for a config that puts them on port
  // 0; 0 when the log has none. The front's bearer token is in apiToken().
  int apiPort() const;
  int metricsPort() const;
  std::string apiToken() const;

  // Sets RLIMIT_NOFILE of the running llmqd to `limit`, soft and hard (prlimit):
  // a soft limit alone llmqd raises to the hard one when it starts, so a test of
  // running out of descriptors lowers both once it is up. Fatal on failure.
  void limitDescriptors(rlim_t limit);

  // A new connection is served: daemon.status answers with the daemon's pid.
  // Fatal if llmqd is not running or does not take the connection.
  void expectServing();
  // Tries a new connection and one `method` call on it until the call succeeds,
  // for as long as timeout_ms: llmqd serves again once what held it (descriptors,
  // connection slots) is freed, which it notices in its own time.
  [[nodiscard]] ::testing::AssertionResult waitUntilServed(const std::string& method = "daemon.status",
                                                           const std::string& params = "{}",
                                                           int timeout_ms = 60000);

  // Declared in the order they must come up; destroyed in the reverse one.
  TempDir dir_;
  FakeUpstream fake_;
  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<ipc::Client> client_;
};

}  // namespace llmq::testing
