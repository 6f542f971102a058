// Hostile: the store. A second llmqd on a database that one already serves (by
// the same path, a symlink or a hard link) must refuse to start before it reads
// or requeues anything; every file holding prompts and answers (the database,
// -wal, -shm, backups, the secret key) is private whatever the umask.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-test-store0123456789abcdef0123456789abcdef012345";

mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(0, ::stat(path.c_str(), &st)) << path;
  return st.st_mode & 07777;
}

// Sets the process umask for the scope (llmqd inherits it), then restores it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

std::string jobState(ipc::Client& client, const std::string& id) {
  json::Document job = callOk(client, "job.get", "{\"job_id\":\"" + id + "\"}");
  return job.IsObject() && job.HasMember("state") ? job["state"].GetString() : "";
}

TEST(StoreTest, ASecondDaemonOnTheSameDatabaseRefusesToStartAndSendsNothing) {
  FakeUpstream fake;
  ASSERT_TRUE(fake.start());
  TempDir dir;
  const std::vector<std::string> env = {"OPENROUTER_API_KEY=" + std::string(kKey),
                                        "OPENROUTER_BASE_URL=" + fake.baseUrl()};
  DaemonProcess first(dir.path(), {.extra_env = env});
  ASSERT_TRUE(first.start());
  auto client = first.connect();
  // The fake holds the request: the job stays `running` in the first daemon.
  const std::string id = submit(*client, "fake/fault-hang");
  ASSERT_TRUE(fake.waitForRequests(1, 10000));
  ASSERT_EQ("running", jobState(*client, id));

  // Another socket; the same file by its path, by a symlink and by a hard link.
  TempDir other;
  const std::string symlink = other.file("link.db");
  const std::string hardlink = other.file("hard.db");
  ASSERT_EQ(0, ::symlink(first.dbPath().c_str(), symlink.c_str()));
  ASSERT_EQ(0, ::link(first.dbPath().c_str(), hardlink.c_str()));
  for (const std::string& db : {first.dbPath(), symlink, hardlink}) {
    SCOPED_TRACE(db);
    DaemonProcess second(other.path(), {.extra_args = {"--db", db}, .extra_env = env});
    EXPECT_FALSE(second.start()) << "a second llmqd served " << db;
    const std::string log = second.log();
    EXPECT_NE(std::string::npos, log.find("is in use by llmqd pid " + std::to_string(first.pid()))) << log;
    EXPECT_EQ(std::string::npos, log.find("READY")) << log;
    EXPECT_TRUE(second.notifications().empty() ||
                second.notifications().back().find("READY=1") == std::string::npos);
  }
  // The second daemons have exited: nothing of theirs can reach the fake any more.
  EXPECT_EQ(1u, fake.stats().total) << "the running job was sent upstream again";
  EXPECT_EQ("running", jobState(*client, id)) << "the first daemon's job was requeued";
  json::Document status = callOk(*client, "daemon.status", "{}");
  EXPECT_TRUE(status.IsObject());
}

TEST(StoreTest, TheDaemonStartsAgainOnceTheHolderHasStopped) {
  TempDir dir;
  DaemonProcess first(dir.path());
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(first.stop());
  DaemonProcess again(dir.path());
  ASSERT_TRUE(again.start()) << "the lock outlived its holder";
}

TEST(StoreTest, ALockHeldByACrashedDaemonIsGone) {
  TempDir dir;
  DaemonProcess first(dir.path());
  ASSERT_TRUE(first.start());
  first.kill9();
  DaemonProcess again(dir.path());
  ASSERT_TRUE(again.start());
}

void expectPrivateFiles(mode_t mask) {
  SCOPED_TRACE("umask " + std::to_string(mask));
  ScopedUmask scoped(mask);
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  ASSERT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/private")));
  const std::string backup = dir.file("backup.db");
  callOk(*client, "db.backup", "{\"path\":\"" + backup + "\"}");
  for (const std::string& path : {daemon.dbPath(), daemon.dbPath() + "-wal", daemon.dbPath() + "-shm", backup}) {
    EXPECT_EQ(0600u, modeOf(path)) << path;
  }
  EXPECT_EQ(0600u, modeOf(dir.file("secret.key")));  // Made at every first start.
}

TEST(StoreTest, EveryFileIsPrivateUnderUmask022) { expectPrivateFiles(022); }

TEST(StoreTest, EveryFileIsPrivateUnderUmask000) { expectPrivateFiles(0); }

TEST(StoreTest, FilesLeftReadableByOthersAreNarrowedAtStart) {
  TempDir dir;
  {
    DaemonProcess daemon(dir.path());
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    ASSERT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/wal")));
    daemon.kill9();  // Leaves -wal and -shm behind.
  }
  DaemonProcess daemon(dir.path());
  std::vector<std::string> files = {daemon.dbPath(), daemon.dbPath() + "-wal", daemon.dbPath() + "-shm",
                                    dir.file("secret.key")};
  for (const std::string& path : files) {
    ASSERT_EQ(0, ::chmod(path.c_str(), 0666)) << path;
  }
  ASSERT_TRUE(daemon.start());
  for (const std::string& path : files) {
    EXPECT_EQ(0600u, modeOf(path)) << path;
  }
}

TEST(StoreTest, ABackupNeverWritesThroughASymlinkOrOverAFile) {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  const std::string victim = dir.file("victim");
  {
    std::FILE* f = std::fopen(victim.c_str(), "w");
    std::fputs("keep me", f);
    std::fclose(f);
  }
  const std::string link = dir.file("planted");
  ASSERT_EQ(0, ::symlink(victim.c_str(), link.c_str()));
  std::string message;
  EXPECT_EQ(-32602, callError(*client, "db.backup", "{\"path\":\"" + link + "\"}", &message)) << message;
  EXPECT_EQ(-32602, callError(*client, "db.backup", "{\"path\":\"" + victim + "\"}", &message)) << message;
  EXPECT_TRUE(fileContains(victim, "keep me"));
  // A dangling symlink: following it would create a file where the link points.
  const std::string dangling = dir.file("dangling");
  ASSERT_EQ(0, ::symlink(dir.file("elsewhere").c_str(), dangling.c_str()));
  EXPECT_NE(0, callError(*client, "db.backup", "{\"path\":\"" + dangling + "\"}", &message));
  EXPECT_NE(0, ::access(dir.file("elsewhere").c_str(), F_OK)) << "the backup followed a symlink";
}

// [quota]: a user who is not an administrator, `nobody` here (through setpriv,
// as in tests/integration/access_test.cc), against a socket of its group.
class QuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) {
      GTEST_SKIP() << "needs root and setpriv to run a client as another user";
    }
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0755)) << "nobody must reach the socket";
  }
  void start(const std::string& quota) {
    daemon_ = std::make_unique<DaemonProcess>(
        dir_.path(), DaemonOptions{.config_toml = "[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n"
                                                  "[quota]\n" +
                                                  quota});
    ASSERT_TRUE(daemon_->start());
  }
  // `llmq --json submit ARGS` as nobody; the prompt comes on stdin.
  CommandResult submitAsNobody(const std::string& prompt = "hello") {
    return runCommand({"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", LLMQ_CLI_PATH,
                       "--socket", daemon_->socketPath(), "--json", "submit", "--model", "mock/q", "-"},
                      prompt, {}, 30000, /*merge_stderr=*/true);
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(QuotaTest, UnfinishedJobsStopAtTheLimitAcrossARestartAndComeBackAsJobsFinish) {
  start("max_queued_jobs = 3\n");
  auto admin = daemon_->connect();
  callOk(*admin, "queue.pause", "{}");  // Nothing finishes: every job stays queued.
  for (int i = 0; i < 3; ++i) {
    auto r = submitAsNobody();
    ASSERT_EQ(0, r.exit_code) << "job " << i << " is within the limit: " << r.output;
  }
  auto over = submitAsNobody();
  EXPECT_EQ(1, over.exit_code) << over.output;
  EXPECT_NE(std::string::npos, over.output.find("max_queued_jobs = 3")) << over.output;
  EXPECT_NE(std::string::npos, over.output.find("nobody")) << over.output;
  // Administrators have their own limits (none by default).
  submit(*admin, "mock/admin");
  // The count is the store's: a restart keeps it.
  ASSERT_TRUE(daemon_->stop());
  ASSERT_TRUE(daemon_->start());
  over = submitAsNobody();
  EXPECT_EQ(1, over.exit_code) << "after a restart: " << over.output;
  admin = daemon_->connect();
  callOk(*admin, "queue.resume", "{}");
  // Once nobody's jobs have finished there is room again.
  bool room = false;
  for (int waited = 0; waited < 20000 && !room; waited += 100) {
    json::Document list = callOk(*admin, "job.list", R"({"client":"nobody","state":"queued"})");
    room = list.IsObject() && list.HasMember("jobs") && list["jobs"].Size() == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(room);
  bool accepted = false;
  for (int waited = 0; waited < 20000 && !accepted; waited += 100) {
    accepted = submitAsNobody().exit_code == 0;  // The last may still be finishing.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(accepted);
}

TEST_F(QuotaTest, StoredBytesStopAtTheLimit) {
  start("max_stored_mb = 1\n");
  const std::string big(600 * 1024, 'x');
  auto first = submitAsNobody(big);
  ASSERT_EQ(0, first.exit_code) << first.output.substr(0, 500);
  auto second = submitAsNobody(big);
  EXPECT_EQ(1, second.exit_code) << second.output.substr(0, 500);
  EXPECT_NE(std::string::npos, second.output.find("max_stored_mb = 1")) << second.output.substr(0, 500);
  // A small one still fits under the bound.
  EXPECT_EQ(0, submitAsNobody("small").exit_code);
}

TEST(QuotaAdminTest, AdministratorsHaveTheirOwnLimitWithACode) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[quota]\nadmin_max_queued_jobs = 2\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  callOk(*client, "queue.pause", "{}");
  submit(*client, "mock/a");
  submit(*client, "mock/a");
  std::string message;
  EXPECT_EQ(-32005, callError(*client, "job.submit", submitParams("mock/a"), &message));
  EXPECT_NE(std::string::npos, message.find("admin_max_queued_jobs = 2")) << message;
  // Another label is another owner.
  submit(*client, "mock/a", R"("client":"other")");
}

TEST(QuotaAdminTest, TheHttpFrontAnswers429WithQuotaExceeded) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[api]\nlisten = \"127.0.0.1:0\"\n"
                                                   "[quota]\nadmin_max_queued_jobs = 1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  callOk(*client, "queue.pause", "{}");
  submit(*client, "mock/a", R"("client":"http")");  // The HTTP front's default label.
  const std::string log = daemon.log();
  const size_t at = log.find("API on http://127.0.0.1:");
  ASSERT_NE(std::string::npos, at) << log;
  const int port = std::stoi(log.substr(at + std::strlen("API on http://127.0.0.1:")));
  std::string token;
  std::ifstream(dir.file("api.token")) >> token;
  HttpConnection c;
  ASSERT_TRUE(c.connect(port));
  HttpResponse r = c.request("POST", "/v1/chat/completions",
                             R"({"model":"mock/a","messages":[{"role":"user","content":"hi"}]})",
                             {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  EXPECT_EQ(429, r.status) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("\"quota_exceeded\"")) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("admin_max_queued_jobs = 1")) << r.body;
}

}  // namespace
}  // namespace llmq::testing
