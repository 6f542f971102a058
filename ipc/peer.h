// Who is on the other end of a Unix socket: SO_PEERCRED plus the user name that
// becomes the default `client` of the peer's jobs.
#pragma once

#include <sys/types.h>

#include <string>

namespace llmq::ipc {

struct PeerCred {
  pid_t pid = 0;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::string user;  // From the password database; "uid:N" when the uid has no entry.
};

// Reads the credentials of the peer of connected Unix socket `fd`.
bool readPeerCred(int fd, PeerCred* out);
std::string userNameFor(uid_t uid);

}  // namespace llmq::ipc
