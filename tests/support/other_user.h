// Running a client as another local user: the tests of who may see and change
// what (the access checks, quotas, a second uid) run the llmq CLI or a raw client
// under setpriv(1) as `nobody` or a throwaway user. That needs root; a test skips
// without (canActAsOtherUsers). Header-only.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

namespace llmq::testing {

inline constexpr char kSetprivPath[] = "/usr/bin/setpriv";
inline constexpr char kNeedsOtherUsers[] = "needs root and setpriv to run a client as another user";

inline bool canActAsOtherUsers() { return ::geteuid() == 0 && ::access(kSetprivPath, X_OK) == 0; }

// The argv prefix that runs what follows as `user`, with `group` as its only group.
inline std::vector<std::string> asUser(const std::string& user, const std::string& group) {
  return {kSetprivPath, "--reuid=" + user, "--regid=" + group, "--clear-groups"};
}

}  // namespace llmq::testing
