// Default locations of the database and config file (README.md, Where files live). The socket's
// default is shared with the clients in ipc/socket_path.h.
#pragma once

#include <string>

namespace llmq::daemon {

// LLMQ_DB > $XDG_STATE_HOME/llmq/llmq.db (default ~/.local/state) > /var/lib/llmq/llmq.db
std::string defaultDbPath();
// LLMQ_CONFIG > $XDG_CONFIG_HOME/llmq/llmqd.toml (default ~/.config) > /etc/llmq/llmqd.toml
std::string defaultConfigPath();

}  // namespace llmq::daemon
