// Integration: database upkeep. `llmq db backup` copies the database while llmqd
// serves, and the copy restores every job; a damaged database is refused at start
// with a clear message rather than trusted.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

TEST(MaintenanceTest, OnlineBackupRestoresEveryJob) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[mock]\nchunk_delay_ms = 2\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  std::vector<std::string> ids;
  ids.reserve(300);
  for (int i = 0; i < 300; ++i) {
    ids.push_back(submit(*client, "mock/backup", "", R"("max_tokens":4)"));
  }
  ASSERT_EQ("succeeded", waitTerminal(*client, ids.back()));
  // While jobs keep coming: a backup through the CLI.
  for (int i = 0; i < 20; ++i) {
    submit(*client, "mock/backup");
  }
  const std::string copy = dir.file("copy.db");
  auto r = runCommand({LLMQ_CLI_PATH, "--socket", daemon.socketPath(), "db", "backup", copy});
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("backed up to " + copy)) << r.output;
  auto again = runCommand({LLMQ_CLI_PATH, "--socket", daemon.socketPath(), "db", "backup", copy});
  EXPECT_EQ(1, again.exit_code) << "never overwrites: " << again.output;
  EXPECT_EQ(-32602, callError(*client, "db.backup", R"({"path":"relative.db"})"));
  client.reset();
  ASSERT_TRUE(daemon.stop());

  // Restore: a daemon on the copy knows every job acknowledged before the backup.
  TempDir other;
  {
    std::ifstream in(copy, std::ios::binary);
    std::ofstream out(other.file("llmq.db"), std::ios::binary);
    out << in.rdbuf();
  }
  DaemonProcess restored(other.path(), {});
  ASSERT_TRUE(restored.start());
  auto c2 = restored.connect();
  for (const std::string& id : ids) {
    json::Document job = callOk(*c2, "job.get", "{\"job_id\":\"" + id + "\"}");
    EXPECT_STREQ("succeeded", job["state"].GetString()) << id;
  }
}

// The answer says how many pages were copied: a small database copies in one
// step, and that step being the last must not make it say 0.
TEST(MaintenanceTest, ABackupAnswersWithThePagesItCopied) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  ASSERT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/backup")));
  const std::string copy = dir.file("small.db");
  json::Document r = callOk(*client, "db.backup", "{\"path\":\"" + copy + "\"}");
  ASSERT_TRUE(r.IsObject());
  EXPECT_GT(r["pages"].GetInt64(), 0) << json::toString(r);
  EXPECT_LT(r["pages"].GetInt64(), 256) << "one step's worth, the case that answered 0";
  EXPECT_EQ(r["bytes"].GetInt64(), r["pages"].GetInt64() * 4096) << json::toString(r);
}

TEST(MaintenanceTest, ADamagedDatabaseIsRefusedAtStart) {
  TempDir dir;
  {
    DaemonProcess daemon(dir.path(), {});
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    for (int i = 0; i < 200; ++i) {
      submit(*client, "mock/x", R"("tags":["padding-padding-padding-padding"])");
    }
    client.reset();
    ASSERT_TRUE(daemon.stop());
  }
  // Scribble over the middle of the file: b-tree pages, not the header.
  const std::string db = dir.file("llmq.db");
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    ASSERT_GT(size, 16 * 4096);
    f.seekp(size / 2);
    std::string junk(8192, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  DaemonProcess daemon(dir.path(), {});
  auto started = daemon.start();
  ASSERT_FALSE(started) << "llmqd started on a damaged database";
  EXPECT_NE(std::string::npos, daemon.log().find("is damaged")) << daemon.log();
}

}  // namespace
}  // namespace llmq::testing
