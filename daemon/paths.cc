// Path resolution. A user without a home directory (a system service) gets the
// system locations.
#include "daemon/paths.h"

#include <unistd.h>

#include <cstdlib>

namespace llmq::daemon {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// $VAR, or $HOME/fallback, or "" when neither is set. Root without XDG variables
// is treated as the system instance.
std::string xdgDir(const char* var, const char* home_fallback) {
  if (std::string v = env(var); !v.empty()) {
    return v;
  }
  if (::geteuid() == 0) {
    return "";
  }
  if (std::string home = env("HOME"); !home.empty()) {
    return home + "/" + home_fallback;
  }
  return "";
}

}  // namespace

std::string defaultDbPath() {
  if (std::string v = env("LLMQ_DB"); !v.empty()) {
    return v;
  }
  if (std::string dir = xdgDir("XDG_STATE_HOME", ".local/state"); !dir.empty()) {
    return dir + "/llmq/llmq.db";
  }
  return "/var/lib/llmq/llmq.db";
}

std::string defaultConfigPath() {
  if (std::string v = env("LLMQ_CONFIG"); !v.empty()) {
    return v;
  }
  if (std::string dir = xdgDir("XDG_CONFIG_HOME", ".config"); !dir.empty()) {
    return dir + "/llmq/llmqd.toml";
  }
  return "/etc/llmq/llmqd.toml";
}

}  // namespace llmq::daemon
