// Where the llmqd socket is, for the daemon and every client (README.md, Where files live):
// LLMQ_SOCKET > $XDG_RUNTIME_DIR/llmq/llmqd.sock > /run/llmq/llmqd.sock.
// (--socket on the command line and systemd's LISTEN_FDS come before these and
// are handled by the programs themselves.)
//
// Clients differ in one point: when the per-user socket does not exist but the
// system daemon's does, they use the system one, so a user of a machine-wide
// llmqd needs no LLMQ_SOCKET (the Python client does the same). llmqd itself
// never falls back: a per-user llmqd must not try to take the system socket.
#pragma once

#include <string>

namespace llmq::ipc {

inline constexpr char kSystemSocketPath[] = "/run/llmq/llmqd.sock";

// The socket a client connects to when it is given none.
std::string defaultSocketPath();
// The socket llmqd binds when it is given none.
std::string daemonSocketPath();

// The resolution itself, with the environment's values (nullptr: unset) and the
// system socket's path passed in, for tests.
std::string resolveSocketPath(const char* llmq_socket, const char* xdg_runtime_dir, bool for_client,
                              const std::string& system_socket = kSystemSocketPath);

}  // namespace llmq::ipc
