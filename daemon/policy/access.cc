// Access: uid and group checks; supplementary groups from the group database.
#include "daemon/policy/access.h"

#include <grp.h>
#include <unistd.h>

#include <vector>

#include "daemon/config.h"

namespace llmq::daemon {

Access::Access(const Config& config) : self_(::geteuid()), admin_group_(config.admin_group) {
  if (!admin_group_.empty()) {
    if (const struct group* g = ::getgrnam(admin_group_.c_str()); g != nullptr) {
      admin_gid_ = g->gr_gid;
    }
  }
}

bool Access::inAdminGroup(const ipc::PeerCred& peer) const {
  if (!admin_gid_) {
    return false;
  }
  if (peer.gid == *admin_gid_) {
    return true;
  }
  auto cached = group_members_.find(peer.uid);
  if (cached != group_members_.end()) {
    return cached->second;
  }
  // SO_PEERCRED carries the primary group only; the rest come from the database.
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(peer.user.c_str(), peer.gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    ::getgrouplist(peer.user.c_str(), peer.gid, groups.data(), &n);
  }
  bool member = false;
  for (int i = 0; i < n && i < static_cast<int>(groups.size()); ++i) {
    member = member || groups[static_cast<size_t>(i)] == *admin_gid_;
  }
  group_members_[peer.uid] = member;
  return member;
}

bool Access::isAdmin(const ipc::PeerCred& peer) const {
  return peer.uid == 0 || peer.uid == self_ || inAdminGroup(peer);
}

bool Access::owns(const ipc::PeerCred& peer, std::string_view client) const {
  if (isAdmin(peer)) {
    return true;
  }
  return client == peer.user ||
         (client.size() > peer.user.size() && client.compare(0, peer.user.size(), peer.user) == 0 &&
          client[peer.user.size()] == ':');
}

std::string Access::clientFor(const ipc::PeerCred& peer, const std::optional<std::string>& asked) const {
  if (isAdmin(peer)) {
    return asked ? *asked : peer.user;
  }
  if (!asked || asked->empty() || *asked == peer.user) {
    return peer.user;
  }
  return owns(peer, *asked) ? *asked : peer.user + ":" + *asked;
}

std::string Access::ownerOf(std::string_view client) {
  constexpr std::string_view kUid = "uid:";  // ipc::userNameFor() of a uid without a name.
  const size_t from = client.compare(0, kUid.size(), kUid) == 0 ? kUid.size() : 0;
  const size_t colon = client.find(':', from);
  // A label ":x" (an administrator's choice) has no user part: it is its own owner.
  return std::string(colon == 0 ? client : client.substr(0, colon));
}

std::string Access::denial(const ipc::PeerCred& peer, std::string_view what) const {
  std::string who = "root, the user llmqd runs as";
  if (!admin_group_.empty()) {
    who += " or members of group " + admin_group_;
  }
  return "only administrators (" + who + ") may " + std::string(what) + "; you are " + peer.user;
}

}  // namespace llmq::daemon
