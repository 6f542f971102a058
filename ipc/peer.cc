// SO_PEERCRED and the password database lookup (getpwuid_r, cached per uid:
// NSS lookups can be slow and a busy client opens many connections).
#include "ipc/peer.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <unordered_map>
#include <vector>

namespace llmq::ipc {

bool readPeerCred(int fd, PeerCred* out) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return false;
  }
  out->pid = cred.pid;
  out->uid = cred.uid;
  out->gid = cred.gid;
  out->user = userNameFor(cred.uid);
  return true;
}

std::string userNameFor(uid_t uid) {
  static std::unordered_map<uid_t, std::string> cache;  // Loop thread only.
  if (auto it = cache.find(uid); it != cache.end()) {
    return it->second;
  }
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* result = nullptr;
  std::string name;
  const int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &result);
  if (rc == 0 && result != nullptr) {
    name = result->pw_name;
  } else {
    name = "uid:" + std::to_string(uid);
  }
  if (rc == 0) {
    // Not a failure to look (EMFILE while out of descriptors, say): that one is
    // asked again next time instead of naming the user uid:N for good.
    cache.emplace(uid, name);
  }
  return name;
}

}  // namespace llmq::ipc
