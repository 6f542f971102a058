// Config loading: defaults, then the TOML file, then the command line. Every key
// the file may hold is listed here; an unknown key or a value of the wrong type is
// an error naming the file and line, so a typo never silently does nothing.
#include "daemon/config.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <toml++/toml.h>

#include "daemon/paths.h"
#include "ipc/socket_path.h"

namespace llmq::daemon {
namespace {

struct ConfigError {
  std::string message;
};

std::string where(const std::string& file, const toml::node& node) {
  return file + ":" + std::to_string(node.source().begin.line);
}

int64_t getInt(const std::string& file, const std::string& key, const toml::node& node,
               int64_t min, int64_t max) {
  auto v = node.value<int64_t>();
  if (!v || *v < min || *v > max) {
    throw ConfigError{where(file, node) + ": " + key + " must be an integer from " +
                      std::to_string(min) + " to " + std::to_string(max)};
  }
  return *v;
}

double getDouble(const std::string& file, const std::string& key, const toml::node& node,
                 double min, double max) {
  auto v = node.value<double>();
  if (!v || *v < min || *v > max) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " must be a number from %g to %g", min, max);
    throw ConfigError{where(file, node) + ": " + key + buf};
  }
  return *v;
}

std::string getString(const std::string& file, const std::string& key, const toml::node& node) {
  auto v = node.value<std::string>();
  if (!v) {
    throw ConfigError{where(file, node) + ": " + key + " must be a string"};
  }
  return *v;
}

using Setter = std::function<void(const std::string& file, const std::string& key, const toml::node&)>;
struct Key {
  const char* section;
  const char* name;
  Setter set;
};

std::vector<Key> keysFor(Config& c) {
  return {
      {"daemon", "log_level",
       [&c](const std::string& f, const std::string& k, const toml::node& n) {
         std::string v = getString(f, k, n);
         if (!log::parseLevel(v, &c.log_level)) {
           throw ConfigError{where(f, n) + ": " + k + " must be error, warning, notice, info or debug"};
         }
       }},
      {"daemon", "max_inflight",
       [&c](auto& f, auto& k, auto& n) { c.max_inflight = static_cast<int>(getInt(f, k, n, 1, 100000)); }},
      {"daemon", "shutdown_grace_s",
       [&c](auto& f, auto& k, auto& n) {
         c.shutdown_grace_ms = static_cast<int64_t>(getDouble(f, k, n, 0, 3600) * 1000);
       }},
      {"store", "synchronous",
       [&c](auto& f, auto& k, auto& n) {
         std::string v = getString(f, k, n);
         if (v == "normal") {
           c.synchronous = store::Synchronous::kNormal;
         } else if (v == "full") {
           c.synchronous = store::Synchronous::kFull;
         } else if (v == "off") {
           c.synchronous = store::Synchronous::kOff;
         } else {
           throw ConfigError{where(f, n) + ": " + k + " must be \"normal\", \"full\" or \"off\""};
         }
       }},
      {"ipc", "max_frame_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_frame_bytes = static_cast<size_t>(getInt(f, k, n, 1024, int64_t{1} << 30));
       }},
      {"ipc", "max_pending_output_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_pending_output_bytes = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 32));
       }},
      {"ipc", "socket_mode",
       [&c](auto& f, auto& k, auto& n) {
         std::string v = getString(f, k, n);
         char* end = nullptr;
         long mode = std::strtol(v.c_str(), &end, 8);
         if (v.empty() || *end != '\0' || mode < 0 || mode > 0777) {
           throw ConfigError{where(f, n) + ": " + k + " must be an octal mode such as \"0660\""};
         }
         c.socket_mode = static_cast<int>(mode);
       }},
      {"retry", "base_ms",
       [&c](auto& f, auto& k, auto& n) { c.retry_base_ms = getInt(f, k, n, 1, 3600000); }},
      {"retry", "cap_ms",
       [&c](auto& f, auto& k, auto& n) { c.retry_cap_ms = getInt(f, k, n, 1, 86400000); }},
      {"mock", "chunk_delay_ms",
       [&c](auto& f, auto& k, auto& n) { c.mock.chunk_delay_ms = getInt(f, k, n, 0, 60000); }},
      {"mock", "first_chunk_delay_ms",
       [&c](auto& f, auto& k, auto& n) { c.mock.first_chunk_delay_ms = getInt(f, k, n, 0, 600000); }},
      {"mock", "tokens_per_chunk",
       [&c](auto& f, auto& k, auto& n) {
         c.mock.tokens_per_chunk = static_cast<int>(getInt(f, k, n, 1, 4096));
       }},
      {"mock", "default_tokens",
       [&c](auto& f, auto& k, auto& n) {
         c.mock.default_tokens = static_cast<int>(getInt(f, k, n, 0, 100000));
       }},
      {"mock", "prompt_usd_per_mtok",
       [&c](auto& f, auto& k, auto& n) { c.mock.prompt_usd_per_mtok = getDouble(f, k, n, 0, 1e6); }},
      {"mock", "completion_usd_per_mtok",
       [&c](auto& f, auto& k, auto& n) { c.mock.completion_usd_per_mtok = getDouble(f, k, n, 0, 1e6); }},
  };
}

void applyFile(Config& c, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw ConfigError{file + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description())};
  }
  std::vector<Key> keys = keysFor(c);
  for (auto&& [section, node] : root) {
    const toml::table* table = node.as_table();
    bool known_section = false;
    for (const Key& k : keys) {
      known_section = known_section || section.str() == k.section;
    }
    if (!known_section) {
      throw ConfigError{where(file, node) + ": unknown section or key \"" + std::string(section.str()) + "\""};
    }
    if (table == nullptr) {
      throw ConfigError{where(file, node) + ": \"" + std::string(section.str()) + "\" must be a table"};
    }
    for (auto&& [name, value] : *table) {
      const Key* match = nullptr;
      for (const Key& k : keys) {
        if (section.str() == k.section && name.str() == k.name) {
          match = &k;
        }
      }
      std::string full = std::string(section.str()) + "." + std::string(name.str());
      if (match == nullptr) {
        throw ConfigError{where(file, value) + ": unknown key \"" + full + "\""};
      }
      match->set(file, full, value);
    }
  }
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<Config> loadConfig(const CommandLine& cli) {
  Config c;
  const char* env_socket = std::getenv("LLMQ_SOCKET");
  c.socket_explicit = cli.socket.has_value() || (env_socket != nullptr && *env_socket != '\0');
  c.socket_path = cli.socket ? *cli.socket : ipc::defaultSocketPath();
  c.db_path = cli.db ? *cli.db : defaultDbPath();
  c.socket_mode = c.socket_path.rfind("/run/llmq/", 0) == 0 ? 0660 : 0600;

  const char* env_config = std::getenv("LLMQ_CONFIG");
  bool config_explicit = cli.config.has_value() || (env_config != nullptr && *env_config != '\0');
  std::string config_path = cli.config ? *cli.config : defaultConfigPath();
  try {
    if (fileExists(config_path)) {
      applyFile(c, config_path);
      c.config_path = config_path;
    } else if (config_explicit) {
      return makeError(ErrorKind::kInvalidArgument, "config file " + config_path + " does not exist");
    }
  } catch (const ConfigError& e) {
    return makeError(ErrorKind::kInvalidArgument, e.message);
  }
  if (cli.log_level && !log::parseLevel(*cli.log_level, &c.log_level)) {
    return makeError(ErrorKind::kInvalidArgument,
                     "--log-level must be error, warning, notice, info or debug");
  }
  if (c.retry_cap_ms < c.retry_base_ms) {
    return makeError(ErrorKind::kInvalidArgument, "retry.cap_ms must not be below retry.base_ms");
  }
  return c;
}

std::string describe(const Config& c) {
  std::ostringstream o;
  auto sync = c.synchronous == store::Synchronous::kFull     ? "full"
              : c.synchronous == store::Synchronous::kNormal ? "normal"
                                                             : "off";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", c.socket_mode);
  o << "# effective llmqd configuration\n"
    << "# config file: " << (c.config_path.empty() ? "(none, defaults)" : c.config_path) << "\n"
    << "# socket: " << c.socket_path << (c.socket_explicit ? "" : " (unless systemd passes one)") << "\n"
    << "# database: " << c.db_path << "\n\n"
    << "[daemon]\nmax_inflight = " << c.max_inflight
    << "\nshutdown_grace_s = " << static_cast<double>(c.shutdown_grace_ms) / 1000.0 << "\n\n"
    << "[store]\nsynchronous = \"" << sync << "\"\n\n"
    << "[ipc]\nmax_frame_bytes = " << c.max_frame_bytes
    << "\nmax_pending_output_bytes = " << c.max_pending_output_bytes << "\nsocket_mode = \"" << mode
    << "\"\n\n"
    << "[retry]\nbase_ms = " << c.retry_base_ms << "\ncap_ms = " << c.retry_cap_ms << "\n\n"
    << "[mock]\nchunk_delay_ms = " << c.mock.chunk_delay_ms
    << "\nfirst_chunk_delay_ms = " << c.mock.first_chunk_delay_ms
    << "\ntokens_per_chunk = " << c.mock.tokens_per_chunk
    << "\ndefault_tokens = " << c.mock.default_tokens
    << "\nprompt_usd_per_mtok = " << c.mock.prompt_usd_per_mtok
    << "\ncompletion_usd_per_mtok = " << c.mock.completion_usd_per_mtok << "\n";
  return o.str();
}

}  // namespace llmq::daemon
