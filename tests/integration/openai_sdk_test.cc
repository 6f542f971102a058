// Integration: the official OpenAI SDK (Node, from npm) against llmqd's HTTP
// front, forwarding to the fake upstream: chat.completions.create plain and
// streamed, models.list, and its typed errors (tests/openai_sdk/sdk_check.mjs).
// The package is installed from the lock file into the build tree once (npm ci);
// set LLMQ_SKIP_OPENAI_SDK=1 to skip on a machine without npm registry access.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

namespace fs = std::filesystem;
constexpr char kKey[] = "sk-or-v1-test9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928";

// The program's path found on PATH, or "".
std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

TEST(OpenAiSdkTest, TheOfficialSdkWorksAgainstTheHttpFront) {
  if (const char* skip = std::getenv("LLMQ_SKIP_OPENAI_SDK"); skip != nullptr && std::strcmp(skip, "1") == 0) {
    GTEST_SKIP() << "LLMQ_SKIP_OPENAI_SDK=1";
  }
  const std::string node = which("node");
  const std::string npm = which("npm");
  ASSERT_FALSE(node.empty()) << "node is not installed (scripts/bootstrap.sh installs it)";
  ASSERT_FALSE(npm.empty()) << "npm is not installed (scripts/bootstrap.sh installs it)";

  // The SDK, installed once per build tree from the committed lock file.
  const fs::path source = fs::path(LLMQ_SOURCE_DIR) / "tests" / "openai_sdk";
  const fs::path work = fs::path(LLMQ_BUILD_DIR) / "openai_sdk";
  fs::create_directories(work);
  for (const char* f : {"package.json", "package-lock.json", "sdk_check.mjs"}) {
    fs::copy_file(source / f, work / f, fs::copy_options::overwrite_existing);
  }
  if (!fs::exists(work / "node_modules" / "openai" / "package.json")) {
    const std::string cd_and_install = "cd '" + work.string() + "' && '" + npm +
                                       "' ci --no-audit --no-fund --loglevel=error";
    CommandResult install = runCommand({"/bin/sh", "-c", cd_and_install}, "", {}, 300000);
    ASSERT_EQ(0, install.exit_code) << "npm ci failed (no registry access? set LLMQ_SKIP_OPENAI_SDK=1):\n"
                                    << install.output;
  }

  FakeUpstream fake;
  ASSERT_TRUE(fake.start());
  TempDir dir;
  DaemonProcess daemon(dir.path(),
                       DaemonOptions{.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n"
                                                    "[api]\nlisten = \"127.0.0.1:0\"\n",
                                     .extra_env = {"OPENROUTER_API_KEY=" + std::string(kKey),
                                                   "OPENROUTER_BASE_URL=" + fake.baseUrl()}});
  ASSERT_TRUE(daemon.start());
  const std::string log = daemon.log();
  const std::string marker = "API on http://127.0.0.1:";
  const size_t at = log.find(marker);
  ASSERT_NE(std::string::npos, at) << log;
  const int port = std::stoi(log.substr(at + marker.size()));
  std::string token;
  std::ifstream(dir.path() + "/api.token") >> token;

  const std::string run = "cd '" + work.string() + "' && exec '" + node + "' sdk_check.mjs";
  CommandResult r = runCommand({"/bin/sh", "-c", run}, "",
                               {"LLMQ_BASE_URL=http://127.0.0.1:" + std::to_string(port) + "/v1",
                                "LLMQ_TOKEN=" + token, "LLMQ_FAKE_URL=http://127.0.0.1:" + std::to_string(fake.port())},
                               60000);
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("all SDK checks passed")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("costs llmqd's 4 attempts")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("ok - a streamed response ends with response.completed")) << r.output;
  EXPECT_TRUE(daemon.stop());
}

}  // namespace
}  // namespace llmq::testing
