// Hostile: the store. A second llmqd on a database that one already serves (by
// the same path, a symlink or a hard link) must refuse to start before it reads
// or requeues anything; every file holding prompts and answers (the database,
// -wal, -shm, backups, the secret key) is private whatever the umask.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/other_user.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

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

class StoreTest : public DaemonFixture {
 protected:
  std::string jobState(const std::string& id) {
    json::Document j = job(id);
    return j.IsObject() && j.HasMember("state") ? j["state"].GetString() : "";
  }

  void expectPrivateFiles(mode_t mask) {
    SCOPED_TRACE("umask " + std::to_string(mask));
    ScopedUmask scoped(mask);
    ASSERT_NO_FATAL_FAILURE(launchDaemon({}));
    ASSERT_EQ("succeeded", waitTerminal(*client_, submit(*client_, "mock/private")));
    const std::string backup = dir_.file("backup.db");
    callOk(*client_, "db.backup", "{\"path\":\"" + backup + "\"}");
    const std::string db = daemon_->dbPath();
    for (const std::string& path : {db, db + "-wal", db + "-shm", backup}) {
      EXPECT_EQ(0600u, modeOf(path)) << path;
    }
    EXPECT_EQ(0600u, modeOf(dir_.file("secret.key")));  // Made at every first start.
  }
};

TEST_F(StoreTest, ASecondDaemonOnTheSameDatabaseRefusesToStartAndSendsNothing) {
  ASSERT_NO_FATAL_FAILURE(startFake());
  ASSERT_NO_FATAL_FAILURE(launchDaemon({.extra_env = fakeEnv()}));
  // The fake holds the request: the job stays `running` in the first daemon.
  const std::string id = submit(*client_, "fake/fault-hang");
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  ASSERT_EQ("running", jobState(id));

  // Another socket; the same file by its path, by a symlink and by a hard link.
  TempDir other;
  const std::string symlink = other.file("link.db");
  const std::string hardlink = other.file("hard.db");
  ASSERT_EQ(0, ::symlink(daemon_->dbPath().c_str(), symlink.c_str()));
  ASSERT_EQ(0, ::link(daemon_->dbPath().c_str(), hardlink.c_str()));
  for (const std::string& db : {daemon_->dbPath(), symlink, hardlink}) {
    SCOPED_TRACE(db);
    DaemonProcess second(other.path(), {.extra_args = {"--db", db}, .extra_env = fakeEnv()});
    EXPECT_FALSE(second.start()) << "a second llmqd served " << db;
    const std::string log = second.log();
    EXPECT_NE(std::string::npos, log.find("is in use by llmqd pid " + std::to_string(daemon_->pid()))) << log;
    EXPECT_EQ(std::string::npos, log.find("READY")) << log;
    EXPECT_TRUE(second.notifications().empty() ||
                second.notifications().back().find("READY=1") == std::string::npos);
  }
  // The second daemons have exited: nothing of theirs can reach the fake any more.
  EXPECT_EQ(1u, fake_.stats().total) << "the running job was sent upstream again";
  EXPECT_EQ("running", jobState(id)) << "the first daemon's job was requeued";
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_TRUE(status.IsObject());
}

TEST_F(StoreTest, TheDaemonStartsAgainOnceTheHolderHasStopped) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}, /*connect=*/false));
  ASSERT_TRUE(daemon_->stop());
  ASSERT_TRUE(daemon_->start()) << "the lock outlived its holder";
}

TEST_F(StoreTest, ALockHeldByACrashedDaemonIsGone) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}, /*connect=*/false));
  daemon_->kill9();
  ASSERT_TRUE(daemon_->start());
}

TEST_F(StoreTest, EveryFileIsPrivateUnderUmask022) { expectPrivateFiles(022); }

TEST_F(StoreTest, EveryFileIsPrivateUnderUmask000) { expectPrivateFiles(0); }

TEST_F(StoreTest, FilesLeftReadableByOthersAreNarrowedAtStart) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}));
  ASSERT_EQ("succeeded", waitTerminal(*client_, submit(*client_, "mock/wal")));
  client_.reset();
  daemon_->kill9();  // Leaves -wal and -shm behind.
  const std::string db = daemon_->dbPath();
  std::vector<std::string> files = {db, db + "-wal", db + "-shm", dir_.file("secret.key")};
  for (const std::string& path : files) {
    ASSERT_EQ(0, ::chmod(path.c_str(), 0666)) << path;
  }
  ASSERT_TRUE(daemon_->start());
  for (const std::string& path : files) {
    EXPECT_EQ(0600u, modeOf(path)) << path;
  }
}

TEST_F(StoreTest, ABackupNeverWritesThroughASymlinkOrOverAFile) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}));
  const std::string victim = dir_.file("victim");
  {
    std::FILE* f = std::fopen(victim.c_str(), "w");
    std::fputs("keep me", f);
    std::fclose(f);
  }
  const std::string link = dir_.file("planted");
  ASSERT_EQ(0, ::symlink(victim.c_str(), link.c_str()));
  std::string message;
  EXPECT_EQ(-32602, callError(*client_, "db.backup", "{\"path\":\"" + link + "\"}", &message)) << message;
  EXPECT_EQ(-32602, callError(*client_, "db.backup", "{\"path\":\"" + victim + "\"}", &message)) << message;
  EXPECT_TRUE(fileContains(victim, "keep me"));
  // A dangling symlink: following it would create a file where the link points.
  const std::string dangling = dir_.file("dangling");
  ASSERT_EQ(0, ::symlink(dir_.file("elsewhere").c_str(), dangling.c_str()));
  EXPECT_NE(0, callError(*client_, "db.backup", "{\"path\":\"" + dangling + "\"}", &message));
  EXPECT_NE(0, ::access(dir_.file("elsewhere").c_str(), F_OK)) << "the backup followed a symlink";
}

// [quota]: a user who is not an administrator, `nobody` here (through setpriv,
// as in tests/integration/access_test.cc), against a socket of its group.
class QuotaTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!canActAsOtherUsers()) {
      GTEST_SKIP() << kNeedsOtherUsers;
    }
    ASSERT_EQ(0, ::chmod(dir_.path().c_str(), 0755)) << "nobody must reach the socket";
  }
  void start(const std::string& quota) {
    launchDaemon({.config_toml = "[ipc]\nsocket_mode = \"0660\"\nsocket_group = \"nogroup\"\n"
                                 "[quota]\n" +
                                 quota},
                 /*connect=*/false);
  }
  // `llmq --json submit ARGS` as nobody; the prompt comes on stdin.
  CommandResult submitAsNobody(const std::string& prompt = "hello") {
    std::vector<std::string> argv = asUser("nobody", "nogroup");
    const std::vector<std::string> cli = cliArgv({"--json", "submit", "--model", "mock/q", "-"});
    argv.insert(argv.end(), cli.begin(), cli.end());
    return runCommand(argv, prompt, {}, 30000, /*merge_stderr=*/true);
  }
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
  const auto room = [&] {
    json::Document list = callOk(*admin, "job.list", R"({"client":"nobody","state":"queued"})");
    return list.IsObject() && list.HasMember("jobs") && list["jobs"].Size() == 0;
  };
  ASSERT_TRUE(waitUntil(room, 20000, "no queued job of nobody", 100));
  // The last may still be finishing.
  EXPECT_TRUE(waitUntil([&] { return submitAsNobody().exit_code == 0; }, 20000, "a submit of nobody", 100));
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

class QuotaAdminTest : public DaemonFixture {};

TEST_F(QuotaAdminTest, AdministratorsHaveTheirOwnLimitWithACode) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({.config_toml = "[quota]\nadmin_max_queued_jobs = 2\n"}));
  callOk(*client_, "queue.pause", "{}");
  submit(*client_, "mock/a");
  submit(*client_, "mock/a");
  std::string message;
  EXPECT_EQ(-32005, callError(*client_, "job.submit", submitParams("mock/a"), &message));
  EXPECT_NE(std::string::npos, message.find("admin_max_queued_jobs = 2")) << message;
  // Another label is another owner.
  submit(*client_, "mock/a", R"("client":"other")");
}

TEST_F(QuotaAdminTest, TheHttpFrontAnswers429WithQuotaExceeded) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({.config_toml = "[api]\nlisten = \"127.0.0.1:0\"\n"
                                                       "[quota]\nadmin_max_queued_jobs = 1\n"}));
  callOk(*client_, "queue.pause", "{}");
  submit(*client_, "mock/a", R"("client":"http")");  // The HTTP front's default label.
  const int port = apiPort();
  ASSERT_NE(0, port) << daemon_->log();
  HttpConnection c;
  ASSERT_TRUE(c.connect(port));
  HttpResponse r = c.request("POST", "/v1/chat/completions",
                             R"({"model":"mock/a","messages":[{"role":"user","content":"hi"}]})",
                             {{"Authorization", "Bearer " + apiToken()}, {"Content-Type", "application/json"}});
  EXPECT_EQ(429, r.status) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("\"quota_exceeded\"")) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("admin_max_queued_jobs = 1")) << r.body;
}

}  // namespace
}  // namespace llmq::testing
