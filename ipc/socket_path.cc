// Socket path resolution shared by llmqd and the clients.
#include "ipc/socket_path.h"

#include <sys/stat.h>

#include <cstdlib>

namespace llmq::ipc {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string resolveSocketPath(const char* llmq_socket, const char* xdg_runtime_dir, bool for_client,
                              const std::string& system_socket) {
  if (llmq_socket != nullptr && *llmq_socket != '\0') {
    return llmq_socket;
  }
  if (xdg_runtime_dir != nullptr && *xdg_runtime_dir != '\0') {
    std::string user = std::string(xdg_runtime_dir) + "/llmq/llmqd.sock";
    // With neither socket there, name the per-user one: that is what errors show.
    if (!for_client || exists(user) || !exists(system_socket)) {
      return user;
    }
  }
  return system_socket;
}

std::string defaultSocketPath() {
  return resolveSocketPath(std::getenv("LLMQ_SOCKET"), std::getenv("XDG_RUNTIME_DIR"), /*for_client=*/true);
}

std::string daemonSocketPath() {
  return resolveSocketPath(std::getenv("LLMQ_SOCKET"), std::getenv("XDG_RUNTIME_DIR"), /*for_client=*/false);
}

}  // namespace llmq::ipc
