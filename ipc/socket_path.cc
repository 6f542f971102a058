// Socket path resolution shared by llmqd and the clients.
#include "ipc/socket_path.h"

#include <cstdlib>

namespace llmq::ipc {

std::string defaultSocketPath() {
  if (const char* s = std::getenv("LLMQ_SOCKET"); s != nullptr && *s != '\0') {
    return s;
  }
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0') {
    return std::string(x) + "/llmq/llmqd.sock";
  }
  return "/run/llmq/llmqd.sock";
}

}  // namespace llmq::ipc
