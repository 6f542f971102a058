// Integration: key handling against the fake OpenRouter. The documented
// precedence (a job's own key, then the pool, then OPENROUTER_API_KEY as the last
// resort), a malformed key setting that refuses to start, UNAUTHORIZED (not
// OPENROUTER_SYSTEM_KEY_EXHAUSTED) when every key is invalid, keys.reset and
// breakers.reset (administrators only), and key_source "user" for BYOK jobs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/other_user.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

const std::string kA = "sk-or-v1-testkeysaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";
const std::string kB = "sk-or-v1-testkeysbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
const std::string kSingle = "sk-or-v1-testkeysssssssssssssssssssssssssssss03";
constexpr char kModel[] = "openai/gpt-4o-mini";

class KeysTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  // `env` names the keys; the fake is the base URL.
  void startDaemon(std::vector<std::string> env, const std::string& toml = "") {
    env.push_back("OPENROUTER_BASE_URL=" + fake_.baseUrl());
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n" + toml, .extra_env = std::move(env)});
  }
  void keyFault(const std::string& key, const std::string& fault) {
    HttpResponse r = fake_.post("/_fake/keyfault", "{\"key\":\"" + key + "\",\"fault\":\"" + fault + "\"}");
    ASSERT_EQ(200, r.status) << r.body;
  }
  // name -> state, from keys.status.
  std::map<std::string, std::string> keyStates() {
    json::Document s = callOk(*client_, "keys.status", "{}");
    std::map<std::string, std::string> out;
    for (const auto& k : s["pool"].GetArray()) {
      out[k["name"].GetString()] = k["state"].GetString();
    }
    return out;
  }
  std::vector<std::string> bearers() {
    std::vector<std::string> out;
    for (const FakeRequest& r : fake_.requests()) {
      if (r.path == fake_.path("/chat/completions")) {
        out.push_back(r.header("authorization"));
      }
    }
    return out;
  }
};

// Before: OPENROUTER_API_KEY was rotated in with the pool.
TEST_F(KeysTest, TheSingleKeyIsALastResortBehindThePool) {
  startDaemon({"OPENROUTER_API_KEYS=[\"" + kA + "\",\"" + kB + "\"]", "OPENROUTER_API_KEY=" + kSingle});
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, submit(*client_, kModel)));
  }
  std::set<std::string> used;
  for (const std::string& b : bearers()) {
    used.insert(b);
  }
  EXPECT_EQ((std::set<std::string>{"Bearer " + kA, "Bearer " + kB}), used);

  // 401 on one pool key, 402 on the other: the job moves on and ends on the single key.
  ASSERT_TRUE(fake_.reset());
  keyFault(kA, "401");
  keyFault(kB, "402");
  const std::string id = submit(*client_, kModel, R"("max_attempts":1)");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_EQ("Bearer " + kSingle, bearers().back());
  auto states = keyStates();
  EXPECT_EQ("invalid", states["pool-1"]);
  EXPECT_EQ("exhausted", states["pool-2"]);
  EXPECT_EQ("ok", states["server"]);

  // keys.reset brings them back: the pool is used again, not the single key.
  keyFault(kA, "");
  keyFault(kB, "");
  json::Document one = callOk(*client_, "keys.reset", R"({"name":"pool-1"})");
  ASSERT_EQ(1u, one["reset"].Size());
  EXPECT_STREQ("pool-1", one["reset"][0].GetString());
  EXPECT_EQ("ok", keyStates()["pool-1"]);
  EXPECT_EQ("exhausted", keyStates()["pool-2"]);
  json::Document all = callOk(*client_, "keys.reset", "{}");
  ASSERT_EQ(1u, all["reset"].Size());
  EXPECT_STREQ("pool-2", all["reset"][0].GetString());
  ASSERT_TRUE(fake_.reset());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, submit(*client_, kModel)));
  }
  for (const std::string& b : bearers()) {
    EXPECT_NE("Bearer " + kSingle, b);
  }
  std::string message;
  EXPECT_EQ(-32001, callError(*client_, "keys.reset", R"({"name":"pool-9"})", &message)) << message;
  EXPECT_EQ(-32602, callError(*client_, "keys.reset", R"({"name":7})"));
  EXPECT_EQ(-32602, callError(*client_, "keys.reset", R"({"bogus":true})"));
}

// Before: once every key was invalid, later jobs failed OPENROUTER_SYSTEM_KEY_EXHAUSTED.
TEST_F(KeysTest, EveryKeyInvalidFailsUnauthorized) {
  startDaemon({"OPENROUTER_API_KEYS=[\"" + kA + "\",\"" + kB + "\"]"});
  keyFault(kA, "401");
  keyFault(kB, "401");
  const std::string first = submit(*client_, kModel);
  ASSERT_EQ("failed", waitTerminal(*client_, first));
  EXPECT_STREQ("UNAUTHORIZED", job(first)["error"]["code"].GetString());
  const std::string later = submit(*client_, kModel);
  ASSERT_EQ("failed", waitTerminal(*client_, later));
  EXPECT_STREQ("UNAUTHORIZED", job(later)["error"]["code"].GetString());
  // Fixed upstream side: a reset puts them back to work.
  keyFault(kA, "");
  keyFault(kB, "");
  callOk(*client_, "keys.reset", "{}");
  EXPECT_EQ("succeeded", waitTerminal(*client_, submit(*client_, kModel)));
}

// Before: a JSON array missing its "]" was split as a comma list, and the upstream
// received `Bearer ["sk-or-...`.
TEST_F(KeysTest, AMalformedKeySettingRefusesToStart) {
  const std::string toml = dir_.file("llmqd.toml");
  std::ofstream(toml) << "";
  for (const std::string& bad : {"OPENROUTER_API_KEYS=[\"" + kA + "\",\"" + kB + "\"",
                                 "OPENROUTER_API_KEYS=\"" + kA + "\"", "OPENROUTER_API_KEY=" + kA + " x"}) {
    SCOPED_TRACE(bad);
    CommandResult r = runCommand({LLMQD_PATH, "--check-config", "--config", toml, "--socket", dir_.file("s.sock")},
                                 "", {bad}, 30000);
    EXPECT_NE(0, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find(bad.substr(0, bad.find('=')))) << r.output;
    EXPECT_EQ(std::string::npos, r.output.find(kA)) << "the key is never shown: " << r.output;
  }
}

TEST_F(KeysTest, AJobWithItsOwnKeySaysUser) {
  startDaemon({"OPENROUTER_API_KEY=" + kSingle});
  const std::string own = "sk-or-v1-testkeysownownownownownownownownown04";
  const std::string id = submit(*client_, kModel, "\"api_key\":\"" + own + "\",\"subscribe\":true");
  auto events = readEvents(*client_, [](const Event& e) { return e.name == "started"; });
  ASSERT_FALSE(events.empty());
  EXPECT_NE(std::string::npos, events.back().data.find("\"key_source\":\"user\"")) << events.back().data;
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_STREQ("user", job(id)["key_source"].GetString());
  json::Document status = callOk(*client_, "keys.status", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("user", status["key_source"].GetString());

  const std::string plain = submit(*client_, kModel);
  ASSERT_EQ("succeeded", waitTerminal(*client_, plain));
  EXPECT_STREQ("server", job(plain)["key_source"].GetString());
  EXPECT_STREQ("server", callOk(*client_, "keys.status", "{}")["key_source"].GetString());
  EXPECT_STREQ("server",
               callOk(*client_, "keys.status", "{\"job_id\":\"" + plain + "\"}")["key_source"].GetString());
  EXPECT_EQ(-32001, callError(*client_, "keys.status", R"({"job_id":"j999999999999"})"));
}

// A job's own key becomes an Authorization header: CR/LF would inject headers.
TEST_F(KeysTest, AJobsOwnKeyWithControlCharactersIsRefused) {
  startDaemon({"OPENROUTER_API_KEY=" + kSingle});
  for (const char* bad : {R"(sk-or-v1-test\r\nX-Injected: 1)", R"(sk-or-v1-test\u0000x)", "sk-or-v1-test x"}) {
    SCOPED_TRACE(bad);
    std::string message;
    EXPECT_EQ(-32602, callError(*client_, "job.submit",
                                submitParams(kModel, std::string("\"api_key\":\"") + bad + "\""), &message))
        << message;
  }
  EXPECT_EQ(0u, fake_.requests().size());
}

TEST_F(KeysTest, BreakersResetClosesAnOpenBreaker) {
  startDaemon({"OPENROUTER_API_KEY=" + kSingle}, "[circuit]\nfailures = 1\nwindow_s = 60\ncooldown_s = 3600\n");
  ASSERT_TRUE(fake_.setFault("500"));
  const std::string failed = submit(*client_, kModel, R"("max_attempts":1)");
  ASSERT_EQ("failed", waitTerminal(*client_, failed));
  json::Document status = callOk(*client_, "daemon.status", "{}");
  ASSERT_EQ(1u, status["circuits"].Size()) << json::toString(status["circuits"]);
  const std::string target = status["circuits"][0]["target"].GetString();
  EXPECT_STREQ("open", status["circuits"][0]["state"].GetString());

  ASSERT_TRUE(fake_.setFault(""));
  json::Document r = callOk(*client_, "breakers.reset", std::string("{\"target\":\"") + kModel + "\"}");
  ASSERT_EQ(1u, r["reset"].Size());
  EXPECT_EQ(target, r["reset"][0].GetString());
  EXPECT_EQ(0u, callOk(*client_, "daemon.status", "{}")["circuits"].Size());
  // Runs now, not after the hour-long cooldown.
  EXPECT_EQ("succeeded", waitTerminal(*client_, submit(*client_, kModel)));
  EXPECT_EQ(-32001, callError(*client_, "breakers.reset", R"({"target":"no/such-model"})"));
  EXPECT_EQ(0u, callOk(*client_, "breakers.reset", "{}")["reset"].Size());
}

TEST_F(KeysTest, OnlyAdministratorsMayReset) {
  if (!canActAsOtherUsers()) {
    GTEST_SKIP() << kNeedsOtherUsers;
  }
  ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0755));
  startDaemon({"OPENROUTER_API_KEY=" + kSingle}, "[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"keys", "reset"}, std::vector<std::string>{"keys", "reset", "server"},
        std::vector<std::string>{"breakers", "reset"}}) {
    std::vector<std::string> argv = asUser("nobody", "nogroup");
    const std::vector<std::string> cli = cliArgv(args);
    argv.insert(argv.end(), cli.begin(), cli.end());
    CommandResult r = runCommand(argv, "", {}, 30000);
    EXPECT_EQ(1, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("only administrators")) << r.output;
  }
  // The CLI as the daemon's own user (an administrator).
  CommandResult ok = runCommand({LLMQ_CLI_PATH, "--socket", daemon_->socketPath(), "keys", "reset"}, "", {}, 30000);
  EXPECT_EQ(0, ok.exit_code) << ok.output;
  CommandResult usage = runCommand({LLMQ_CLI_PATH, "--socket", daemon_->socketPath(), "breakers"}, "", {}, 30000);
  EXPECT_EQ(2, usage.exit_code) << usage.output;
}

}  // namespace
}  // namespace llmq::testing
