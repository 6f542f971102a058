// DbBackup: step the copy on a 0 ms timer so each step is one loop iteration.
#include "daemon/db_backup.h"

#include <sys/stat.h>

#include "common/callback_guard.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "ipc/jsonrpc.h"
#include "store/database.h"

namespace llmq::daemon {
namespace {

constexpr int kPagesPerStep = 256;  // About 1 MiB at 4 KiB pages: well under a millisecond.

}  // namespace

DbBackup::DbBackup(uv_loop_t* loop, store::Database& db, const Clock& clock)
    : p_{db, clock}, timer_(loop, [this] { guardedStep(); }) {}

DbBackup::~DbBackup() = default;

void DbBackup::close() {
  if (running()) {
    finish(makeError(ErrorKind::kInvalidState, "llmqd is shutting down; the backup was not finished"));
  }
  timer_.close();
}

void DbBackup::start(const std::string& path, Responder reply) {
  if (running()) {
    reply.fail(ipc::rpc::kInvalidState, "a backup to " + backup_->path() + " is already running");
    return;
  }
  auto b = store::OnlineBackup::start(p_.db, path);
  if (!b) {
    reply.fail(b.error().kind == ErrorKind::kInvalidArgument ? ipc::rpc::kInvalidParams : ipc::rpc::kStorageFailure,
               b.error().message);
    return;
  }
  backup_ = std::move(*b);
  reply_ = std::make_unique<Responder>(std::move(reply));
  started_ms_ = p_.clock.nowMs();
  LOG_NOTICE("backing up the database to %s", path.c_str());
  timer_.start(0);
}

// The backup is the timer's only state: if a step throws, that backup fails and
// its caller is told; the database is untouched (common/callback_guard.h).
void DbBackup::guardedStep() {
  guardCallback(
      "backing up the database", [this] { step(); },
      [this] {
        if (running()) {
          finish(makeError(ErrorKind::kInternal, "the backup stopped on an unexpected error"));
        }
      });
}

void DbBackup::step() {
  if (!running()) {
    return;
  }
  auto done = backup_->step(kPagesPerStep);
  pages_ = std::max(pages_, backup_->total());  // Known only after a step (the first may be the last).
  if (!done) {
    finish(done.takeError());
    return;
  }
  if (*done) {
    finish({});
    return;
  }
  timer_.start(0);
}

void DbBackup::finish(const Result<void>& r) {
  const std::string path = backup_->path();
  std::unique_ptr<Responder> reply = std::move(reply_);
  if (!r) {
    backup_.reset();  // Removes the partial file.
    LOG_ERROR("backing up the database to %s failed: %s", path.c_str(), r.error().message.c_str());
    reply->fail(r.error().kind == ErrorKind::kInvalidState ? ipc::rpc::kOverloaded : ipc::rpc::kStorageFailure,
                r.error().message);
    return;
  }
  backup_.reset();
  struct stat st {};
  const int64_t bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  const int64_t ms = p_.clock.nowMs() - started_ms_;
  LOG_NOTICE("database backed up to %s: %lld bytes in %lld ms", path.c_str(), static_cast<long long>(bytes),
             static_cast<long long>(ms));
  std::string o = "{\"path\":";
  json::appendString(o, path);
  o += ",\"bytes\":" + std::to_string(bytes) + ",\"pages\":" + std::to_string(pages_) +
       ",\"duration_ms\":" + std::to_string(ms) + "}";
  pages_ = 0;
  reply->ok(std::move(o));
}

}  // namespace llmq::daemon
