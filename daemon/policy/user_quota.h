// daemon::UserQuota: per-user limits on what the queue holds for one user, so no
// user can fill the disk or the queue for everyone ([quota], docs/configuration.md):
//   - unfinished jobs (queued, running, retry_wait, held), and
//   - stored bytes: the request, result and upstream error bodies of the user's
//     jobs, finished or not, until retention drops them (daemon/retention.h).
// A job belongs to the user its client label names: "alice" and "alice:batch" are
// alice's (daemon/policy/access.h gives every job a non-administrator submits such a
// label). Administrators (and the HTTP front, which acts as llmqd's own user)
// are held to the admin_* limits instead, none by default, counted against the
// label they submit under.
//
// The counters live in memory, one entry per user with jobs in the store, and
// are read from the store at start (one scan) and again after a lost turn, so a
// submit costs one hash lookup. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace llmq::store {
class Store;
}

namespace llmq::daemon {

struct QuotaConfig;

class UserQuota {
 public:
  struct Usage {
    int64_t unfinished = 0;
    int64_t bytes = 0;
  };

  // The user a client label belongs to: Access::ownerOf (the part before the
  // first ':'; "uid:N" labels, for uids without a name, keep their number).
  static std::string ownerOf(std::string_view client);

  // Reads every user's figures from the store (at start, after a lost turn).
  Result<void> load(store::Store& store);

  // Why a job of `request_bytes` under label `client` would pass a limit, or
  // nullopt when it fits. `admin`: the admin_* limits apply.
  std::optional<std::string> refuse(const QuotaConfig& limits, std::string_view client, bool admin,
                                    int64_t request_bytes) const;

  void noteInserted(std::string_view client, int64_t bytes);
  // A job ended (bytes: its result and error bodies, now stored), or went back
  // to the queue (job.retry; bytes: those it dropped, negative).
  void noteFinished(std::string_view client, int64_t bytes);
  void noteRequeued(std::string_view client, int64_t bytes);
  // Retention dropped `bytes` of bodies of the client's finished jobs.
  void noteFreed(std::string_view client, int64_t bytes);

  Usage usage(std::string_view user) const;

 private:
  Usage& at(std::string_view client);
  std::unordered_map<std::string, Usage> users_;
};

}  // namespace llmq::daemon
