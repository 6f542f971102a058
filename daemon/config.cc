// Config loading: defaults, then the TOML file, then the command line. Every key
// the file may hold is listed here; an unknown key or a value of the wrong type is
// an error naming the file and line, so a typo never silently does nothing.
#include "daemon/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "common/secret.h"
#include "common/json.h"
#include "daemon/paths.h"
#include "ipc/protocol.h"
#include "ipc/socket_path.h"
#include "upstream/base_url.h"

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
  // toml++ also reads a whole float (8.0) as an integer, but it casts before it
  // checks the range, which is undefined for 1e308 or inf: such a float is simply
  // not an integer. (Found by tests/fuzz/fuzz_config.)
  const toml::value<double>* f = node.as_floating_point();
  const bool fits = f == nullptr || std::fabs(f->get()) < 9.2e18;
  auto v = fits ? node.value<int64_t>() : std::nullopt;
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

bool getBool(const std::string& file, const std::string& key, const toml::node& node) {
  auto v = node.value<bool>();
  if (!v) {
    throw ConfigError{where(file, node) + ": " + key + " must be true or false"};
  }
  return *v;
}

// True for "UTC" and for IANA names with a zone file, e.g. "Europe/Paris". The name
// becomes part of a path, so only the characters zone names use are accepted.
bool validTimeZone(const std::string& name) {
  if (name == "UTC") {
    return true;
  }
  if (name.empty() || name.size() > 128 || name.front() == '/' || name.find("..") != std::string::npos) {
    return false;
  }
  for (char ch : name) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '/' || ch == '_' || ch == '-' || ch == '+';
    if (!ok) {
      return false;
    }
  }
  struct stat st {};
  return ::stat(("/usr/share/zoneinfo/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

using Setter = std::function<void(const std::string& file, const std::string& key, const toml::node&)>;
struct Key {
  const char* section;
  const char* name;
  Setter set;
};

// "HOST:PORT" on a loopback address into host and port; empty turns it off (-1).
void parseLoopback(const std::string& v, const std::string& where_key, const char* what,
                   std::string* host_out, int* port_out) {
  if (v.empty()) {
    *port_out = -1;
    return;
  }
  const size_t colon = v.rfind(':');
  std::string host = colon == std::string::npos ? "" : v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  char* end = nullptr;
  const long port = colon == std::string::npos ? -1 : std::strtol(v.c_str() + colon + 1, &end, 10);
  const bool loopback = host == "::1" || host.rfind("127.", 0) == 0;
  if (!loopback || port < 0 || port > 65535 || end == nullptr || *end != '\0') {
    throw ConfigError{where_key + " must be a loopback address and port, such as \"127.0.0.1:" +
                      std::to_string(std::string_view(what) == "metrics" ? 9464 : ApiConfig::kDefaultPort) +
                      "\" (" + what + " is not for the network)"};
  }
  *host_out = host;
  *port_out = static_cast<int>(port);
}

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
      {"store", "max_page_count",
       [&c](auto& f, auto& k, auto& n) { c.storage.max_page_count = getInt(f, k, n, 0, INT64_C(1) << 40); }},
      {"store", "auto_vacuum_convert_max_mb",
       [&c](auto& f, auto& k, auto& n) {
         c.storage.auto_vacuum_convert_max_bytes =
             static_cast<int64_t>(getDouble(f, k, n, 0, 1 << 30) * 1024 * 1024);
       }},
      {"ipc", "max_frame_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_frame_bytes = static_cast<size_t>(getInt(f, k, n, 1024, int64_t{1} << 30));
       }},
      {"ipc", "max_pending_output_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_pending_output_bytes = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 32));
       }},
      {"ipc", "max_pending_output_hard_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_pending_output_hard_bytes = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 34));
       }},
      {"ipc", "max_total_pending_output_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_total_pending_output_bytes = static_cast<size_t>(getInt(f, k, n, 1 << 20, int64_t{1} << 36));
       }},
      {"ipc", "max_connections",
       [&c](auto& f, auto& k, auto& n) { c.max_connections = static_cast<size_t>(getInt(f, k, n, 1, 1000000)); }},
      {"ipc", "max_connections_per_uid",
       [&c](auto& f, auto& k, auto& n) {
         c.max_connections_per_uid = static_cast<size_t>(getInt(f, k, n, 1, 1000000));
       }},
      {"ipc", "line_timeout_s",
       [&c](auto& f, auto& k, auto& n) {
         c.line_timeout_ms = static_cast<int64_t>(getDouble(f, k, n, 0.01, 3600) * 1000);
       }},
      {"ipc", "max_partial_bytes_total",
       [&c](auto& f, auto& k, auto& n) {
         c.max_partial_bytes_total = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 36));
       }},
      {"ipc", "max_answer_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.max_answer_bytes = static_cast<size_t>(getInt(f, k, n, 4096, int64_t{1} << 32));
       }},
      {"ipc", "stall_timeout_ms",
       [&c](auto& f, auto& k, auto& n) { c.stall_timeout_ms = getInt(f, k, n, 0, 3600000); }},
      {"ipc", "max_subscriptions_per_connection",
       [&c](auto& f, auto& k, auto& n) {
         c.max_subscriptions_per_connection = static_cast<size_t>(getInt(f, k, n, 1, 1 << 20));
       }},
      {"ipc", "max_subscriptions",
       [&c](auto& f, auto& k, auto& n) { c.max_subscriptions = static_cast<size_t>(getInt(f, k, n, 1, 1 << 24)); }},
      {"ipc", "max_waits_per_connection",
       [&c](auto& f, auto& k, auto& n) {
         c.max_waits_per_connection = static_cast<size_t>(getInt(f, k, n, 1, 1 << 20));
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
      {"retry", "retry_after_max_s",
       [&c](auto& f, auto& k, auto& n) {
         c.retry_after_max_ms = static_cast<int64_t>(getDouble(f, k, n, 0.001, 86400) * 1000);
       }},
      {"openrouter", "base_url",
       [&c](auto& f, auto& k, auto& n) { c.providers.back().base_url = getString(f, k, n); }},
      {"openrouter", "api_key_env",
       [&c](auto& f, auto& k, auto& n) { c.providers.back().api_key_env = getString(f, k, n); }},
      {"openrouter", "referer",
       [&c](auto& f, auto& k, auto& n) { c.providers.back().referer = getString(f, k, n); }},
      {"openrouter", "title",
       [&c](auto& f, auto& k, auto& n) { c.providers.back().title = getString(f, k, n); }},
      {"openrouter", "responses_api",
       [&c](auto& f, auto& k, auto& n) { c.providers.back().responses_api = getBool(f, k, n); }},
      {"retention", "finished_jobs_days",
       [&c](auto& f, auto& k, auto& n) {
         c.retention.finished_job_ms = static_cast<int64_t>(getDouble(f, k, n, 0, 36500) * 86'400'000.0);
       }},
      {"retention", "ledger_days",
       [&c](auto& f, auto& k, auto& n) {
         c.retention.ledger_days = getInt(f, k, n, 0, 36500);
         if (c.retention.ledger_days != 0 && c.retention.ledger_days < RetentionConfig::kMinLedgerDays) {
           throw ConfigError{where(f, n) + ": " + k + " must be 0 (keep the ledger forever) or at least " +
                             std::to_string(RetentionConfig::kMinLedgerDays) +
                             " (budget months are summed from the ledger)"};
         }
       }},
      {"retention", "check_s",
       [&c](auto& f, auto& k, auto& n) {
         c.retention.check_ms = static_cast<int64_t>(getDouble(f, k, n, 0.01, 86400) * 1000);
       }},
      {"quota", "max_queued_jobs",
       [&c](auto& f, auto& k, auto& n) { c.quota.max_unfinished_jobs = getInt(f, k, n, 0, 1'000'000'000); }},
      {"quota", "max_stored_mb",
       [&c](auto& f, auto& k, auto& n) { c.quota.max_stored_bytes = getInt(f, k, n, 0, 1'000'000'000) << 20; }},
      {"quota", "admin_max_queued_jobs",
       [&c](auto& f, auto& k, auto& n) {
         c.quota.admin_max_unfinished_jobs = getInt(f, k, n, 0, 1'000'000'000);
       }},
      {"quota", "admin_max_stored_mb",
       [&c](auto& f, auto& k, auto& n) {
         c.quota.admin_max_stored_bytes = getInt(f, k, n, 0, 1'000'000'000) << 20;
       }},
      {"metrics", "listen",
       [&c](auto& f, auto& k, auto& n) {
         parseLoopback(getString(f, k, n), where(f, n) + ": " + k, "metrics", &c.metrics_host,
                       &c.metrics_port);
       }},
      {"api", "listen",
       [&c](auto& f, auto& k, auto& n) {
         parseLoopback(getString(f, k, n), where(f, n) + ": " + k, "the HTTP front", &c.api.host,
                       &c.api.port);
       }},
      {"api", "token",
       [&c](auto& f, auto& k, auto& n) {
         c.api.token = getString(f, k, n);
         if (!c.api.token.empty() && c.api.token.size() < 16) {
           throw ConfigError{where(f, n) + ": " + k + " must be at least 16 characters"};
         }
       }},
      {"api", "token_file",
       [&c](auto& f, auto& k, auto& n) { c.api.token_file = getString(f, k, n); }},
      {"api", "max_body_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.api.max_body_bytes = static_cast<size_t>(getInt(f, k, n, 1024, int64_t{1} << 30));
       }},
      {"api", "header_timeout_s",
       [&c](auto& f, auto& k, auto& n) {
         c.api.header_timeout_ms = static_cast<int64_t>(getDouble(f, k, n, 0.01, 3600) * 1000);
       }},
      {"api", "idle_timeout_s",
       [&c](auto& f, auto& k, auto& n) {
         c.api.idle_timeout_ms = static_cast<int64_t>(getDouble(f, k, n, 0.01, 86400) * 1000);
       }},
      {"api", "max_connections",
       [&c](auto& f, auto& k, auto& n) {
         c.api.max_connections = static_cast<size_t>(getInt(f, k, n, 1, 1000000));
       }},
      {"api", "max_buffered_request_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.api.max_buffered_request_bytes = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 36));
       }},
      {"api", "stream_head_after_s",
       [&c](auto& f, auto& k, auto& n) {
         c.api.stream_head_after_ms = static_cast<int64_t>(getDouble(f, k, n, 0.1, 3600) * 1000);
       }},
      {"api", "keepalive_s",
       [&c](auto& f, auto& k, auto& n) {
         c.api.keepalive_ms = static_cast<int64_t>(getDouble(f, k, n, 0.1, 3600) * 1000);
       }},
      {"api", "retry_memory_s",
       [&c](auto& f, auto& k, auto& n) {
         c.api.retry_memory_ms = static_cast<int64_t>(getDouble(f, k, n, 0, 86400) * 1000);
       }},
      {"access", "admin_group",
       [&c](auto& f, auto& k, auto& n) { c.admin_group = getString(f, k, n); }},
      {"access", "max_user_priority",
       [&c](auto& f, auto& k, auto& n) {
         c.max_user_priority = static_cast<int>(getInt(f, k, n, -1000, 1000));
       }},
      {"ipc", "socket_group",
       [&c](auto& f, auto& k, auto& n) { c.socket_group = getString(f, k, n); }},
      {"cache", "enabled",
       [&c](auto& f, auto& k, auto& n) {
         auto b = n.template value<bool>();
         if (!b) {
           throw ConfigError{where(f, n) + ": " + k + " must be true or false"};
         }
         c.cache_enabled = *b;
       }},
      {"cache", "ttl_s",
       [&c](auto& f, auto& k, auto& n) {
         c.cache_ttl_ms = static_cast<int64_t>(getDouble(f, k, n, 0, 365 * 86400.0) * 1000);
       }},
      {"openrouter", "credit_check_s",
       [&c](auto& f, auto& k, auto& n) {
         c.credit_check_ms = static_cast<int64_t>(getDouble(f, k, n, 0, 86400) * 1000);
       }},
      {"http", "connect_timeout_ms",
       [&c](auto& f, auto& k, auto& n) { c.http.connect_timeout_ms = getInt(f, k, n, 1, 600000); }},
      {"http", "idle_timeout_s",
       [&c](auto& f, auto& k, auto& n) {
         c.http.idle_timeout_ms = static_cast<int64_t>(getDouble(f, k, n, 1, 86400) * 1000);
       }},
      {"http", "max_response_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.http.max_response_bytes = static_cast<size_t>(getInt(f, k, n, 1024, int64_t{1} << 32));
       }},
      {"http", "max_event_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.http.max_event_bytes = static_cast<size_t>(getInt(f, k, n, 1024, int64_t{1} << 30));
       }},
      {"http", "attempt_timeout_s",
       [&c](auto& f, auto& k, auto& n) {
         const double s = getDouble(f, k, n, 0, 7 * 86400.0);
         if (s > 0) {
           c.default_timeout_ms = std::max<int64_t>(1, static_cast<int64_t>(s * 1000));
         } else {
           c.default_timeout_ms.reset();
         }
       }},
      {"http", "max_host_connections",
       [&c](auto& f, auto& k, auto& n) { c.http.max_host_connections = getInt(f, k, n, 1, 10000); }},
      {"http", "max_buffered_bytes",
       [&c](auto& f, auto& k, auto& n) {
         c.http.max_buffered_bytes = static_cast<size_t>(getInt(f, k, n, 65536, int64_t{1} << 36));
       }},
      {"circuit", "failures",
       [&c](auto& f, auto& k, auto& n) { c.circuit.failures = static_cast<int>(getInt(f, k, n, 1, 100000)); }},
      {"circuit", "window_s",
       [&c](auto& f, auto& k, auto& n) {
         c.circuit.window_ms = static_cast<int64_t>(getDouble(f, k, n, 0.001, 86400) * 1000);
       }},
      {"circuit", "cooldown_s",
       [&c](auto& f, auto& k, auto& n) {
         c.circuit.cooldown_ms = static_cast<int64_t>(getDouble(f, k, n, 0.001, 86400) * 1000);
       }},
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
      {"catalog", "refresh_s",
       [&c](auto& f, auto& k, auto& n) {
         // Whole seconds; under a minute would only hammer the provider's model list.
         int64_t s = getInt(f, k, n, 0, 7 * 86400);
         if (s > 0 && s < 60) {
           throw ConfigError{where(f, n) + ": " + k + " must be 0 (no periodic refresh) or at least 60"};
         }
         c.catalog.refresh_ms = s * 1000;
       }},
      {"catalog", "refresh_at_start",
       [&c](auto& f, auto& k, auto& n) { c.catalog.refresh_at_start = getBool(f, k, n); }},
      {"budgets", "time_zone",
       [&c](auto& f, auto& k, auto& n) {
         std::string v = getString(f, k, n);
         if (!validTimeZone(v)) {
           throw ConfigError{where(f, n) + ": " + k + " must be \"UTC\" or a time zone name with a file "
                             "under /usr/share/zoneinfo, such as \"Europe/Paris\"; \"" + v +
                             "\" is neither"};
         }
         c.budget_time_zone = v;
       }},
  };
}

std::vector<std::string> getStrings(const std::string& file, const std::string& key,
                                    const toml::node& node) {
  const toml::array* arr = node.as_array();
  std::vector<std::string> out;
  if (arr == nullptr) {
    throw ConfigError{where(file, node) + ": " + key + " must be an array of strings"};
  }
  for (const toml::node& e : *arr) {
    auto v = e.value<std::string>();
    if (!v || v->empty()) {
      throw ConfigError{where(file, e) + ": " + key + " must hold non-empty strings"};
    }
    out.push_back(*v);
  }
  return out;
}

// [[providers]]: more OpenAI-compatible upstreams, matched before OpenRouter.
void applyProviders(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": providers must be written as [[providers]] tables"};
  }
  std::vector<ProviderConfig> added;
  for (const toml::node& entry : *arr) {
    ProviderConfig p;
    p.stream_usage = true;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "providers." + std::string(name.str());
      if (name == "name") {
        p.name = getString(file, key, value);
      } else if (name == "base_url") {
        p.base_url = getString(file, key, value);
      } else if (name == "api_key_env") {
        p.api_key_env = getString(file, key, value);
      } else if (name == "models") {
        p.models = getStrings(file, key, value);
      } else if (name == "stream_usage") {
        p.stream_usage = getBool(file, key, value);
      } else if (name == "responses_api") {
        p.responses_api = getBool(file, key, value);
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    if (p.name.empty() || p.base_url.empty() || p.models.empty()) {
      throw ConfigError{where(file, entry) + ": a provider needs name, base_url and models"};
    }
    if (p.name == "mock" || p.name == "openrouter") {
      throw ConfigError{where(file, entry) + ": the provider name \"" + p.name + "\" is reserved"};
    }
    added.push_back(std::move(p));
  }
  // Configured providers are matched before OpenRouter, which stays last.
  c.providers.insert(c.providers.end() - 1, added.begin(), added.end());
}

// [[prices]]: price overrides, kept in file order (the first match wins).
void applyPrices(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": prices must be written as [[prices]] tables"};
  }
  constexpr double kPerMtok = 1e-6;
  for (const toml::node& entry : *arr) {
    PriceOverride o;
    bool has_prompt = false;
    bool has_completion = false;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "prices." + std::string(name.str());
      if (name == "match") {
        o.match = getString(file, key, value);
      } else if (name == "prompt_usd_per_mtok") {
        o.pricing.prompt = getDouble(file, key, value, 0, 1e6) * kPerMtok;
        has_prompt = true;
      } else if (name == "completion_usd_per_mtok") {
        o.pricing.completion = getDouble(file, key, value, 0, 1e6) * kPerMtok;
        has_completion = true;
      } else if (name == "request_usd") {
        o.pricing.request = getDouble(file, key, value, 0, 1e6);
      } else if (name == "cache_read_usd_per_mtok") {
        o.pricing.cache_read = getDouble(file, key, value, 0, 1e6) * kPerMtok;
      } else if (name == "cache_write_usd_per_mtok") {
        o.pricing.cache_write = getDouble(file, key, value, 0, 1e6) * kPerMtok;
      } else if (name == "context_length") {
        o.context_length = getInt(file, key, value, 1, INT64_C(1000000000));
      } else if (name == "max_completion_tokens") {
        o.max_completion_tokens = getInt(file, key, value, 1, INT64_C(1000000000));
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    if (o.match.empty()) {
      throw ConfigError{where(file, entry) + ": a price needs match (a model id or pattern)"};
    }
    // Both prices are required, so a forgotten key never makes a model free.
    if (!has_prompt || !has_completion) {
      throw ConfigError{where(file, entry) + ": a price needs prompt_usd_per_mtok and "
                                             "completion_usd_per_mtok (0 for free)"};
    }
    o.pricing.known = true;
    c.prices.push_back(std::move(o));
  }
}

// [limits]: guard_ms, and [[limits.key]] / [[limits.model]] rules.
void applyLimits(Config& c, const std::string& file, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError{where(file, node) + ": limits must be a table"};
  }
  bool model_rules = false;
  std::vector<LimitRule> rules;
  for (auto&& [name, value] : *table) {
    if (name == "guard_ms") {
      c.limits.guard_ms = getInt(file, "limits.guard_ms", value, 0, 60000);
      continue;
    }
    if (name != "key" && name != "model") {
      throw ConfigError{where(file, value) + ": unknown key \"limits." + std::string(name.str()) + "\""};
    }
    const LimitScope scope = name == "key" ? LimitScope::kKey : LimitScope::kModel;
    model_rules = model_rules || scope == LimitScope::kModel;
    const toml::array* arr = value.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      throw ConfigError{where(file, value) + ": limits." + std::string(name.str()) +
                        " must be written as [[limits." + std::string(name.str()) + "]] tables"};
    }
    for (const toml::node& entry : *arr) {
      LimitRule r;
      r.scope = scope;
      for (auto&& [field, v] : *entry.as_table()) {
        std::string key = "limits." + std::string(name.str()) + "." + std::string(field.str());
        if (field == "match") {
          r.match = getString(file, key, v);
        } else if (field == "rpm") {
          r.rpm = getInt(file, key, v, 0, 100000000);
        } else if (field == "rps") {
          r.rps = getInt(file, key, v, 0, 10000000);
        } else if (field == "tpm") {
          r.tpm = getInt(file, key, v, 0, INT64_C(1000000000000));
        } else if (field == "concurrency") {
          r.concurrency = getInt(file, key, v, 0, 1000000);
        } else {
          throw ConfigError{where(file, v) + ": unknown key \"" + key + "\""};
        }
      }
      if (r.match.empty()) {
        throw ConfigError{where(file, entry) + ": a limit needs match (a key name or model pattern)"};
      }
      if (r.rpm == 0 && r.rps == 0 && r.tpm == 0 && r.concurrency == 0) {
        throw ConfigError{where(file, entry) + ": a limit needs rpm, rps, tpm or concurrency"};
      }
      rules.push_back(std::move(r));
    }
  }
  if (model_rules) {
    c.limits.rules.clear();  // The file's model rules replace the built-in one.
  }
  c.limits.rules.insert(c.limits.rules.end(), rules.begin(), rules.end());
}

// True for a name that is a chain or a route reference rather than a model.
bool isReference(std::string_view name) {
  return name.rfind(kChainPrefix, 0) == 0 || name.rfind(kRoutePrefix, 0) == 0;
}

bool hasWildcard(std::string_view name) { return name.find_first_of("*?") != std::string_view::npos; }

// [aliases]: NAME-or-PATTERN = "concrete/model-id". toml++ keeps a table's keys
// sorted, not in file order, and the first matching pattern must win, so the
// entries are put back in the order of their lines.
void applyAliases(Config& c, const std::string& file, const toml::node& node) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    throw ConfigError{where(file, node) + ": aliases must be a table of \"name\" = \"model\" entries"};
  }
  struct Placed {
    toml::source_position at;
    ModelAlias alias;
  };
  std::vector<Placed> placed;
  for (auto&& [name, value] : *table) {
    const std::string key = "aliases.\"" + std::string(name.str()) + "\"";
    if (value.is_table()) {
      // `gpt-4.1 = ...` unquoted is a dotted key: a nested table, not an alias.
      throw ConfigError{where(file, value) + ": " + key +
                        " is a table; quote alias names that hold dots (\"gpt-4.1\" = \"...\")"};
    }
    std::string model = getString(file, key, value);
    if (name.str().empty() || isReference(name.str())) {
      throw ConfigError{where(file, value) + ": " + key +
                        ": an alias name must be a model name or pattern, not empty, chain: or route:"};
    }
    if (model.empty() || hasWildcard(model) || isReference(model)) {
      throw ConfigError{where(file, value) + ": " + key +
                        " must name a concrete model id (no * or ?, not a chain: or route:), not \"" +
                        model + "\""};
    }
    placed.push_back(Placed{value.source().begin, ModelAlias{std::string(name.str()), std::move(model)}});
  }
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
  });
  for (Placed& p : placed) {
    c.aliases.push_back(std::move(p.alias));
  }
}

// [[routes]]: routing rules, in file order, with unique names.
void applyRoutes(Config& c, const std::string& file, const toml::node& node) {
  const toml::array* arr = node.as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    throw ConfigError{where(file, node) + ": routes must be written as [[routes]] tables"};
  }
  std::map<std::string, int64_t> defined_at;  // Name -> the line of its [[routes]].
  for (const toml::node& entry : *arr) {
    RouteRule r;
    bool has_models = false;
    for (auto&& [name, value] : *entry.as_table()) {
      std::string key = "routes." + std::string(name.str());
      if (name == "name") {
        r.name = getString(file, key, value);
      } else if (name == "models") {
        r.models = getStrings(file, key, value);
        has_models = true;
        std::set<std::string_view> seen;
        for (const std::string& m : r.models) {
          if (isReference(m)) {
            throw ConfigError{where(file, value) + ": " + key + " lists models (or aliases), not \"" + m + "\""};
          }
          if (!seen.insert(m).second) {
            throw ConfigError{where(file, value) + ": " + key + " lists \"" + m + "\" twice"};
          }
        }
      } else if (name == "strategy") {
        std::string v = getString(file, key, value);
        if (v == "ordered") {
          r.strategy = RouteStrategy::kOrdered;
        } else if (v == "cost-optimized") {
          r.strategy = RouteStrategy::kCostOptimized;
        } else {
          throw ConfigError{where(file, value) + ": " + key +
                            " must be \"ordered\" or \"cost-optimized\", not \"" + v + "\""};
        }
      } else {
        throw ConfigError{where(file, value) + ": unknown key \"" + key + "\""};
      }
    }
    const int64_t line = entry.source().begin.line;
    if (r.name.empty()) {
      throw ConfigError{where(file, entry) + ": a route needs a name (what jobs give as \"route\")"};
    }
    if (r.name.size() > ipc::kMaxNameBytes) {
      throw ConfigError{where(file, entry) + ": the route name \"" + r.name + "\" is longer than " +
                        std::to_string(ipc::kMaxNameBytes) + " bytes"};
    }
    if (!has_models || r.models.empty()) {
      throw ConfigError{where(file, entry) + ": route \"" + r.name + "\" needs a non-empty models list"};
    }
    if (auto [it, added] = defined_at.emplace(r.name, line); !added) {
      throw ConfigError{where(file, entry) + ": route \"" + r.name + "\" is already defined at line " +
                        std::to_string(it->second)};
    }
    c.routes.push_back(std::move(r));
  }
}

// toml++ bounds nested arrays and inline tables (TOML_MAX_NESTED_VALUES, 256) but
// not dotted keys and table headers: `a.a.a...` 200,000 parts deep overflowed the
// stack while its tables were built. No key of ours has more than three parts, so
// a line with more than kMaxTomlDots dots outside strings and comments is refused
// before toml++ reads the file.
constexpr int kMaxTomlDots = 128;

// The 1-based number of the first line with too many dots, or 0.
size_t lineWithTooManyDots(std::string_view text) {
  enum class In { kCode, kBasic, kLiteral, kMultiBasic, kMultiLiteral, kComment };
  In in = In::kCode;
  size_t line = 1;
  int dots = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char ch = text[i];
    if (ch == '\n') {
      ++line;
      dots = 0;
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) {
        in = In::kCode;  // Single-line strings end here (unterminated: toml++ says so).
      }
      continue;
    }
    const bool triple = i + 2 < n && text[i + 1] == ch && text[i + 2] == ch;
    switch (in) {
      case In::kCode:
        if (ch == '#') {
          in = In::kComment;
        } else if (ch == '"' || ch == '\'') {
          in = triple ? (ch == '"' ? In::kMultiBasic : In::kMultiLiteral) : (ch == '"' ? In::kBasic : In::kLiteral);
          i += triple ? 2 : 0;
        } else if (ch == '.' && ++dots > kMaxTomlDots) {
          return line;
        }
        break;
      case In::kBasic:
      case In::kMultiBasic:
        if (ch == '\\' && i + 1 < n && text[i + 1] != '\n') {
          ++i;  // An escaped character, never the end of the string.
        } else if (ch == '"' && (in == In::kBasic || triple)) {
          i += in == In::kBasic ? 0 : 2;
          in = In::kCode;
        }
        break;
      case In::kLiteral:
      case In::kMultiLiteral:
        if (ch == '\'' && (in == In::kLiteral || triple)) {
          i += in == In::kLiteral ? 0 : 2;
          in = In::kCode;
        }
        break;
      case In::kComment:
        break;
    }
  }
  return 0;
}

toml::table parseTomlFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return toml::parse_file(file);  // Says why it cannot be read.
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  if (const size_t line = lineWithTooManyDots(content); line != 0) {
    throw ConfigError{file + ":" + std::to_string(line) + ": more than " + std::to_string(kMaxTomlDots) +
                      " dots outside strings on one line (keys and table headers nest at most that deep)"};
  }
  return toml::parse(content, file);
}

void applyFile(Config& c, const std::string& file) {
  toml::table root;
  try {
    root = parseTomlFile(file);
  } catch (const toml::parse_error& e) {
    throw ConfigError{file + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description())};
  }
  std::vector<Key> keys = keysFor(c);
  for (auto&& [section, node] : root) {
    if (section.str() == "providers") {
      applyProviders(c, file, node);
      continue;
    }
    if (section.str() == "limits") {
      applyLimits(c, file, node);
      continue;
    }
    if (section.str() == "prices") {
      applyPrices(c, file, node);
      continue;
    }
    if (section.str() == "aliases") {
      applyAliases(c, file, node);
      continue;
    }
    if (section.str() == "routes") {
      applyRoutes(c, file, node);
      continue;
    }
    if (section.str() == "chains") {
      const toml::table* chains = node.as_table();
      if (chains == nullptr) {
        throw ConfigError{where(file, node) + ": chains must be a table of model lists"};
      }
      for (auto&& [name, models] : *chains) {
        std::vector<std::string> list = getStrings(file, "chains." + std::string(name.str()), models);
        if (list.empty()) {
          throw ConfigError{where(file, models) + ": chain \"" + std::string(name.str()) + "\" is empty"};
        }
        c.chains[std::string(name.str())] = std::move(list);
      }
      continue;
    }
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


std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

ProviderConfig openRouterDefaults() {
  ProviderConfig p;
  p.name = "openrouter";
  p.openrouter = true;
  p.stream_usage = false;  // OpenRouter always sends usage (with cost) at the end.
  p.responses_api = true;  // OpenRouter serves POST /responses.
  p.models = {"*"};
  p.base_url = env("OPENROUTER_BASE_URL");
  if (p.base_url.empty()) {
    p.base_url = "https://openrouter.ai/api/v1";
  }
  p.title = "llmq";
  return p;
}

// Reads each provider's key from its environment variable. OpenRouter's comes
// from OPENROUTER_API_KEY or its alias OPEN_ROUTER_API_KEY unless configured.
void resolveKeys(Config& c) {
  for (ProviderConfig& p : c.providers) {
    if (p.openrouter && p.api_key_env.empty()) {
      p.api_key_env = !env("OPENROUTER_API_KEY").empty() || env("OPEN_ROUTER_API_KEY").empty()
                          ? "OPENROUTER_API_KEY"
                          : "OPEN_ROUTER_API_KEY";
    }
    if (!p.api_key_env.empty()) {
      p.api_key = env(p.api_key_env.c_str());
    }
    while (!p.base_url.empty() && p.base_url.back() == '/') {
      p.base_url.pop_back();
    }
  }
}

// Why `url` cannot be an upstream's base URL, or nullptr when it can: http:// or
// https:// (any case) with a host, and no whitespace or control characters. curl
// is held to those two schemes anyway; refusing others at start says so at once
// instead of failing every attempt.
const char* malformedBaseUrl(std::string_view url) {
  for (char ch : url) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f) {
      return "holds whitespace or a control character";
    }
  }
  const size_t rest = upstream::hasScheme(url, "https://") ? 8 : upstream::hasScheme(url, "http://") ? 7 : 0;
  if (rest == 0) {
    return "must start with http:// or https://";
  }
  if (rest == url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#') {
    return "names no host";
  }
  return nullptr;
}

// Why `key` cannot be an API key, or nullptr when it can: a key is printable
// ASCII without whitespace, quotes, brackets, braces, commas or backslashes, so a
// pasting mistake (a JSON array missing its "]", a quoted value) is caught at start
// instead of reaching the upstream as `Bearer ["sk-or-...`.
const char* malformedKey(std::string_view key) {
  if (key.empty()) {
    return "is empty";
  }
  if (key.size() > 1024) {
    return "is longer than 1024 bytes";
  }
  for (char ch : key) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f) {
      return "holds whitespace, a control character or a non-ASCII byte";
    }
    if (std::string_view("\"'`[]{}(),\\").find(ch) != std::string_view::npos) {
      return "holds a quote, a bracket, a comma or a backslash";
    }
  }
  return nullptr;
}

// OPENROUTER_API_KEYS: a JSON array of strings, or a comma list (whitespace
// around each element and empty elements are ignored). Anything else, or any
// malformed key, refuses to start; the message names the variable, never a key.
Result<std::vector<std::string>> parseKeyPool(std::string_view text, const char* var) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::vector<std::string> keys;
  if (!text.empty() && text.front() == '[') {
    json::Document doc;
    if (!json::parse(doc, text, nullptr) || !doc.IsArray()) {
      return makeError(ErrorKind::kInvalidArgument,
                       std::string(var) + " starts with \"[\" but is not a JSON array of strings");
    }
    for (const auto& v : doc.GetArray()) {
      if (!v.IsString()) {
        return makeError(ErrorKind::kInvalidArgument,
                         std::string(var) + ": element " + std::to_string(keys.size() + 1) + " is not a string");
      }
      keys.emplace_back(json::view(v));
    }
  } else {
    for (const std::string& k : json::parseStringList(std::string(text))) {
      keys.push_back(k);
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (const char* why = malformedKey(keys[i])) {
      return makeError(ErrorKind::kInvalidArgument, std::string(var) + ": key " + std::to_string(i + 1) +
                                                        " " + why + " (the key is not shown)");
    }
  }
  return keys;
}

Result<void> applyEnvironment(Config& c) {
  auto pool = parseKeyPool(env("OPENROUTER_API_KEYS"), "OPENROUTER_API_KEYS");
  if (!pool) {
    return pool.takeError();
  }
  c.openrouter_pool = std::move(*pool);
  for (const ProviderConfig& p : c.providers) {
    if (const char* why = p.api_key.empty() ? nullptr : malformedKey(p.api_key)) {
      return makeError(ErrorKind::kInvalidArgument,
                       p.api_key_env + " (the key of provider " + p.name + ") " + why + " (the key is not shown)");
    }
  }
  c.preferred_models = json::parseStringList(env("OPENROUTER_PREFERRED_MODELS"));
  if (std::string t = env("OPENROUTER_TIMEOUT_MS"); !t.empty()) {
    char* end = nullptr;
    long long ms = std::strtoll(t.c_str(), &end, 10);
    if (*end != '\0' || ms <= 0) {
      return makeError(ErrorKind::kInvalidArgument, "OPENROUTER_TIMEOUT_MS must be a positive integer");
    }
    c.default_timeout_ms = ms;
  }
  if (std::string r = env("OPENROUTER_MAX_RETRIES"); !r.empty()) {
    char* end = nullptr;
    long n = std::strtol(r.c_str(), &end, 10);
    if (*end != '\0' || n < 0 || n > 99) {
      return makeError(ErrorKind::kInvalidArgument, "OPENROUTER_MAX_RETRIES must be from 0 to 99");
    }
    c.default_max_attempts = static_cast<int>(n) + 1;
  }
  if (std::string b = env("OPENROUTER_COST_BUDGET_USD"); !b.empty()) {
    char* end = nullptr;
    double usd = std::strtod(b.c_str(), &end);
    if (*end != '\0' || !std::isfinite(usd) || usd <= 0) {
      return makeError(ErrorKind::kInvalidArgument,
                       "OPENROUTER_COST_BUDGET_USD must be a positive number of US dollars, not \"" +
                           b + "\"");
    }
    c.cost_budget_usd = usd;
  }
  return {};
}

// A TOML basic string: `text` quoted, with its quotes and backslashes escaped.
std::string tomlString(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
    }
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

std::string tomlStrings(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    out += (i > 0 ? ", " : "") + tomlString(list[i]);
  }
  return out + "]";
}

}  // namespace

const char* routeStrategyName(RouteStrategy strategy) {
  return strategy == RouteStrategy::kCostOptimized ? "cost-optimized" : "ordered";
}

Result<Config> loadConfig(const CommandLine& cli) {
  Config c;
  c.providers.push_back(openRouterDefaults());
  const char* env_socket = std::getenv("LLMQ_SOCKET");
  c.socket_explicit = cli.socket.has_value() || (env_socket != nullptr && *env_socket != '\0');
  c.socket_path = cli.socket ? *cli.socket : ipc::daemonSocketPath();
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
  if (cli.http) {
    try {
      if (!cli.http->empty()) {
        parseLoopback(*cli.http, "--http", "the HTTP front", &c.api.host, &c.api.port);
      } else if (c.api.port < 0) {
        c.api.port = ApiConfig::kDefaultPort;
      }
    } catch (const ConfigError& e) {
      return makeError(ErrorKind::kInvalidArgument, e.message);
    }
  }
  resolveKeys(c);
  for (const ProviderConfig& p : c.providers) {
    if (const char* why = malformedBaseUrl(p.base_url)) {
      const std::string setting = p.openrouter ? std::string("OPENROUTER_BASE_URL (or [openrouter] base_url)")
                                               : "base_url of provider \"" + p.name + "\"";
      return makeError(ErrorKind::kInvalidArgument, setting + " " + why);
    }
  }
  if (auto r = applyEnvironment(c); !r) {
    return r.takeError();
  }
  if (c.max_pending_output_hard_bytes < c.max_pending_output_bytes) {
    c.max_pending_output_hard_bytes = c.max_pending_output_bytes;
  }
  // A page of job.list must fit in what a connection may have pending.
  c.max_answer_bytes = std::min(c.max_answer_bytes, c.max_pending_output_bytes / 2);
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
    << "[store]\nsynchronous = \"" << sync << "\"\nmax_page_count = " << c.storage.max_page_count
    << "\nauto_vacuum_convert_max_mb = "
    << static_cast<double>(c.storage.auto_vacuum_convert_max_bytes) / (1024.0 * 1024.0) << "\n\n"
    << "[ipc]\nmax_frame_bytes = " << c.max_frame_bytes
    << "\nmax_pending_output_bytes = " << c.max_pending_output_bytes
    << "\nmax_pending_output_hard_bytes = " << c.max_pending_output_hard_bytes
    << "\nmax_total_pending_output_bytes = " << c.max_total_pending_output_bytes
    << "\nmax_connections = " << c.max_connections
    << "\nmax_connections_per_uid = " << c.max_connections_per_uid
    << "\nline_timeout_s = " << static_cast<double>(c.line_timeout_ms) / 1000.0
    << "\nmax_partial_bytes_total = " << c.max_partial_bytes_total
    << "\nmax_answer_bytes = " << c.max_answer_bytes
    << "\nstall_timeout_ms = " << c.stall_timeout_ms
    << "\nmax_subscriptions_per_connection = " << c.max_subscriptions_per_connection
    << "\nmax_subscriptions = " << c.max_subscriptions
    << "\nmax_waits_per_connection = " << c.max_waits_per_connection << "\nsocket_mode = \"" << mode
    << "\"\n\n"
    << "[retry]\nbase_ms = " << c.retry_base_ms << "\ncap_ms = " << c.retry_cap_ms
    << "\nretry_after_max_s = " << static_cast<double>(c.retry_after_max_ms) / 1000.0 << "\n\n"
    << "[mock]\nchunk_delay_ms = " << c.mock.chunk_delay_ms
    << "\nfirst_chunk_delay_ms = " << c.mock.first_chunk_delay_ms
    << "\ntokens_per_chunk = " << c.mock.tokens_per_chunk
    << "\ndefault_tokens = " << c.mock.default_tokens
    << "\nprompt_usd_per_mtok = " << c.mock.prompt_usd_per_mtok
    << "\ncompletion_usd_per_mtok = " << c.mock.completion_usd_per_mtok << "\n\n"
    << "[http]\nconnect_timeout_ms = " << c.http.connect_timeout_ms
    << "\nidle_timeout_s = " << static_cast<double>(c.http.idle_timeout_ms) / 1000.0
    << "\nmax_host_connections = " << c.http.max_host_connections
    << "\nmax_buffered_bytes = " << c.http.max_buffered_bytes
    << "\nmax_response_bytes = " << c.http.max_response_bytes
    << "\nmax_event_bytes = " << c.http.max_event_bytes
    << "\nattempt_timeout_s = " << static_cast<double>(c.default_timeout_ms.value_or(0)) / 1000.0 << "\n"
    << "\n[catalog]\nrefresh_s = " << c.catalog.refresh_ms / 1000
    << "\nrefresh_at_start = " << (c.catalog.refresh_at_start ? "true" : "false") << "\n"
    << "\n[api]\nlisten = \""
    << (c.api.port < 0 ? std::string() : c.api.host + ":" + std::to_string(c.api.port)) << "\""
    << "\ntoken = " << (c.api.token.empty() ? "\"\"  # from token_file" : "\"" + fingerprint(c.api.token) + "\"  # masked")
    << "\ntoken_file = \"" << c.api.token_file << "\"\nmax_body_bytes = " << c.api.max_body_bytes
    << "\nheader_timeout_s = " << static_cast<double>(c.api.header_timeout_ms) / 1000.0
    << "\nidle_timeout_s = " << static_cast<double>(c.api.idle_timeout_ms) / 1000.0
    << "\nmax_connections = " << c.api.max_connections
    << "\nmax_buffered_request_bytes = " << c.api.max_buffered_request_bytes
    << "\nretry_memory_s = " << static_cast<double>(c.api.retry_memory_ms) / 1000.0
    << "\nstream_head_after_s = " << static_cast<double>(c.api.stream_head_after_ms) / 1000.0
    << "\nkeepalive_s = " << static_cast<double>(c.api.keepalive_ms) / 1000.0 << "\n"
    << "\n[budgets]\ntime_zone = \"" << c.budget_time_zone << "\"\n"
    << "# OPENROUTER_COST_BUDGET_USD: ";
  if (c.cost_budget_usd) {
    o << *c.cost_budget_usd << " (a global monthly budget)\n";
  } else {
    o << "not set\n";
  }
  for (const PriceOverride& p : c.prices) {
    constexpr double kPerMtok = 1e6;
    o << "\n[[prices]]\nmatch = \"" << p.match << "\""
      << "\nprompt_usd_per_mtok = " << p.pricing.prompt * kPerMtok
      << "\ncompletion_usd_per_mtok = " << p.pricing.completion * kPerMtok
      << "\nrequest_usd = " << p.pricing.request
      << "\ncache_read_usd_per_mtok = " << p.pricing.cache_read * kPerMtok
      << "\ncache_write_usd_per_mtok = " << p.pricing.cache_write * kPerMtok << "\n";
    if (p.context_length > 0) {
      o << "context_length = " << p.context_length << "\n";
    }
    if (p.max_completion_tokens > 0) {
      o << "max_completion_tokens = " << p.max_completion_tokens << "\n";
    }
  }
  if (!c.chains.empty()) {
    o << "\n[chains]\n";
    for (const auto& [name, models] : c.chains) {
      o << tomlString(name) << " = " << tomlStrings(models) << "\n";
    }
  }
  if (!c.aliases.empty()) {
    o << "\n[aliases]  # an exact name first, else the first pattern that matches\n";
    for (const ModelAlias& a : c.aliases) {
      o << tomlString(a.match) << " = " << tomlString(a.model) << "\n";
    }
  }
  for (const RouteRule& r : c.routes) {
    o << "\n[[routes]]\nname = " << tomlString(r.name) << "\nmodels = " << tomlStrings(r.models)
      << "\nstrategy = \"" << routeStrategyName(r.strategy) << "\"\n";
  }
  o << "\n[retention]\nfinished_jobs_days = "
    << static_cast<double>(c.retention.finished_job_ms) / 86'400'000.0
    << "\nledger_days = " << c.retention.ledger_days
    << "\ncheck_s = " << static_cast<double>(c.retention.check_ms) / 1000.0 << "\n";
  o << "\n[cache]\nenabled = " << (c.cache_enabled ? "true" : "false")
    << "\nttl_s = " << static_cast<double>(c.cache_ttl_ms) / 1000.0 << "\n";
  o << "\n[quota]\nmax_queued_jobs = " << c.quota.max_unfinished_jobs
    << "\nmax_stored_mb = " << (c.quota.max_stored_bytes >> 20)
    << "\nadmin_max_queued_jobs = " << c.quota.admin_max_unfinished_jobs
    << "\nadmin_max_stored_mb = " << (c.quota.admin_max_stored_bytes >> 20) << "\n";
  o << "\n[limits]\nguard_ms = " << c.limits.guard_ms << "\n";
  for (const LimitRule& r : c.limits.rules) {
    o << "\n[[limits." << limitScopeName(r.scope) << "]]\nmatch = \"" << r.match << "\"";
    for (auto [name, v] : {std::pair{"rpm", r.rpm}, {"rps", r.rps}, {"tpm", r.tpm}, {"concurrency", r.concurrency}}) {
      if (v > 0) {
        o << "\n" << name << " = " << v;
      }
    }
    o << "\n";
  }
  for (const ProviderConfig& p : c.providers) {
    o << "\n" << (p.openrouter ? "[openrouter]" : "[[providers]]\nname = \"" + p.name + "\"")
      << "\nbase_url = \"" << p.base_url << "\"";
    if (!p.openrouter) {
      o << "\nmodels = [";
      for (size_t i = 0; i < p.models.size(); ++i) {
        o << (i > 0 ? ", " : "") << "\"" << p.models[i] << "\"";
      }
      o << "]\nstream_usage = " << (p.stream_usage ? "true" : "false");
      o << "\nresponses_api = " << (p.responses_api ? "true" : "false");
    } else {
      o << "\nreferer = \"" << p.referer << "\"\ntitle = \"" << p.title << "\""
        << "\nresponses_api = " << (p.responses_api ? "true" : "false")
        << "\ncredit_check_s = " << static_cast<double>(c.credit_check_ms) / 1000.0;
    }
    o << "\napi_key_env = \"" << p.api_key_env << "\"  # "
      << (p.api_key.empty() ? "not set" : "set: " + fingerprint(p.api_key)) << "\n";
    if (p.openrouter) {
      for (const std::string& k : c.openrouter_pool) {
        o << "# OPENROUTER_API_KEYS: " << fingerprint(k) << "\n";
      }
    }
  }
  return o.str();
}

std::string restartOnlyChanges(const Config& running, const Config& next) {
  std::string fixed;
  auto unchanged = [&](bool same, const char* what) {
    if (!same) {
      fixed += fixed.empty() ? what : std::string(", ") + what;
    }
  };
  unchanged(next.socket_path == running.socket_path && next.socket_mode == running.socket_mode &&
                next.socket_group == running.socket_group,
            "the socket");
  unchanged(next.db_path == running.db_path && next.synchronous == running.synchronous, "the database");
  // Providers are replaced on reload; the keys come from the environment, which a
  // running process cannot be given again.
  unchanged(next.openrouter_pool == running.openrouter_pool, "the OpenRouter key pool");
  unchanged(next.api == running.api, "[api]");
  unchanged(next.http.connect_timeout_ms == running.http.connect_timeout_ms &&
                next.http.idle_timeout_ms == running.http.idle_timeout_ms &&
                next.http.max_host_connections == running.http.max_host_connections &&
                next.http.max_buffered_bytes == running.http.max_buffered_bytes,
            "[http]");
  unchanged(next.metrics_host == running.metrics_host && next.metrics_port == running.metrics_port,
            "[metrics]");
  unchanged(next.max_frame_bytes == running.max_frame_bytes &&
                next.max_pending_output_bytes == running.max_pending_output_bytes &&
                next.max_pending_output_hard_bytes == running.max_pending_output_hard_bytes &&
                next.stall_timeout_ms == running.stall_timeout_ms &&
                next.max_subscriptions_per_connection == running.max_subscriptions_per_connection &&
                next.max_subscriptions == running.max_subscriptions &&
                next.max_connections == running.max_connections &&
                next.max_connections_per_uid == running.max_connections_per_uid &&
                next.line_timeout_ms == running.line_timeout_ms &&
                next.max_partial_bytes_total == running.max_partial_bytes_total,
            "[ipc] limits");
  unchanged(next.mock.chunk_delay_ms == running.mock.chunk_delay_ms &&
                next.mock.first_chunk_delay_ms == running.mock.first_chunk_delay_ms &&
                next.mock.tokens_per_chunk == running.mock.tokens_per_chunk &&
                next.mock.default_tokens == running.mock.default_tokens &&
                next.mock.prompt_usd_per_mtok == running.mock.prompt_usd_per_mtok &&
                next.mock.completion_usd_per_mtok == running.mock.completion_usd_per_mtok,
            "[mock]");
  return fixed;
}

}  // namespace llmq::daemon
