// The config key table and the loops over it that do not read TOML: checking and
// storing a value, printing it, copying what SIGHUP applies, and naming what only
// a restart changes. Reading the file is daemon/config.cc's.
#include "daemon/config_keys.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <tuple>
#include <type_traits>
#include <vector>

#include "common/secret.h"

namespace llmq::daemon {
namespace {

// The Config member at the end of `Path` (e.g. &Config::api, &ApiConfig::port).
template <auto... Path>
auto& at(Config& c) {
  return (c.*....*Path);
}
template <auto... Path>
const auto& at(const Config& c) {
  return (c.*....*Path);
}

template <auto... Path>
struct Member {
  static void copy(Config& to, const Config& from) { at<Path...>(to) = at<Path...>(from); }
  static bool same(const Config& a, const Config& b) { return at<Path...>(a) == at<Path...>(b); }
};

// An integral or enum member the file writes as an integer, in units of `Scale`
// (1000: the file says seconds, the member holds milliseconds).
template <int64_t Scale, auto... Path>
struct IntegerAt : Member<Path...> {
  static KeyValue get(const Config& c) { return static_cast<int64_t>(at<Path...>(c)) / Scale; }
  static std::string set(Config& c, const KeyValue& v) {
    using T = std::remove_reference_t<decltype(at<Path...>(c))>;
    at<Path...>(c) = static_cast<T>(std::get<int64_t>(v) * Scale);
    return "";
  }
};

// A member the file writes as a number, in units of `Scale`.
template <int64_t Scale, auto... Path>
struct NumberAt : Member<Path...> {
  static KeyValue get(const Config& c) { return static_cast<double>(at<Path...>(c)) / static_cast<double>(Scale); }
  static std::string set(Config& c, const KeyValue& v) {
    using T = std::remove_reference_t<decltype(at<Path...>(c))>;
    at<Path...>(c) = static_cast<T>(std::get<double>(v) * static_cast<double>(Scale));
    return "";
  }
};

// A bool or string member, as the file writes it.
template <auto... Path>
struct ValueAt : Member<Path...> {
  static KeyValue get(const Config& c) { return at<Path...>(c); }
  static std::string set(Config& c, const KeyValue& v) {
    using T = std::remove_cvref_t<decltype(at<Path...>(c))>;
    at<Path...>(c) = std::get<T>(v);
    return "";
  }
};

// [openrouter]: a member of the OpenRouter provider, which loadConfig keeps last.
const ProviderConfig* openRouter(const Config& c) {
  return !c.providers.empty() && c.providers.back().openrouter ? &c.providers.back() : nullptr;
}

template <auto Field>
struct OpenRouterAt {
  using T = std::remove_cvref_t<decltype(ProviderConfig{}.*Field)>;
  static KeyValue get(const Config& c) { return openRouter(c) ? openRouter(c)->*Field : T{}; }
  static std::string set(Config& c, const KeyValue& v) {
    if (openRouter(c) != nullptr) {
      c.providers.back().*Field = std::get<T>(v);
    }
    return "";
  }
  static void copy(Config& to, const Config& from) {
    if (openRouter(to) != nullptr && openRouter(from) != nullptr) {
      to.providers.back().*Field = from.providers.back().*Field;
    }
  }
  static bool same(const Config& a, const Config& b) { return get(a) == get(b); }
};

template <class A>
constexpr KeyAccess access() {
  return {&A::get, &A::set, &A::copy, &A::same};
}

// [ipc] socket_mode: an octal string, "0660".
struct SocketMode : Member<&Config::socket_mode> {
  static KeyValue get(const Config& c) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(c.socket_mode) & 07777u);
    return std::string(mode);
  }
  static std::string set(Config& c, const KeyValue& v) {
    const std::string& text = std::get<std::string>(v);
    char* end = nullptr;
    const long mode = std::strtol(text.c_str(), &end, 8);
    if (text.empty() || *end != '\0' || mode < 0 || mode > 0777) {
      return "must be an octal mode such as \"0660\"";
    }
    c.socket_mode = static_cast<int>(mode);
    return "";
  }
};

// A "HOST:PORT" listener stored as host and port (-1: off); `Of::of` ties the two
// members of a Config together.
template <class Of, const char* What>
struct ListenAt {
  static KeyValue get(const Config& c) {
    const auto [host, port] = Of::of(c);
    return port < 0 ? std::string() : host + ":" + std::to_string(port);
  }
  static std::string set(Config& c, const KeyValue& v) {
    auto [host, port] = Of::of(c);
    return parseLoopback(std::get<std::string>(v), What, &host, &port);
  }
  static void copy(Config& to, const Config& from) { Of::of(to) = Of::of(from); }
  static bool same(const Config& a, const Config& b) { return Of::of(a) == Of::of(b); }
};

struct MetricsListener {
  template <class C>
  static auto of(C& c) {
    return std::tie(c.metrics_host, c.metrics_port);
  }
};
struct ApiListener {
  template <class C>
  static auto of(C& c) {
    return std::tie(c.api.host, c.api.port);
  }
};
constexpr char kMetricsName[] = "metrics";
constexpr char kApiName[] = "the HTTP front";

// [http] attempt_timeout_s: 0 leaves attempts without a timeout.
struct AttemptTimeout : Member<&Config::default_timeout_ms> {
  static KeyValue get(const Config& c) { return static_cast<double>(c.default_timeout_ms.value_or(0)) / 1000.0; }
  static std::string set(Config& c, const KeyValue& v) {
    const double s = std::get<double>(v);
    if (s > 0) {
      c.default_timeout_ms = std::max<int64_t>(1, static_cast<int64_t>(s * 1000));
    } else {
      c.default_timeout_ms.reset();
    }
    return "";
  }
};

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
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '/' ||
                    ch == '_' || ch == '-' || ch == '+';
    if (!ok) {
      return false;
    }
  }
  struct stat st {};
  return ::stat(("/usr/share/zoneinfo/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string checkTimeZone(const KeyValue& v) {
  const std::string& name = std::get<std::string>(v);
  return validTimeZone(name) ? ""
                             : "must be \"UTC\" or a time zone name with a file under /usr/share/zoneinfo, "
                               "such as \"Europe/Paris\"; \"" +
                                   name + "\" is neither";
}

std::string checkLedgerDays(const KeyValue& v) {
  const int64_t days = std::get<int64_t>(v);
  return days == 0 || days >= RetentionConfig::kMinLedgerDays
             ? ""
             : "must be 0 (keep the ledger forever) or at least " +
                   std::to_string(RetentionConfig::kMinLedgerDays) + " (budget months are summed from the ledger)";
}

// Whole seconds; under a minute would only hammer the provider's model list.
std::string checkCatalogRefresh(const KeyValue& v) {
  const int64_t s = std::get<int64_t>(v);
  return s > 0 && s < 60 ? "must be 0 (no periodic refresh) or at least 60" : "";
}

std::string checkApiToken(const KeyValue& v) {
  const std::string& token = std::get<std::string>(v);
  return !token.empty() && token.size() < 16 ? "must be at least 16 characters" : "";
}

constexpr KeyChoice kLogLevels[] = {
    {"error", static_cast<int>(log::Level::kError)},  {"warning", static_cast<int>(log::Level::kWarning)},
    {"warn", static_cast<int>(log::Level::kWarning)}, {"notice", static_cast<int>(log::Level::kNotice)},
    {"info", static_cast<int>(log::Level::kInfo)},    {"debug", static_cast<int>(log::Level::kDebug)}};
constexpr KeyChoice kSynchronous[] = {{"normal", static_cast<int>(store::Synchronous::kNormal)},
                                      {"full", static_cast<int>(store::Synchronous::kFull)},
                                      {"off", static_cast<int>(store::Synchronous::kOff)}};

constexpr KeyChoice kKeyStrategies[] = {{"round-robin", static_cast<int>(KeyStrategy::kRoundRobin)},
                                        {"fill-first", static_cast<int>(KeyStrategy::kFillFirst)},
                                        {"least-used", static_cast<int>(KeyStrategy::kLeastUsed)},
                                        {"random", static_cast<int>(KeyStrategy::kRandom)},
                                        {"p2c", static_cast<int>(KeyStrategy::kTwoChoices)}};

constexpr int64_t kSecond = 1000;
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr double kGiB = double(int64_t{1} << 30);

using C = Config;
using K = KeyType;
using R = Reload;

// section, key, type, min, max, choices, where it lands, default, reload, secret, check.
const ConfigKey kKeys[] = {
    {"daemon", "log_level", K::kEnum, 0, 0, kLogLevels, access<IntegerAt<1, &C::log_level>>(), "\"info\""},
    {"daemon", "max_inflight", K::kInteger, 1, 100000, {}, access<IntegerAt<1, &C::max_inflight>>(), "256"},
    {"daemon",
     "shutdown_grace_s",
     K::kNumber,
     0,
     3600,
     {},
     access<NumberAt<kSecond, &C::shutdown_grace_ms>>(),
     "10"},

    {"store", "synchronous", K::kEnum, 0, 0, kSynchronous, access<IntegerAt<1, &C::synchronous>>(), "\"normal\"",
     R::kDatabase},
    {"store",
     "max_page_count",
     K::kInteger,
     0,
     double(int64_t{1} << 40),
     {},
     access<IntegerAt<1, &C::storage, &StoreConfig::max_page_count>>(),
     "0"},
    {"store",
     "auto_vacuum_convert_max_mb",
     K::kNumber,
     0,
     kGiB,
     {},
     access<NumberAt<kMiB, &C::storage, &StoreConfig::auto_vacuum_convert_max_bytes>>(),
     "256"},

    {"ipc",
     "max_frame_bytes",
     K::kInteger,
     1024,
     kGiB,
     {},
     access<IntegerAt<1, &C::max_frame_bytes>>(),
     "4194304",
     R::kIpcLimits},
    {"ipc",
     "max_pending_output_bytes",
     K::kInteger,
     65536,
     4 * kGiB,
     {},
     access<IntegerAt<1, &C::max_pending_output_bytes>>(),
     "8388608",
     R::kIpcLimits},
    {"ipc",
     "max_pending_output_hard_bytes",
     K::kInteger,
     65536,
     16 * kGiB,
     {},
     access<IntegerAt<1, &C::max_pending_output_hard_bytes>>(),
     "67108864",
     R::kIpcLimits},
    {"ipc",
     "max_total_pending_output_bytes",
     K::kInteger,
     1 << 20,
     64 * kGiB,
     {},
     access<IntegerAt<1, &C::max_total_pending_output_bytes>>(),
     "268435456"},
    {"ipc",
     "stall_timeout_ms",
     K::kInteger,
     0,
     3600000,
     {},
     access<IntegerAt<1, &C::stall_timeout_ms>>(),
     "3000",
     R::kIpcLimits},
    {"ipc",
     "max_connections",
     K::kInteger,
     1,
     1000000,
     {},
     access<IntegerAt<1, &C::max_connections>>(),
     "1024",
     R::kIpcLimits},
    {"ipc",
     "max_connections_per_uid",
     K::kInteger,
     1,
     1000000,
     {},
     access<IntegerAt<1, &C::max_connections_per_uid>>(),
     "256",
     R::kIpcLimits},
    {"ipc",
     "line_timeout_s",
     K::kNumber,
     0.01,
     3600,
     {},
     access<NumberAt<kSecond, &C::line_timeout_ms>>(),
     "30",
     R::kIpcLimits},
    {"ipc",
     "max_partial_bytes_total",
     K::kInteger,
     65536,
     64 * kGiB,
     {},
     access<IntegerAt<1, &C::max_partial_bytes_total>>(),
     "67108864",
     R::kIpcLimits},
    {"ipc",
     "max_answer_bytes",
     K::kInteger,
     4096,
     4 * kGiB,
     {},
     access<IntegerAt<1, &C::max_answer_bytes>>(),
     "4194304",
     R::kIpcLimits},
    {"ipc",
     "max_subscriptions_per_connection",
     K::kInteger,
     1,
     1 << 20,
     {},
     access<IntegerAt<1, &C::max_subscriptions_per_connection>>(),
     "4096",
     R::kIpcLimits},
    {"ipc",
     "max_subscriptions",
     K::kInteger,
     1,
     1 << 24,
     {},
     access<IntegerAt<1, &C::max_subscriptions>>(),
     "65536",
     R::kIpcLimits},
    {"ipc",
     "max_waits_per_connection",
     K::kInteger,
     1,
     1 << 20,
     {},
     access<IntegerAt<1, &C::max_waits_per_connection>>(),
     "4096"},
    {"ipc", "socket_mode", K::kString, 0, 0, {}, access<SocketMode>(), "\"0600\"", R::kSocket},
    {"ipc", "socket_group", K::kString, 0, 0, {}, access<ValueAt<&C::socket_group>>(), "\"\"", R::kSocket},

    {"access", "admin_group", K::kString, 0, 0, {}, access<ValueAt<&C::admin_group>>(), "\"\""},
    {"access",
     "max_user_priority",
     K::kInteger,
     -1000,
     1000,
     {},
     access<IntegerAt<1, &C::max_user_priority>>(),
     "100"},

    {"quota",
     "max_queued_jobs",
     K::kInteger,
     0,
     1e9,
     {},
     access<IntegerAt<1, &C::quota, &QuotaConfig::max_unfinished_jobs>>(),
     "10000"},
    {"quota",
     "max_stored_mb",
     K::kInteger,
     0,
     1e9,
     {},
     access<IntegerAt<kMiB, &C::quota, &QuotaConfig::max_stored_bytes>>(),
     "1024"},
    {"quota",
     "admin_max_queued_jobs",
     K::kInteger,
     0,
     1e9,
     {},
     access<IntegerAt<1, &C::quota, &QuotaConfig::admin_max_unfinished_jobs>>(),
     "0"},
    {"quota",
     "admin_max_stored_mb",
     K::kInteger,
     0,
     1e9,
     {},
     access<IntegerAt<kMiB, &C::quota, &QuotaConfig::admin_max_stored_bytes>>(),
     "0"},

    {"retention",
     "finished_jobs_days",
     K::kNumber,
     0,
     36500,
     {},
     access<NumberAt<kDay, &C::retention, &RetentionConfig::finished_job_ms>>(),
     "30"},
    {"retention",
     "ledger_days",
     K::kInteger,
     0,
     36500,
     {},
     access<IntegerAt<1, &C::retention, &RetentionConfig::ledger_days>>(),
     "400",
     R::kSighup,
     false,
     checkLedgerDays},
    {"retention",
     "check_s",
     K::kNumber,
     0.01,
     86400,
     {},
     access<NumberAt<kSecond, &C::retention, &RetentionConfig::check_ms>>(),
     "600"},

    {"metrics",
     "listen",
     K::kString,
     0,
     0,
     {},
     access<ListenAt<MetricsListener, kMetricsName>>(),
     "\"\"",
     R::kMetrics},

    {"api", "listen", K::kString, 0, 0, {}, access<ListenAt<ApiListener, kApiName>>(), "\"\"", R::kApi},
    {"api",
     "token",
     K::kString,
     0,
     0,
     {},
     access<ValueAt<&C::api, &ApiConfig::token>>(),
     "\"\"",
     R::kApi,
     true,
     checkApiToken},
    {"api",
     "token_file",
     K::kString,
     0,
     0,
     {},
     access<ValueAt<&C::api, &ApiConfig::token_file>>(),
     "\"\"",
     R::kApi},
    {"api",
     "max_body_bytes",
     K::kInteger,
     1024,
     kGiB,
     {},
     access<IntegerAt<1, &C::api, &ApiConfig::max_body_bytes>>(),
     "8388608",
     R::kApi},
    {"api",
     "header_timeout_s",
     K::kNumber,
     0.01,
     3600,
     {},
     access<NumberAt<kSecond, &C::api, &ApiConfig::header_timeout_ms>>(),
     "10",
     R::kApi},
    {"api",
     "idle_timeout_s",
     K::kNumber,
     0.01,
     86400,
     {},
     access<NumberAt<kSecond, &C::api, &ApiConfig::idle_timeout_ms>>(),
     "60",
     R::kApi},
    {"api",
     "max_connections",
     K::kInteger,
     1,
     1000000,
     {},
     access<IntegerAt<1, &C::api, &ApiConfig::max_connections>>(),
     "4096",
     R::kApi},
    {"api",
     "max_buffered_request_bytes",
     K::kInteger,
     65536,
     64 * kGiB,
     {},
     access<IntegerAt<1, &C::api, &ApiConfig::max_buffered_request_bytes>>(),
     "67108864",
     R::kApi},
    {"api",
     "stream_head_after_s",
     K::kNumber,
     0.1,
     3600,
     {},
     access<NumberAt<kSecond, &C::api, &ApiConfig::stream_head_after_ms>>(),
     "10",
     R::kApi},
    {"api",
     "keepalive_s",
     K::kNumber,
     0.1,
     3600,
     {},
     access<NumberAt<kSecond, &C::api, &ApiConfig::keepalive_ms>>(),
     "15",
     R::kApi},
    {"api",
     "retry_memory_s",
     K::kNumber,
     0,
     86400,
     {},
     access<NumberAt<kSecond, &C::api, &ApiConfig::retry_memory_ms>>(),
     "300",
     R::kApi},

    {"retry", "base_ms", K::kInteger, 1, 3600000, {}, access<IntegerAt<1, &C::retry_base_ms>>(), "1000"},
    {"retry", "cap_ms", K::kInteger, 1, 86400000, {}, access<IntegerAt<1, &C::retry_cap_ms>>(), "60000"},
    {"retry",
     "retry_after_max_s",
     K::kNumber,
     0.001,
     86400,
     {},
     access<NumberAt<kSecond, &C::retry_after_max_ms>>(),
     "3600"},
    {"retry", "schema_attempts", K::kInteger, 1, 100, {}, access<IntegerAt<1, &C::schema_attempts>>(), "3"},

    {"http",
     "connect_timeout_ms",
     K::kInteger,
     1,
     600000,
     {},
     access<IntegerAt<1, &C::http, &HttpConfig::connect_timeout_ms>>(),
     "10000",
     R::kHttp},
    {"http",
     "idle_timeout_s",
     K::kNumber,
     1,
     86400,
     {},
     access<NumberAt<kSecond, &C::http, &HttpConfig::idle_timeout_ms>>(),
     "120",
     R::kHttp},
    {"http",
     "max_host_connections",
     K::kInteger,
     1,
     10000,
     {},
     access<IntegerAt<1, &C::http, &HttpConfig::max_host_connections>>(),
     "64",
     R::kHttp},
    {"http",
     "max_buffered_bytes",
     K::kInteger,
     65536,
     64 * kGiB,
     {},
     access<IntegerAt<1, &C::http, &HttpConfig::max_buffered_bytes>>(),
     "268435456",
     R::kHttp},
    {"http",
     "max_response_bytes",
     K::kInteger,
     1024,
     4 * kGiB,
     {},
     access<IntegerAt<1, &C::http, &HttpConfig::max_response_bytes>>(),
     "33554432",
     R::kHttp},
    {"http",
     "max_event_bytes",
     K::kInteger,
     1024,
     kGiB,
     {},
     access<IntegerAt<1, &C::http, &HttpConfig::max_event_bytes>>(),
     "8388608",
     R::kHttp},
    {"http", "attempt_timeout_s", K::kNumber, 0, 7 * 86400.0, {}, access<AttemptTimeout>(), "600"},

    {"openrouter",
     "base_url",
     K::kString,
     0,
     0,
     {},
     access<OpenRouterAt<&ProviderConfig::base_url>>(),
     "\"https://openrouter.ai/api/v1\""},
    {"openrouter",
     "api_key_env",
     K::kString,
     0,
     0,
     {},
     access<OpenRouterAt<&ProviderConfig::api_key_env>>(),
     "\"OPENROUTER_API_KEY\""},
    {"openrouter", "referer", K::kString, 0, 0, {}, access<OpenRouterAt<&ProviderConfig::referer>>(), "\"\""},
    {"openrouter", "title", K::kString, 0, 0, {}, access<OpenRouterAt<&ProviderConfig::title>>(), "\"llmq\""},
    {"openrouter",
     "responses_api",
     K::kBool,
     0,
     0,
     {},
     access<OpenRouterAt<&ProviderConfig::responses_api>>(),
     "true"},
    {"openrouter", "key_strategy", K::kEnum, 0, 0, kKeyStrategies, access<IntegerAt<1, &C::key_strategy>>(),
     "\"round-robin\""},
    {"openrouter",
     "credit_check_s",
     K::kNumber,
     0,
     86400,
     {},
     access<NumberAt<kSecond, &C::credit_check_ms>>(),
     "300"},

    {"circuit",
     "failures",
     K::kInteger,
     1,
     100000,
     {},
     access<IntegerAt<1, &C::circuit, &CircuitOptions::failures>>(),
     "5"},
    {"circuit",
     "window_s",
     K::kNumber,
     0.001,
     86400,
     {},
     access<NumberAt<kSecond, &C::circuit, &CircuitOptions::window_ms>>(),
     "30"},
    {"circuit",
     "cooldown_s",
     K::kNumber,
     0.001,
     86400,
     {},
     access<NumberAt<kSecond, &C::circuit, &CircuitOptions::cooldown_ms>>(),
     "30"},

    {"cache", "enabled", K::kBool, 0, 0, {}, access<ValueAt<&C::cache_enabled>>(), "false"},
    {"cache", "ttl_s", K::kNumber, 0, 365 * 86400.0, {}, access<NumberAt<kSecond, &C::cache_ttl_ms>>(), "86400"},

    {"mock",
     "chunk_delay_ms",
     K::kInteger,
     0,
     60000,
     {},
     access<IntegerAt<1, &C::mock, &upstream::MockOptions::chunk_delay_ms>>(),
     "25",
     R::kMock},
    {"mock",
     "first_chunk_delay_ms",
     K::kInteger,
     0,
     600000,
     {},
     access<IntegerAt<1, &C::mock, &upstream::MockOptions::first_chunk_delay_ms>>(),
     "80",
     R::kMock},
    {"mock",
     "tokens_per_chunk",
     K::kInteger,
     1,
     4096,
     {},
     access<IntegerAt<1, &C::mock, &upstream::MockOptions::tokens_per_chunk>>(),
     "1",
     R::kMock},
    {"mock",
     "default_tokens",
     K::kInteger,
     0,
     100000,
     {},
     access<IntegerAt<1, &C::mock, &upstream::MockOptions::default_tokens>>(),
     "24",
     R::kMock},
    {"mock",
     "prompt_usd_per_mtok",
     K::kNumber,
     0,
     1e6,
     {},
     access<NumberAt<1, &C::mock, &upstream::MockOptions::prompt_usd_per_mtok>>(),
     "0.5",
     R::kMock},
    {"mock",
     "completion_usd_per_mtok",
     K::kNumber,
     0,
     1e6,
     {},
     access<NumberAt<1, &C::mock, &upstream::MockOptions::completion_usd_per_mtok>>(),
     "1.5",
     R::kMock},

    {"catalog",
     "refresh_s",
     K::kInteger,
     0,
     7 * 86400,
     {},
     access<IntegerAt<kSecond, &C::catalog, &CatalogConfig::refresh_ms>>(),
     "3600",
     R::kSighup,
     false,
     checkCatalogRefresh},
    {"catalog",
     "refresh_at_start",
     K::kBool,
     0,
     0,
     {},
     access<ValueAt<&C::catalog, &CatalogConfig::refresh_at_start>>(),
     "true"},

    {"budgets",
     "time_zone",
     K::kString,
     0,
     0,
     {},
     access<ValueAt<&C::budget_time_zone>>(),
     "\"UTC\"",
     R::kSighup,
     false,
     checkTimeZone},
};

}  // namespace

std::span<const ConfigKey> configKeys() { return kKeys; }

const ConfigKey* findConfigKey(std::string_view section, std::string_view name) {
  for (const ConfigKey& k : kKeys) {
    if (section == k.section && name == k.name) {
      return &k;
    }
  }
  return nullptr;
}

bool isKeySection(std::string_view section) {
  return std::any_of(std::begin(kKeys), std::end(kKeys), [&](const ConfigKey& k) { return section == k.section; });
}

std::string keyExpectation(const ConfigKey& key) {
  switch (key.type) {
    case KeyType::kInteger:
      return "must be an integer from " + std::to_string(static_cast<int64_t>(key.min)) + " to " +
             std::to_string(static_cast<int64_t>(key.max));
    case KeyType::kNumber: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "must be a number from %g to %g", key.min, key.max);
      return buf;
    }
    case KeyType::kBool:
      return "must be true or false";
    case KeyType::kString:
      return "must be a string";
    case KeyType::kEnum:
      break;
  }
  // The names, each value once (its first name; later ones are aliases).
  std::vector<const KeyChoice*> shown;
  for (const KeyChoice& c : key.choices) {
    if (std::none_of(shown.begin(), shown.end(), [&](const KeyChoice* s) { return s->value == c.value; })) {
      shown.push_back(&c);
    }
  }
  std::string out = "must be ";
  for (size_t i = 0; i < shown.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == shown.size() ? " or " : ", ") + tomlString(shown[i]->name);
  }
  return out;
}

std::string setKey(const ConfigKey& key, Config& c, const KeyValue& value) {
  if (key.type == KeyType::kInteger || key.type == KeyType::kNumber) {
    const double v = key.type == KeyType::kInteger ? static_cast<double>(std::get<int64_t>(value))
                                                   : std::get<double>(value);
    if (v < key.min || v > key.max) {
      return keyExpectation(key);
    }
  }
  if (key.check != nullptr) {
    if (std::string why = key.check(value); !why.empty()) {
      return why;
    }
  }
  if (key.type != KeyType::kEnum) {
    return key.access.set(c, value);
  }
  for (const KeyChoice& choice : key.choices) {
    if (std::get<std::string>(value) == choice.name) {
      return key.access.set(c, KeyValue{int64_t{choice.value}});
    }
  }
  return keyExpectation(key);
}

std::string formatKey(const ConfigKey& key, const Config& c) {
  const KeyValue v = key.access.get(c);
  if (key.type == KeyType::kEnum) {
    for (const KeyChoice& choice : key.choices) {
      if (choice.value == std::get<int64_t>(v)) {
        return tomlString(choice.name);
      }
    }
  }
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return std::to_string(*i);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    std::ostringstream o;
    o << *d;
    return o.str();
  }
  if (const auto* b = std::get_if<bool>(&v)) {
    return *b ? "true" : "false";
  }
  const std::string& s = std::get<std::string>(v);
  return tomlString(key.secret && !s.empty() ? fingerprint(s) : s);
}

std::string parseLoopback(const std::string& text, const char* what, std::string* host_out, int* port_out) {
  if (text.empty()) {
    *port_out = -1;
    return "";
  }
  const size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  char* end = nullptr;
  const long port = colon == std::string::npos ? -1 : std::strtol(text.c_str() + colon + 1, &end, 10);
  const bool loopback = host == "::1" || host.rfind("127.", 0) == 0;
  if (!loopback || port < 0 || port > 65535 || end == nullptr || *end != '\0') {
    return "must be a loopback address and port, such as \"127.0.0.1:" +
           std::to_string(std::string_view(what) == kMetricsName ? 9464 : ApiConfig::kDefaultPort) + "\" (" + what +
           " is not for the network)";
  }
  *host_out = host;
  *port_out = static_cast<int>(port);
  return "";
}

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

void copyReloadable(Config& to, const Config& from) {
  for (const ConfigKey& k : kKeys) {
    if (k.reload == Reload::kSighup) {
      k.access.copy(to, from);
    }
  }
}

std::string restartOnlyChanges(const Config& running, const Config& next) {
  static constexpr const char* kNames[] = {"",      "the socket", "the database", "the OpenRouter key pool",
                                           "[api]", "[http]",     "[metrics]",    "[ipc] limits",
                                           "[mock]"};
  bool changed[std::size(kNames)] = {};
  changed[static_cast<size_t>(Reload::kSocket)] = next.socket_path != running.socket_path;
  changed[static_cast<size_t>(Reload::kDatabase)] = next.db_path != running.db_path;
  // The keys come from the environment, which a running process cannot be given again.
  changed[static_cast<size_t>(Reload::kKeyPool)] = next.openrouter_pool != running.openrouter_pool;
  for (const ConfigKey& k : kKeys) {
    if (k.reload != Reload::kSighup && !k.access.same(running, next)) {
      changed[static_cast<size_t>(k.reload)] = true;
    }
  }
  std::string fixed;
  for (size_t i = 1; i < std::size(kNames); ++i) {
    if (changed[i]) {
      fixed += (fixed.empty() ? "" : ", ") + std::string(kNames[i]);
    }
  }
  return fixed;
}

}  // namespace llmq::daemon
