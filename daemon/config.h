// daemon::Config: everything llmqd can be told, from the command line, the
// environment and the TOML config file (DESIGN §2), resolved once at startup.
// Config parsing may throw internally; loadConfig() turns that into a Result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/log.h"
#include "common/result.h"
#include "store/database.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon {

// What main() parsed from argv; unset members fall back to env and defaults.
struct CommandLine {
  std::optional<std::string> socket;
  std::optional<std::string> db;
  std::optional<std::string> config;
  std::optional<std::string> log_level;
  bool check_config = false;
};

struct Config {
  // Paths (DESIGN §2).
  std::string socket_path;
  // True when --socket or LLMQ_SOCKET named the socket; otherwise systemd socket
  // activation (LISTEN_FDS) takes precedence over socket_path.
  bool socket_explicit = false;
  std::string db_path;
  std::string config_path;    // The file that was read; empty if none existed.
  int socket_mode = 0600;     // 0660 for the system socket under /run/llmq.

  log::Level log_level = log::Level::kInfo;
  store::Synchronous synchronous = store::Synchronous::kNormal;
  size_t max_frame_bytes = 4u << 20;
  size_t max_pending_output_bytes = 8u << 20;
  int max_inflight = 256;              // Global cap on running attempts.
  int64_t shutdown_grace_ms = 10000;   // SIGTERM: how long in-flight work may finish.
  int64_t retry_base_ms = 1000;        // Exponential backoff with full jitter.
  int64_t retry_cap_ms = 60000;
  upstream::MockOptions mock;
};

Result<Config> loadConfig(const CommandLine& cli);

// A human-readable rendering of the effective configuration (for --check-config).
std::string describe(const Config& config);

}  // namespace llmq::daemon
