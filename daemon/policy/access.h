// daemon::Access: who may do what (ipc/PROTOCOL.md, Access, error -32003). Peers are known by
// SO_PEERCRED. Administrators are root, the user llmqd runs as, and members of
// `[access] admin_group`; they may do everything. Everyone else acts only on their
// own jobs: a job belongs to a user when its client label is the user's name or
// starts with "<user>:", and every job such a user submits is labelled that way,
// so nobody can spend, see, cancel or pause another client's work, nor set
// budgets, read the ledger of others, or back up the database.
//
// In user mode (socket 0600) the only peer that can connect is the owner, an
// administrator by definition; the rules matter in system mode (socket 0660,
// group llmq). Loop thread only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ipc/peer.h"

namespace llmq::daemon {

struct Config;

class Access {
 public:
  explicit Access(const Config& config);

  bool isAdmin(const ipc::PeerCred& peer) const;
  // Whether `peer` may act on jobs labelled `client`.
  bool owns(const ipc::PeerCred& peer, std::string_view client) const;
  // The client label of a job `peer` submits asking for `asked`: an administrator
  // gets what it asked for (default: its user name); anyone else gets its user
  // name, or "<user>:<asked>" (asked already in that form stays as it is).
  std::string clientFor(const ipc::PeerCred& peer, const std::optional<std::string>& asked) const;
  // The user a job labelled `client` belongs to (its owner, store/job_record.h):
  // the label up to its first ':' ("alice" of "alice:batch"), or "uid:N" of a
  // label "uid:N[:...]" (a uid without a password entry). For a non-administrator's
  // job that is always the submitter, since clientFor() puts its name first. Never
  // empty for a non-empty label (":x" is its own owner).
  static std::string ownerOf(std::string_view client);
  // "only administrators (root, the llmqd user or group G) may ...; you are U"
  std::string denial(const ipc::PeerCred& peer, std::string_view what) const;

 private:
  bool inAdminGroup(const ipc::PeerCred& peer) const;

  uid_t self_;
  std::optional<gid_t> admin_gid_;
  std::string admin_group_;
  mutable std::unordered_map<uid_t, bool> group_members_;  // Supplementary groups, looked up once.
};

}  // namespace llmq::daemon
