// Hostile: the machine's own limits, a small disk. llmqd's database lives on a
// tmpfs of 12 MiB (a real ENOSPC from write(2), not the [store] max_page_count
// stand-in of tests/integration/disk_full_test.cc) and a client submits jobs until
// it is full. docs/operations.md "Disk space": a submit past the full disk is
// refused with -32006 rather than acknowledged and lost; every acknowledged job
// is kept and completes once space is freed, without a restart; llmqd stays up,
// stops cleanly, starts again on the same file, and the file passes PRAGMA
// integrity_check. Mounting needs CAP_SYS_ADMIN: the test skips without it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/proc_status.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

// A tmpfs of `bytes` mounted on `path` for the scope: unmounted (lazily, so
// even while something still holds a file there) when the object goes away,
// whatever the test's outcome.
class TmpfsMount {
 public:
  TmpfsMount(std::string path, size_t bytes) : path_(std::move(path)) {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("llmq-test", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) {
      ::umount2(path_.c_str(), MNT_DETACH);
    }
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `bytes` of data the filesystem must hold (not a sparse file).
bool writeBallast(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(65536, 'b');
  for (size_t done = 0; done < bytes && out; done += block.size()) {
    out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  out.close();
  return static_cast<bool>(out);
}

// PRAGMA integrity_check on a database no one is writing: "ok", or what is wrong.
std::string integrityCheck(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return "cannot open: " + error;
  }
  std::string out;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      out += (out.empty() ? "" : "\n") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
  } else {
    out = sqlite3_errmsg(db);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// A submit whose row needs new pages: 32 KiB of prompt, a short mock answer.
std::string fillerParams(int i) {
  return R"({"request":{"model":"mock/fill","max_tokens":4,"messages":[{"role":"user","content":")" +
         std::to_string(i) + std::string(32768, 'x') + R"("}]},"idempotency_key":"fill-)" + std::to_string(i) +
         "\"}";
}

constexpr size_t kDiskBytes = 12u << 20;
constexpr size_t kBallastBytes = 3u << 20;

class SmallDiskTest : public DaemonFixture {};

TEST_F(SmallDiskTest, AFullDiskRefusesSubmitsLosesNoAcknowledgedJobAndComesBack) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN); running as uid " << ::geteuid();
  }
  const std::string disk = dir_.file("disk");
  ASSERT_EQ(0, ::mkdir(disk.c_str(), 0700));
  TmpfsMount mount(disk, kDiskBytes);
  if (!mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << disk << ": " << mount.error();
  }
  // Space someone else holds, freed later to give llmqd room again.
  const std::string ballast = disk + "/ballast";
  ASSERT_TRUE(writeBallast(ballast, kBallastBytes));
  const std::string db = disk + "/llmq.db";
  ASSERT_NO_FATAL_FAILURE(
      launchDaemon({.config_toml = "[mock]\nchunk_delay_ms = 0\n", .extra_args = {"--db", db}}));

  // Submit until the disk is full, then on: every answer is an acknowledgement
  // (a job id) or -32006 saying nothing was stored, never another error.
  std::vector<std::string> acked;
  int refused = 0;
  int last_refused_at = -1;
  std::string message;
  for (int i = 0; i < 2000 && refused < 50; ++i) {
    auto r = client_->call("job.submit", fillerParams(i), 30000);
    ASSERT_TRUE(r.ok()) << "no answer to submit " << i << ": " << r.error().message << "\n" << daemon_->log();
    if (r->ok()) {
      acked.push_back((*r->result)["job_id"].GetString());
      continue;
    }
    ASSERT_EQ(-32006, r->error.code) << "submit " << i << ": " << r->error.message << "\n" << daemon_->log();
    message = r->error.message;
    ++refused;
    last_refused_at = i;
  }
  ASSERT_GE(refused, 50) << acked.size() << " submits acknowledged and the 12 MiB disk never filled";
  EXPECT_NE(std::string::npos, message.find("nothing was stored")) << message;
  EXPECT_GT(acked.size(), 50u) << "the disk held almost nothing";
  ASSERT_TRUE(processAlive(daemon_->pid())) << daemon_->log();
  std::printf("a %zu MiB tmpfs: %zu submits acknowledged, %d refused with -32006\n", kDiskBytes >> 20, acked.size(),
              refused);

  // Reads go on while the disk is full.
  json::Document status = callOk(*client_, "daemon.status", "{}");
  ASSERT_TRUE(status.IsObject());
  EXPECT_GE(status["storage"]["failed_commits"].GetInt64(), 1);
  json::Document first = callOk(*client_, "job.get", "{\"job_id\":\"" + acked.front() + "\"}");
  EXPECT_TRUE(first.IsObject() && first.HasMember("state"));

  // Space comes back (someone deletes a file): without a restart, a submit
  // commits and every acknowledged job completes.
  ASSERT_EQ(0, ::unlink(ballast.c_str()));
  ASSERT_EQ(0, ::kill(daemon_->pid(), SIGHUP));  // Retry kept outcomes at once.
  json::Document again;
  for (int tries = 0; tries < 300 && !again.IsObject(); ++tries) {
    auto r = client_->call("job.submit", submitParams("mock/after", R"("idempotency_key":"after")"), 30000);
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (r->ok()) {
      ASSERT_TRUE(json::parse(again, json::toString(*r->result), nullptr));
    } else {
      ASSERT_EQ(-32006, r->error.code) << r->error.message;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(again.IsObject()) << "no submit fit after " << kBallastBytes << " bytes were freed\n"
                                << daemon_->log();
  acked.push_back(again["job_id"].GetString());
  for (const std::string& id : acked) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id)) << id << "\n" << daemon_->log();
  }
  // The refused submits were not stored: their idempotency keys are free.
  json::Document retried = callOk(*client_, "job.submit", fillerParams(last_refused_at));
  ASSERT_TRUE(retried.IsObject());
  EXPECT_FALSE(retried["deduplicated"].GetBool()) << "a refused submit was stored after all";
  acked.push_back(retried["job_id"].GetString());
  EXPECT_EQ("succeeded", waitTerminal(*client_, acked.back()));

  // A clean stop, a sound file, and a start on it that knows every job.
  client_.reset();
  ASSERT_TRUE(daemon_->stop()) << daemon_->log();
  EXPECT_EQ("ok", integrityCheck(db));
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  client_ = daemon_->connect();
  ASSERT_NE(nullptr, client_);
  for (const std::string& id : acked) {
    json::Document job = callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
    ASSERT_TRUE(job.IsObject()) << id;
    EXPECT_STREQ("succeeded", job["state"].GetString()) << id;
  }
  client_.reset();
  EXPECT_TRUE(daemon_->stop()) << daemon_->log();
  EXPECT_EQ("ok", integrityCheck(db));
}

}  // namespace
}  // namespace llmq::testing
