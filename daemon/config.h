// daemon::Config: everything llmqd can be told, from the command line, the
// environment and the TOML config file (README.md, Where files live), resolved once at startup.
// Config parsing may throw internally; loadConfig() turns that into a Result.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/pricing.h"
#include "common/result.h"
#include "daemon/config_types.h"
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
  // --http[=HOST:PORT]: turn the HTTP front on (at [api] listen, or the default).
  std::optional<std::string> http;
};

// One OpenAI-compatible upstream (README.md, Where files live). OpenRouter is one of these, with
// `openrouter` set and models ["*"] by default: it serves whatever no other
// provider claims.
struct ProviderConfig {
  std::string name;
  std::string base_url;             // e.g. https://openrouter.ai/api/v1
  std::string api_key_env;          // The environment variable holding its key.
  std::string api_key;              // Resolved at load. Never printed or logged.
  std::vector<std::string> models;  // Wildcard patterns (`*`, `?`).
  bool openrouter = false;          // Usage and cost always come with the response.
  bool stream_usage = true;         // Add stream_options.include_usage to streams.
  // Serves OpenAI's Responses API (POST /responses): Responses requests go there
  // as they are. Default true for OpenRouter, false for [[providers]].
  bool responses_api = false;
  std::string referer;  // HTTP-Referer (OpenRouter app attribution).
  std::string title;    // X-Title.

  bool operator==(const ProviderConfig&) const = default;
};

// What an attempt of a job without timeout_s may take, in all: an upstream that
// streams for ever ends here at the latest.
inline constexpr int64_t kDefaultAttemptTimeoutMs = 600'000;

struct HttpConfig {
  int64_t connect_timeout_ms = 10000;
  int64_t idle_timeout_ms = 120000;  // A stream that sends nothing for this long fails.
  long max_host_connections = 64;
  size_t max_buffered_bytes = size_t{256} << 20;  // Non-streamed answers being received, together.
  // An upstream answer, per attempt: a non-streamed body, or a stream's assembled
  // text, reasoning and tool-call arguments. More fails RESPONSE_TOO_LARGE.
  size_t max_response_bytes = size_t{32} << 20;
  // One SSE event of a streamed answer; a larger one fails RESPONSE_TOO_LARGE.
  size_t max_event_bytes = size_t{8} << 20;
};

// [catalog]: when llmqd fetches OpenRouter's model list (daemon/policy/model_catalog.h).
// [retention]: how long finished jobs keep their request and result bodies, and
// the ledger its rows (daemon/retention.h). The job rows, their usage and the
// daily rollups stay.
struct RetentionConfig {
  // The longest budget period (a month, in any time zone) must stay in the ledger.
  static constexpr int64_t kMinLedgerDays = 32;
  int64_t finished_job_ms = 30LL * 86'400'000;  // 0: forever.
  int64_t ledger_days = 400;                    // 0: forever; else >= kMinLedgerDays.
  int64_t check_ms = 600'000;                   // How often to look.
  bool operator==(const RetentionConfig&) const = default;
};

// [quota]: what one user's jobs may hold (daemon/policy/user_quota.h). 0: no limit.
struct QuotaConfig {
  int64_t max_unfinished_jobs = 10'000;         // max_queued_jobs
  int64_t max_stored_bytes = int64_t{1} << 30;  // max_stored_mb
  // Administrators and the HTTP front (which acts as llmqd's own user).
  int64_t admin_max_unfinished_jobs = 0;
  int64_t admin_max_stored_bytes = 0;
  bool operator==(const QuotaConfig&) const = default;
};

// [store]: limits on the database file.
struct StoreConfig {
  // A hard cap on the database size, in pages (page_size, 4096 bytes by default);
  // 0: none. At the cap, submits fail with -32006 as on a full disk. SIGHUP applies it.
  int64_t max_page_count = 0;
  // At startup, a database made without incremental auto-vacuum is converted
  // (VACUUM) only if it is at most this large; 0: never (store/maintenance.h).
  int64_t auto_vacuum_convert_max_bytes = 256LL << 20;
};

// [api]: the OpenAI-compatible HTTP front (daemon/api/http_front.h), off unless
// `listen` is set or llmqd runs with --http. Loopback only.
struct ApiConfig {
  static constexpr int kDefaultPort = 8088;
  std::string host = "127.0.0.1";
  int port = -1;           // -1: off; 0: any free port (tests).
  std::string token;       // Bearer token; secret. Empty: token_file's.
  std::string token_file;  // Empty: api.token beside the database (made 0600 on first start).
  // A 6 MB image, base64-encoded, fits. Each byte of a body costs about ten of
  // memory while it becomes a job (docs/operations.md, "Bounds").
  size_t max_body_bytes = 8u << 20;
  int64_t header_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  size_t max_connections = 4096;
  // Request bytes (headers and bodies not yet complete) buffered over all
  // connections; past it, connections stop being read until it drains.
  size_t max_buffered_request_bytes = 64u << 20;
  // How long an identical request to one whose job llmqd gave up on (or an
  // operator cancelled) gets that answer again instead of a new job: SDKs retry
  // on their own (daemon/api/recent_failures.h). 0: off.
  int64_t retry_memory_ms = 300'000;
  // A streamed request whose job has sent nothing for this long gets its status
  // and headers (so clients' headers timeouts do not fire while it is queued),
  // then an SSE comment every keepalive_ms while nothing else is sent.
  int64_t stream_head_after_ms = 10'000;
  int64_t keepalive_ms = 15'000;

  bool operator==(const ApiConfig&) const = default;
};

struct CatalogConfig {
  int64_t refresh_ms = 3600000;  // Between automatic fetches; 0: no periodic fetch.
  bool refresh_at_start = true;  // Fetch once right after startup (never delays readiness).
};

// [[prices]]: the price of the models `match` names, above any fetched or
// built-in price: for providers without a catalog, or to correct one.
struct PriceOverride {
  std::string match;                  // Wildcard pattern (`*`, `?`) over model ids.
  Pricing pricing;                    // USD per token (known = true).
  int64_t context_length = 0;         // 0: not given (the catalog's value, if any, stays).
  int64_t max_completion_tokens = 0;  // 0: not given.
};

// [aliases]: a name that stands for a concrete model id. `match` is the key as
// written: an exact name, or a pattern with `*` (any run of characters) and `?`
// (one character). Kept in file order: an exact key wins, else the first pattern.
struct ModelAlias {
  std::string match;
  std::string model;  // Concrete: no wildcards, not a chain or a route.
};

// How a routing rule picks among its models (daemon/policy/model_router.h).
enum class RouteStrategy {
  kOrdered,        // The first model; the rest are its fallbacks, in order.
  kCostOptimized,  // The cheapest model whose context fits the job; the rest by price.
  kRoundRobin,     // Each job the next model in turn.
  kRandom,         // A model drawn uniformly.
  kWeighted,       // A model drawn by the rule's weights.
  kLeastUsed,      // The model routed the fewest jobs in the last minute.
  kFastest,        // The lowest recent median latency.
  kMostReliable,   // The highest recent success rate.
};
const char* routeStrategyName(RouteStrategy strategy);
// The strategy a config or a client names; false for an unknown name.
bool parseRouteStrategy(std::string_view name, RouteStrategy* out);

// [[routes]]: a task type a job names at submit (`route: "coding"`) instead of a
// model, mapped to an ordered list of models (entries may be aliases).
struct RouteRule {
  std::string name;
  std::vector<std::string> models;
  RouteStrategy strategy = RouteStrategy::kOrdered;
  std::vector<double> weights;  // kWeighted: one per model, each > 0.
  // Defaults for the chat jobs that name the route, applied at submit to a
  // request that lacks them (docs/configuration.md, "Aliases and routing"): its
  // response_format (compact JSON, a check common/schema_check.h accepts; empty:
  // none), and a system message put first (empty: none).
  std::string response_format;
  std::string system_prompt;
};

struct Config {
  // Paths (README.md, Where files live).
  std::string socket_path;
  // True when --socket or LLMQ_SOCKET named the socket; otherwise systemd socket
  // activation (LISTEN_FDS) takes precedence over socket_path.
  bool socket_explicit = false;
  std::string db_path;
  std::string config_path;  // The file that was read; empty if none existed.
  int socket_mode = 0600;   // 0660 for the system socket under /run/llmq.

  log::Level log_level = log::Level::kInfo;
  store::Synchronous synchronous = store::Synchronous::kNormal;
  StoreConfig storage;  // [store] (the rest of it: synchronous, above).
  size_t max_frame_bytes = 4u << 20;
  size_t max_pending_output_bytes = 8u << 20;
  size_t max_pending_output_hard_bytes = 64u << 20;
  // Above this much output pending over all connections, no new job starts.
  size_t max_total_pending_output_bytes = 256u << 20;
  int64_t stall_timeout_ms = 3000;
  // What one client may make llmqd hold (docs/operations.md, "Bounds").
  size_t max_subscriptions_per_connection = 4096;
  size_t max_subscriptions = 65536;
  size_t max_waits_per_connection = 4096;
  // Bounds of the Unix socket (docs/operations.md, "Bounds").
  size_t max_connections = 1024;               // Socket connections in all.
  size_t max_connections_per_uid = 256;        // Per peer uid; root and admins are exempt.
  int64_t line_timeout_ms = 30'000;            // First byte of a line to its newline.
  size_t max_partial_bytes_total = 64u << 20;  // Unfinished lines, over all connections.
  size_t max_answer_bytes = 4u << 20;          // List answers page by it (daemon/turn/answer_page.h).
  int max_inflight = 256;                      // Global cap on running attempts.
  int64_t shutdown_grace_ms = 10000;           // SIGTERM: how long in-flight work may finish.
  int64_t retry_base_ms = 1000;                // Exponential backoff with full jitter.
  int64_t retry_cap_ms = 60000;
  // [retry] retry_after_max_s: the longest wait an upstream's Retry-After (or rate
  // limit reset) may impose; longer or absurd values count as this.
  int64_t retry_after_max_ms = 3'600'000;
  // [retry] schema_attempts: an answer that fails its structured-output check
  // (SCHEMA_MISMATCH, common/schema_check.h) is tried again only while the
  // job has made fewer attempts than this on its model (and max_attempts allows).
  int schema_attempts = 3;
  upstream::MockOptions mock;
  CircuitOptions circuit;
  // [limits]: the daemon's own rate limits. By default free models (`*:free`) get
  // 20 requests per minute (docs/configuration.md, Rate limits); [[limits.model]] entries replace that.
  LimitOptions limits{{LimitRule{LimitScope::kModel, "*:free", 20, 0, 0, 0}}, 20};
  // Configured providers in match order; OpenRouter last.
  std::vector<ProviderConfig> providers;
  HttpConfig http;
  // Named fallback chains ([chains] NAME = [...]), used as model "chain:NAME".
  std::map<std::string, std::vector<std::string>> chains;
  // [aliases] in file order, and [[routes]] in file order (names unique).
  std::vector<ModelAlias> aliases;
  std::vector<RouteRule> routes;
  // OPENROUTER_PREFERRED_MODELS: the fallbacks of jobs that name none.
  std::vector<std::string> preferred_models;
  // OPENROUTER_API_KEYS: the server's key pool for OpenRouter (before the single key).
  std::vector<std::string> openrouter_pool;
  // Defaults for jobs that do not say ([http] attempt_timeout_s or
  // OPENROUTER_TIMEOUT_MS, OPENROUTER_MAX_RETRIES). nullopt: attempts never time out.
  std::optional<int64_t> default_timeout_ms = kDefaultAttemptTimeoutMs;
  int default_max_attempts = 4;
  // [openrouter] key_strategy: which ready pool key takes the next request.
  KeyStrategy key_strategy = KeyStrategy::kRoundRobin;
  // [openrouter] credit_check_s: how often each server key's credit is read from
  // GET /key (daemon/policy/key_credit.h); 0 never.
  int64_t credit_check_ms = 300000;
  // [cache]: the opt-in response cache (daemon/policy/response_cache.h). enabled: every
  // eligible job uses it, not only those submitted with cache: true.
  bool cache_enabled = false;
  // [access] admin_group: members may do what root and llmqd's own user may
  // (daemon/policy/access.h). Empty: no such group.
  std::string admin_group;
  // [access] max_user_priority: the highest priority anyone but an administrator
  // may submit at; higher is refused with -32602 (job_submit.cc). Administrators
  // keep the protocol's whole range (-1000..1000).
  int max_user_priority = 100;
  // [ipc] socket_group: the group of the socket file (system mode: "llmq").
  std::string socket_group;
  // [metrics] listen: "127.0.0.1:9464" serves Prometheus's /metrics there
  // (loopback only); empty: off.
  std::string metrics_host;
  int metrics_port = -1;  // -1: off; 0: any free port (tests).
  int64_t cache_ttl_ms = 86'400'000;
  CatalogConfig catalog;
  RetentionConfig retention;
  QuotaConfig quota;
  ApiConfig api;
  // Price overrides in file order; the first whose match fits a model wins.
  std::vector<PriceOverride> prices;
  // [budgets] time_zone: where budget days, weeks and months begin. "UTC" or an
  // IANA zone name present under /usr/share/zoneinfo (checked at load).
  std::string budget_time_zone = "UTC";
  // OPENROUTER_COST_BUDGET_USD: a global monthly budget in USD, when set.
  std::optional<double> cost_budget_usd;
};

Result<Config> loadConfig(const CommandLine& cli);

// A human-readable rendering of the effective configuration (for --check-config).
std::string describe(const Config& config);

// What differs between the configuration `running` and `next` that only a
// restart can change (the socket, the database, the key pool, and the keys the
// table of daemon/config_keys.cc marks: [api], most of [http], [metrics], the
// [ipc] limits, [mock]), as a list for a log line ("the socket, [api]"); empty
// when SIGHUP can apply all of `next`.
std::string restartOnlyChanges(const Config& running, const Config& next);

}  // namespace llmq::daemon
