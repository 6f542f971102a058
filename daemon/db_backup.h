// daemon::DbBackup: `db.backup`: an online copy of the
// database into a new file while llmqd keeps serving, a few hundred pages per loop
// iteration (store::OnlineBackup), answered when the copy is complete. One backup
// at a time. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/uv_timer.h"
#include "daemon/turn/responder.h"
#include "store/maintenance.h"

namespace llmq {
class Clock;
namespace store {
class Database;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

class DbBackup {
 public:
  DbBackup(uv_loop_t* loop, store::Database& db, const Clock& clock);
  ~DbBackup();

  bool running() const { return backup_ != nullptr; }
  // Starts a backup to `path` (absolute; must not exist) and answers `reply` when
  // it ends. Answers at once with the error when it cannot start.
  void start(const std::string& path, Responder reply);
  void close();

 private:
  void step();
  // step() for the timer: an exception fails the backup, not the daemon.
  void guardedStep();
  void finish(const Result<void>& r);

  struct {
    store::Database& db;
    const Clock& clock;
  } p_;
  UvTimer timer_;  // 0 ms: one step per loop iteration while a backup runs.
  std::unique_ptr<store::OnlineBackup> backup_;
  std::unique_ptr<Responder> reply_;
  int64_t started_ms_ = 0;
  int pages_ = 0;
};

}  // namespace llmq::daemon
