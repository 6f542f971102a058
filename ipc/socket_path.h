// Where the llmqd socket is, for the daemon and every client (DESIGN §2):
// LLMQ_SOCKET > $XDG_RUNTIME_DIR/llmq/llmqd.sock > /run/llmq/llmqd.sock.
// (--socket on the command line and systemd's LISTEN_FDS come before these and
// are handled by the programs themselves.)
#pragma once

#include <string>

namespace llmq::ipc {

std::string defaultSocketPath();

}  // namespace llmq::ipc
