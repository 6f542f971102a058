// The vocabulary of the llmq protocol (ipc/PROTOCOL.md): job states, event
// names, job id format, and a validating reader for method params. Shared by the
// daemon (which enforces it) and the clients (which build requests from it).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_kind.h"
#include "common/job_options.h"
#include "common/json.h"

namespace llmq::ipc {

// Job states in their persisted order (store::JobState has the same numbering):
// the one list of their names, the clients' too.
inline constexpr const char* kJobStateNames[] = {"queued",    "running", "retry_wait", "held",
                                                 "succeeded", "failed",  "cancelled",  "expired"};
inline constexpr int kJobStateCount = 8;
inline constexpr int kFirstTerminalState = 4;  // "succeeded" and the states after it are final.
const char* jobStateName(int state);
// Returns -1 for an unknown name.
int parseJobState(std::string_view name);

// Events, in ipc/PROTOCOL.md order. A bit mask of these filters a subscription.
enum class EventKind : uint8_t {
  kQueued,
  kStarted,
  kMessageChunk,
  kUsage,
  kFinalResponse,
  kRetrying,
  kError,
  kCancelled,
  kExpired,
  kHeld,
  kBudgetAlert,
};
inline constexpr int kEventKindCount = 11;
// Their names on the wire, by EventKind (the one list: clients read it too).
inline constexpr const char* kEventNames[] = {"queued",         "started",  "message_chunk", "usage",
                                              "final_response", "retrying", "error",         "cancelled",
                                              "expired",        "held",     "budget_alert"};
static_assert(sizeof(kEventNames) / sizeof(kEventNames[0]) == kEventKindCount);
inline constexpr uint32_t kAllEvents = (1u << kEventKindCount) - 1;
const char* eventName(EventKind kind);
bool parseEventName(std::string_view name, EventKind* out);

// Job ids are opaque, creation-ordered strings: "j" and 12 hex digits of the row id,
// so they sort as they were created.
std::string formatJobId(int64_t id);
bool parseJobId(std::string_view text, int64_t* id);

// Reads and validates the params object of a method. Each accessor records the
// first problem; ok() and error() report it, phrased for the caller. Absent
// optional members yield std::nullopt.
class Params {
 public:
  explicit Params(const json::Value* params);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Fails if params has a member not in `known` (catches typos like "priorty").
  void allowOnly(std::initializer_list<const char*> known);

  std::optional<std::string_view> string(const char* name, bool required = false, size_t max_len = 4096);
  std::optional<int64_t> integer(const char* name, int64_t min, int64_t max, bool required = false);
  std::optional<double> number(const char* name, double min, double max, bool required = false);
  std::optional<bool> boolean(const char* name);
  std::optional<std::vector<std::string>> strings(const char* name, size_t max_count, size_t max_len);
  const json::Value* object(const char* name, bool required = false);

  void fail(std::string message);

 private:
  const json::Value* find(const char* name, bool required);

  const json::Value* params_;
  std::string error_;
};

// job.submit params, validated (ipc/PROTOCOL.md).
struct SubmitParams {
  JobKind kind = JobKind::kChat;
  // The body of the request: chat completions (`messages`), embeddings (`input`),
  // or a Responses API request (`input`, `instructions`, ...).
  const json::Value* request = nullptr;
  std::string model;  // request.model; empty when a route is used.
  std::optional<std::string> route;
  int priority = 0;
  std::optional<std::string> client;
  std::vector<std::string> tags;
  std::optional<std::string> idempotency_key;
  std::optional<int> max_attempts;  // Unset: the daemon's default (OPENROUTER_MAX_RETRIES + 1, or 4).
  std::optional<int64_t> timeout_ms;
  std::optional<int64_t> deadline_ms;
  // fallback_models, cache, fail_when_cooling and request_id as submitted; the
  // daemon adds byok and routing when it admits the job.
  JobOptions options;
  std::optional<std::string> api_key;
  bool on_restart_fail = false;
  bool subscribe = false;
  bool wait = false;
  // Cancel the job if the submitting connection closes before it ends (the HTTP
  // front's "a client that disconnects cancels its job").
  bool cancel_on_disconnect = false;
  // options.fail_when_cooling: fail with COOLING_DOWN rather than wait while every
  // model of the job's chain has its circuit breaker open (the HTTP front's
  // requests). options.request_id: sent upstream as X-Request-Id (isRequestId()).
  bool stream = false;  // request.stream == true
};

inline constexpr int kMinPriority = -1000;
inline constexpr int kMaxPriority = 1000;
inline constexpr int kMaxTags = 32;
inline constexpr size_t kMaxNameBytes = 256;  // client, tag, model, route, key names.

// A request id that may travel in an HTTP header: 1 to 128 of [A-Za-z0-9._:-].
bool isRequestId(std::string_view id);

// An embedding request's bounds (OpenAI's own: 2048 inputs in one request).
inline constexpr size_t kMaxEmbeddingInputs = 2048;
inline constexpr int64_t kMaxEmbeddingDimensions = 65536;

// What is wrong with an embedding request body (`input` a non-empty string, or a
// non-empty array of non-empty strings, of token ids or of non-empty arrays of
// token ids; no `messages`; not streamed); empty when nothing is.
std::string embeddingRequestProblem(const json::Value& request);

// The rules of a submit's values, whoever built it (job.submit's params, or the
// HTTP front directly): the request body (its model, what its kind needs,
// `stream`, which it fills in), a model or a route, priority, client, tags
// (deduplicated in place), idempotency and API keys, request id. False with
// `error` set when one is broken.
bool checkSubmitParams(SubmitParams* s, std::string* error);

// Reads job.submit's params, then checkSubmitParams(). Returns false and sets
// `error` when the params are invalid.
bool parseSubmitParams(const json::Value* params, SubmitParams* out, std::string* error);

}  // namespace llmq::ipc
