// Hostile: a second local user. llmqd runs as root with a 0660 socket of a test
// group; two throwaway non-administrator users of that group (created here when
// missing) talk to it through a raw JSON-RPC client (python3) or the llmq CLI run
// under setpriv. Each test plays one user against the other: what one may learn,
// take, block or jump past of the other's work. Skips when not root.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/other_user.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kGroup[] = "llmqhostile";
constexpr char kAlice[] = "llmqhost1";
constexpr char kMallory[] = "llmqhost2";

// Sends each line of stdin as a JSON-RPC request, prints every line received, and
// stops once every request is answered (or after 20 s).
constexpr char kRawClient[] = R"py(
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
want = set()
for line in sys.stdin.read().splitlines():
    if line.strip():
        want.add(json.loads(line)["id"])
        s.sendall(line.encode() + b"\n")
buf = b""
end = time.time() + 20
s.settimeout(1)
while want and time.time() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        print(line.decode(), flush=True)
        msg = json.loads(line)
        want.discard(msg.get("id"))
)py";

bool ensureUsers() {
  if (::getgrnam(kGroup) == nullptr) {
    std::system((std::string("groupadd --system ") + kGroup + " >/dev/null 2>&1").c_str());
  }
  for (const char* user : {kAlice, kMallory}) {
    if (::getpwnam(user) == nullptr) {
      std::system((std::string("useradd --system --no-create-home --shell /usr/sbin/nologin -g ") + kGroup + " " +
                   user + " >/dev/null 2>&1")
                      .c_str());
    }
  }
  return ::getgrnam(kGroup) != nullptr && ::getpwnam(kAlice) != nullptr && ::getpwnam(kMallory) != nullptr;
}

class SecondUidTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!canActAsOtherUsers()) {
      GTEST_SKIP() << "needs root and setpriv to act as two other users";
    }
    if (!ensureUsers()) {
      GTEST_SKIP() << "could not create the test users " << kAlice << " and " << kMallory << " (group " << kGroup
                   << ") with useradd/groupadd";
    }
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0755)) << "the test users must reach the socket";
  }
  void start(const std::string& extra_toml = "", std::vector<std::string> env = {}) {
    const std::string toml =
        std::string("[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"") + kGroup + "\"\n" + extra_toml;
    launchDaemon({.config_toml = toml, .extra_env = std::move(env)}, /*connect=*/false);
  }
  std::vector<std::string> as(const std::string& user) const { return asUser(user, kGroup); }
  // `requests` (one JSON-RPC request a line) on one connection as `user`; the
  // lines received.
  std::vector<std::string> rawAs(const std::string& user, const std::string& requests) const {
    std::vector<std::string> argv = as(user);
    argv.insert(argv.end(), {"/usr/bin/python3", "-c", kRawClient, daemon_->socketPath()});
    CommandResult r = runCommand(argv, requests, {}, 30000, /*merge_stderr=*/false);
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < r.output.size()) {
      size_t nl = r.output.find('\n', start);
      lines.push_back(r.output.substr(start, nl - start));
      start = nl == std::string::npos ? r.output.size() : nl + 1;
    }
    return lines;
  }
  // The answer to request `id` among `lines`, parsed (a null document if none).
  static json::Document answer(const std::vector<std::string>& lines, int id) {
    for (const auto& l : lines) {
      json::Document d;
      if (json::parse(d, l, nullptr) && d.IsObject() && d.HasMember("id") && d["id"].IsInt() &&
          d["id"].GetInt() == id) {
        return d;
      }
    }
    return json::Document();
  }
  static std::string request(int id, const std::string& method, const std::string& params) {
    return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"" + method +
           "\",\"params\":" + params + "}\n";
  }
  static int errorCode(const json::Document& d) {
    return d.IsObject() && d.HasMember("error") ? d["error"]["code"].GetInt() : 0;
  }
  static std::string resultString(const json::Document& d, const char* member) {
    if (!d.IsObject() || !d.HasMember("result") || !d["result"].IsObject() || !d["result"].HasMember(member) ||
        !d["result"][member].IsString()) {
      return "";
    }
    return d["result"][member].GetString();
  }
  static std::string all(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
      out += l + "\n";
    }
    return out;
  }
};

// Mallory guesses alice's idempotency key: she gets a job of her own, neither
// alice's job, its result nor its events; and a key she submits first does not
// poison alice's later submit of it.
TEST_F(SecondUidTest, AnotherUsersIdempotencyKeyFindsNothingAndBlocksNothing) {
  start();
  const std::string key = R"("idempotency_key":"batch:eval:request-1")";
  auto a = rawAs(kAlice, request(1, "job.submit", submitParams("mock/secret", key)));
  const std::string alices = resultString(answer(a, 1), "job_id");
  ASSERT_FALSE(alices.empty()) << all(a);
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  ASSERT_EQ("succeeded", waitTerminal(*root, alices));

  auto m = rawAs(kMallory, request(1, "job.submit", submitParams("mock/other", key + ",\"wait\":true")) +
                               request(2, "job.submit", submitParams("mock/other", key + ",\"subscribe\":true")));
  json::Document waited = answer(m, 1);
  ASSERT_TRUE(waited.IsObject() && waited.HasMember("result")) << all(m);
  EXPECT_NE(alices, resultString(waited, "job_id")) << all(m);
  EXPECT_STREQ(kMallory, waited["result"]["client"].GetString()) << all(m);
  EXPECT_EQ(std::string::npos, all(m).find("mock/secret")) << "alice's job leaked: " << all(m);
  EXPECT_EQ(std::string::npos, all(m).find(alices)) << all(m);

  // Mallory takes a key first; alice's submit of it is still her own new job.
  auto first = rawAs(kMallory, request(1, "job.submit", submitParams("mock/x", R"("idempotency_key":"nightly")")));
  const std::string mallorys = resultString(answer(first, 1), "job_id");
  ASSERT_FALSE(mallorys.empty()) << all(first);
  auto later = rawAs(kAlice, request(1, "job.submit", submitParams("mock/x", R"("idempotency_key":"nightly")")));
  json::Document l = answer(later, 1);
  ASSERT_FALSE(resultString(l, "job_id").empty()) << all(later);
  EXPECT_NE(mallorys, resultString(l, "job_id")) << all(later);
  EXPECT_FALSE(l["result"]["deduplicated"].GetBool()) << all(later);
}

// Mallory reads budgets, key status and daemon status: she sees her own and the
// shared ones, never alice's client names, budgets or the server's key pool.
TEST_F(SecondUidTest, StatusAndBudgetsShowOnlyWhatIsTheirs) {
  start();
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  const std::string alice_client = std::string(kAlice) + ":payroll";
  callOk(*root, "budget.set", "{\"scope\":\"client:" + alice_client + "\",\"period\":\"day\",\"limit_usd\":5}");
  callOk(*root, "budget.set",
         std::string("{\"scope\":\"user:") + kAlice + "\",\"period\":\"day\",\"limit_usd\":6}");
  callOk(*root, "budget.set",
         std::string("{\"scope\":\"user:") + kMallory + "\",\"period\":\"day\",\"limit_usd\":7}");
  callOk(*root, "budget.set", "{\"scope\":\"tag:secret-project\",\"period\":\"day\",\"limit_usd\":8}");
  callOk(*root, "budget.set", "{\"scope\":\"global\",\"period\":\"month\",\"limit_usd\":100}");
  callOk(*root, "queue.pause", "{\"client\":\"" + alice_client + "\"}");
  callOk(*root, "queue.pause", std::string("{\"client\":\"") + kMallory + ":mine\"}");

  auto m = rawAs(kMallory, request(1, "budget.list", "{}") + request(2, "daemon.status", "{}") +
                               request(3, "keys.status", "{}") +
                               request(4, "queue.pause", std::string("{\"client\":\"") + kMallory + ":x\"}") +
                               request(5, "queue.resume", std::string("{\"client\":\"") + kMallory + ":x\"}"));
  const std::string seen = all(m);
  for (int id = 1; id <= 5; ++id) {
    ASSERT_TRUE(answer(m, id).IsObject() && answer(m, id).HasMember("result")) << id << ": " << seen;
  }
  EXPECT_EQ(std::string::npos, seen.find(kAlice)) << "alice's names leaked: " << seen;
  EXPECT_EQ(std::string::npos, seen.find("secret-project")) << seen;
  EXPECT_NE(std::string::npos, seen.find(std::string("user:") + kMallory)) << "her own budget: " << seen;
  EXPECT_NE(std::string::npos, seen.find("\"global\"")) << "the shared budget: " << seen;
  EXPECT_NE(std::string::npos, seen.find(std::string(kMallory) + ":mine")) << "her own pause: " << seen;
  const json::Document keys = answer(m, 3);
  ASSERT_TRUE(keys["result"].HasMember("pool")) << seen;
  EXPECT_EQ(0u, keys["result"]["pool"].Size()) << seen;

  // An administrator still sees everything.
  json::Document budgets = callOk(*root, "budget.list", "{}");
  EXPECT_EQ(5u, budgets["budgets"].Size());
  json::Document status = callOk(*root, "daemon.status", "{}");
  EXPECT_EQ(2u, status["queue_state"]["paused_clients"].Size());
}

// A budget on user:NAME covers every client of that user: a non-administrator
// cannot escape it with --client, and a client: budget stays exact.
TEST_F(SecondUidTest, AUserBudgetCoversEveryClientOfTheUser) {
  start();
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  callOk(*root, "budget.set",
         std::string("{\"scope\":\"user:") + kMallory +
             "\",\"period\":\"day\",\"limit_usd\":0.000000001,\"action\":\"reject\"}");
  auto m = rawAs(kMallory, request(1, "job.submit", submitParams("mock/x")) +
                               request(2, "job.submit", submitParams("mock/x", R"("client":"x")")));
  EXPECT_EQ(-32002, errorCode(answer(m, 1))) << all(m);
  EXPECT_EQ(-32002, errorCode(answer(m, 2))) << "--client x must not escape it: " << all(m);
  auto a = rawAs(kAlice, request(1, "job.submit", submitParams("mock/x", R"("client":"x")")));
  EXPECT_EQ(0, errorCode(answer(a, 1))) << "not alice's budget: " << all(a);
}

// A non-administrator's priority is capped ([access] max_user_priority).
TEST_F(SecondUidTest, AUserCannotJumpTheQueueWithAHugePriority) {
  start("[access]\nmax_user_priority = 50\n");
  auto m = rawAs(kMallory, request(1, "job.submit", submitParams("mock/x", R"("priority":1000)")) +
                               request(2, "job.submit", submitParams("mock/x", R"("priority":50)")));
  json::Document refused = answer(m, 1);
  EXPECT_EQ(-32602, errorCode(refused)) << all(m);
  EXPECT_NE(std::string::npos, all(m).find("max_user_priority")) << all(m);
  EXPECT_EQ(0, errorCode(answer(m, 2))) << "at the cap is fine: " << all(m);
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  callOk(*root, "job.submit", submitParams("mock/x", R"("priority":1000)"));
}

// Without the setting the default cap (100) holds: this half needs no config key
// an older llmqd would refuse, so it fails on a daemon without the cap.
TEST_F(SecondUidTest, TheDefaultPriorityCapHoldsWithoutTheSetting) {
  start();
  auto m = rawAs(kMallory, request(1, "job.submit", submitParams("mock/x", R"("priority":1000)")) +
                               request(2, "job.submit", submitParams("mock/x", R"("priority":100)")));
  EXPECT_EQ(-32602, errorCode(answer(m, 1))) << "a priority of 1000 jumped the queue: " << all(m);
  EXPECT_EQ(0, errorCode(answer(m, 2))) << "at the default cap is fine: " << all(m);
}

// Opens argv[2] connections, one after another; prints for each, once it is
// settled, "held" (still open after 3 s, and answers daemon.status) or what it
// got before EOF; then holds the open ones until the file argv[3] exists (60 s).
constexpr char kHoldClient[] = R"py(
import os, socket, sys, time, json
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
    time.sleep(0.2)
for i, s in enumerate(socks):
    s.settimeout(3)
    try:
        got = s.recv(65536)
        print("conn %d: %s" % (i, ("closed: " + got.decode().strip()) if got else "closed: EOF"), flush=True)
        continue
    except socket.timeout:
        pass
    s.settimeout(30)
    s.sendall(b'{"jsonrpc":"2.0","id":7,"method":"daemon.status","params":{}}\n')
    line = s.makefile().readline()
    print("conn %d: held %s" % (i, "served" if '"result"' in line else line.strip()), flush=True)
end = time.time() + 60
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.1)
)py";

// [ipc] max_connections_per_uid with a real second uid: its connections past the
// cap get -32005 and are closed, while it holds them the daemon's owner (root)
// and another user still connect and are served.
TEST_F(SecondUidTest, ConnectionsPastThePerUidCapAreRefusedAndOthersStillConnect) {
  start("max_connections_per_uid = 3\n");
  const std::string release = dir_.path() + "/release";
  CommandResult mallory;
  std::thread holder([&] {
    std::vector<std::string> argv = as(kMallory);
    argv.insert(argv.end(), {"/usr/bin/python3", "-c", kHoldClient, daemon_->socketPath(), "5", release});
    mallory = runCommand(argv, "", {}, 120000, /*merge_stderr=*/true);
  });
  // Wait (bounded) until llmqd has refused one of them.
  EXPECT_TRUE(daemon_->waitForLog("max_connections_per_uid", 0, 60000));
  // Mallory holds three: root and alice are still served.
  auto root = daemon_->connect();
  EXPECT_TRUE(callOk(*root, "daemon.status", "{}").IsObject());
  const auto lines = rawAs(kAlice, R"({"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{}})");
  EXPECT_TRUE(answer(lines, 1).IsObject() && answer(lines, 1).HasMember("result"));
  std::ofstream(release) << "go";
  holder.join();
  const std::string& out = mallory.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(std::string::npos, out.find("conn " + std::to_string(i) + ": held served")) << out;
  }
  for (int i = 3; i < 5; ++i) {
    const std::string tag = "conn " + std::to_string(i) + ": closed: ";
    const size_t at = out.find(tag);
    ASSERT_NE(std::string::npos, at) << out;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    EXPECT_NE(std::string::npos, line.find("-32005")) << line;
    EXPECT_NE(std::string::npos, line.find("max_connections_per_uid")) << line;
  }
}

// models.list {refresh:true} fetches from the upstream with the server's key:
// one user asking for it again and again (here 20 times on one connection, then
// again) makes llmqd fetch once a minute at most, and every ask is answered with
// the catalog. An administrator still refreshes when it asks.
TEST_F(SecondUidTest, AUserCannotMakeLlmqdFetchTheModelListAtWill) {
  ASSERT_NO_FATAL_FAILURE(startFake());
  start("", fakeEnv("sk-or-v1-test-refresh"));
  auto fetches = [&] {
    int n = 0;
    for (const FakeRequest& r : fake_.requests()) {
      n += r.path.find("/models") != std::string::npos ? 1 : 0;
    }
    return n;
  };
  std::string asks;
  for (int i = 1; i <= 20; ++i) {
    asks += request(i, "models.list", R"({"refresh":true,"limit":1})");
  }
  for (int round = 0; round < 2; ++round) {
    auto m = rawAs(kMallory, asks);
    for (int i = 1; i <= 20; ++i) {
      json::Document d = answer(m, i);
      ASSERT_TRUE(d.IsObject() && d.HasMember("result")) << "ask " << i << ": " << all(m);
    }
  }
  EXPECT_LE(fetches(), 1) << "one user made llmqd fetch the model list " << fetches() << " times";
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  const int before = fetches();
  callOk(*root, "models.list", R"({"refresh":true,"limit":1})");
  EXPECT_EQ(before + 1, fetches()) << "an administrator's refresh fetches";
  EXPECT_TRUE(fake_.stop());
}

// Paused clients are kept and stored by name: one user pauses at most 256 of its
// own clients (-32005 past it), while an administrator still pauses any.
TEST_F(SecondUidTest, AUserPausesAtMostItsShareOfClients) {
  start();
  std::string asks;
  for (int i = 1; i <= 257; ++i) {
    asks += request(i, "queue.pause", std::string("{\"client\":\"") + kMallory + ":c" + std::to_string(i) + "\"}");
  }
  auto m = rawAs(kMallory, asks + request(258, "queue.pause", std::string("{\"client\":\"") + kMallory + ":c1\"}"));
  auto ok = [&](int id) { return answer(m, id).IsObject() && answer(m, id).HasMember("result"); };
  for (int i = 1; i <= 256; ++i) {
    ASSERT_TRUE(ok(i)) << i << ": " << all(m);
  }
  EXPECT_EQ(-32005, errorCode(answer(m, 257))) << all(m);
  EXPECT_TRUE(ok(258)) << "pausing one already paused is fine: " << all(m);
  auto root = daemon_->connect();
  ASSERT_NE(nullptr, root);
  callOk(*root, "queue.pause", std::string("{\"client\":\"") + kMallory + ":c999\"}");
}

}  // namespace
}  // namespace llmq::testing
