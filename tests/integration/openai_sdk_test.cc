// Integration: real clients (Node, from npm, pinned by lock files) against
// llmqd's HTTP front, forwarding to the fake upstream: the official OpenAI SDK
// (tests/openai_sdk/sdk_check.mjs), and the AI SDK, LangChain and the current
// openai SDK (tests/sdk_clients/clients_check.mjs). Each package is installed
// from its lock file into the build tree (npm ci) when the lock file changed;
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
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

std::string fileText(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Installs the npm package in tests/<package> into the build tree (once, from
// its lock file), starts the fake upstream and llmqd with its HTTP front, runs
// `script` there with LLMQ_BASE_URL, LLMQ_TOKEN and LLMQ_FAKE_URL, and returns
// what it printed; the test fails unless it printed `done_line`.
std::string runClientCheck(const std::string& package, const std::string& script, const std::string& done_line) {
  if (const char* skip = std::getenv("LLMQ_SKIP_OPENAI_SDK"); skip != nullptr && std::strcmp(skip, "1") == 0) {
    return "skipped";
  }
  const std::string node = which("node");
  const std::string npm = which("npm");
  EXPECT_FALSE(node.empty()) << "node is not installed (scripts/bootstrap.sh installs it)";
  EXPECT_FALSE(npm.empty()) << "npm is not installed (scripts/bootstrap.sh installs it)";
  if (node.empty() || npm.empty()) {
    return {};
  }
  const fs::path source = fs::path(LLMQ_SOURCE_DIR) / "tests" / package;
  const fs::path work = fs::path(LLMQ_BUILD_DIR) / package;
  fs::create_directories(work);
  for (const char* f : {"package.json", "package-lock.json"}) {
    fs::copy_file(source / f, work / f, fs::copy_options::overwrite_existing);
  }
  fs::copy_file(source / script, work / script, fs::copy_options::overwrite_existing);
  // Installed again whenever the lock file changed (npm ci empties node_modules first).
  const fs::path stamp = work / "node_modules" / ".llmq-lock";
  const std::string lock = fileText(source / "package-lock.json");
  const std::string installed = fileText(stamp);
  if (installed != lock) {
    const std::string cd_and_install =
        "cd '" + work.string() + "' && '" + npm + "' ci --no-audit --no-fund --loglevel=error";
    CommandResult install = runCommand({"/bin/sh", "-c", cd_and_install}, "", {}, 600000);
    EXPECT_EQ(0, install.exit_code) << "npm ci failed (no registry access? set LLMQ_SKIP_OPENAI_SDK=1):\n"
                                    << install.output;
    if (install.exit_code != 0) {
      return {};
    }
    std::ofstream(stamp) << lock;
  }

  FakeUpstream fake;
  EXPECT_TRUE(fake.start());
  TempDir dir;
  DaemonProcess daemon(dir.path(), DaemonOptions{.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n"
                                                                "[api]\nlisten = \"127.0.0.1:0\"\n",
                                                 .extra_env = openRouterEnv(kKey, fake.baseUrl())});
  EXPECT_TRUE(daemon.start());
  const int port = daemon.apiPort();
  EXPECT_NE(0, port) << daemon.log();
  if (port == 0) {
    return {};
  }
  std::string token;
  std::ifstream(dir.path() + "/api.token") >> token;

  const std::string run = "cd '" + work.string() + "' && exec '" + node + "' " + script;
  CommandResult r =
      runCommand({"/bin/sh", "-c", run}, "",
                 {"LLMQ_BASE_URL=http://127.0.0.1:" + std::to_string(port) + "/v1", "LLMQ_TOKEN=" + token,
                  "LLMQ_FAKE_URL=http://127.0.0.1:" + std::to_string(fake.port())},
                 120000);
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find(done_line)) << r.output;
  EXPECT_TRUE(daemon.stop());
  return r.output;
}

TEST(OpenAiSdkTest, TheOfficialSdkWorksAgainstTheHttpFront) {
  const std::string out = runClientCheck("openai_sdk", "sdk_check.mjs", "all SDK checks passed");
  if (out == "skipped") {
    GTEST_SKIP() << "LLMQ_SKIP_OPENAI_SDK=1";
  }
  EXPECT_NE(std::string::npos, out.find("costs llmqd's 4 attempts")) << out;
  EXPECT_NE(std::string::npos, out.find("ok - a streamed response ends with response.completed")) << out;
}

// The AI SDK (its OpenAI provider, whose default model speaks the Responses API,
// and its OpenAI-compatible one), LangChain and the current openai SDK, pinned in
// tests/sdk_clients (tests/sdk_clients/clients_check.mjs).
TEST(OpenAiSdkTest, TheClientsAgentsUseWorkAgainstTheHttpFront) {
  const std::string out = runClientCheck("sdk_clients", "clients_check.mjs", "all client checks passed");
  if (out == "skipped") {
    GTEST_SKIP() << "LLMQ_SKIP_OPENAI_SDK=1";
  }
  EXPECT_NE(std::string::npos, out.find("LangChain with retries: a persistent 502 costs llmqd's 4 attempts"))
      << out;
  for (const char* embeddings : {"ok - openai embeddings.create (base64 by default)", "ok - AI SDK embedMany",
                                 "ok - LangChain OpenAIEmbeddings embedDocuments"}) {
    EXPECT_NE(std::string::npos, out.find(embeddings)) << out;
  }
}

}  // namespace
}  // namespace llmq::testing
