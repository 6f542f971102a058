// The interface every provider implements: the built-in mock now, the
// OpenAI-compatible HTTP upstream next. One provider serves many concurrent
// transfers on the loop thread; the job runner is the sink of each.
//
// Callback contract: start() either fails synchronously (and never
// calls the sink) or later calls exactly one of onComplete/onFailure, after any
// number of onDelta calls, unless cancel() is called first, after which the sink
// is never called again. Sink calls never happen from inside start() or cancel().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/job_kind.h"
#include "common/result.h"
#include "common/usage_bounds.h"

namespace llmq::upstream {

// The figures of a Usage are within common/usage_bounds.h: readUsage() clamps a
// count to kMaxAttemptTokens and a cost to kMaxAttemptCostUsd.
struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
  int64_t reasoning_tokens = 0;
  double cost_usd = 0.0;
  bool cost_reported = false;  // The upstream said what it cost (vs. computed by us).
};

struct AttemptRequest {
  // Chat completions, embeddings (never streamed), or a Responses request (only
  // to a provider that speaksResponses()).
  JobKind kind = JobKind::kChat;
  std::string job_id;
  int attempt = 1;
  std::string model;
  std::string_view request_json;  // Valid only during start().
  bool stream = false;
  int64_t timeout_ms = 0;  // 0: no per-attempt timeout.
  // The key for this attempt, valid only during start(); empty: the provider's own.
  std::string_view api_key;
  bool byok = false;  // The key is the job's own (exhaustion is USER_KEY_EXHAUSTED).
  // The client's X-Request-Id (ipc/protocol.h isRequestId()), sent upstream as
  // X-Request-Id; valid only during start(); empty: none.
  std::string_view request_id;
};

struct Completion {
  std::string result_json;  // The chat-completion object (assembled for streams).
  std::string content;
  std::string finish_reason;
  // A stream of several choices (n > 1): [{"index":i,"finish_reason":"..."}] for
  // each, so that each one's stream can end with its own; empty otherwise.
  std::string choice_finishes_json;
  std::string model;  // The model that answered.
  std::string provider;
  std::string generation_id;
  Usage usage;
  int http_status = 200;
};

struct Failure {
  std::string code;  // A job error code from ipc/PROTOCOL.md, e.g. "UPSTREAM_ERROR".
  std::string message;
  int upstream_status = 0;  // HTTP status when one was received.
  bool retryable = false;
  std::string source = "upstream";  // "local" when the daemon itself decided.
  std::string upstream_error_json;  // The upstream's own {code, message, metadata}, if any.
  int64_t retry_after_ms = 0;       // From Retry-After / rate-limit reset headers; 0 if none.
  // A 429 about the model (the provider behind OpenRouter is rate-limited), not
  // about our key: the model cools down, for every key.
  bool model_scoped = false;
  // What the upstream billed for the failed attempt, when it said (a stream cut
  // after its usage chunk, for one): failed attempts that were billed are billed.
  std::optional<Usage> usage;
};

// What one chunk of a stream said for one choice, reported as soon as the chunk
// is parsed (only when something in it is non-empty). Views are valid only during
// the callback. The daemon's message_chunk event carries each member by the name
// it has in OpenAI's chunk (`content` as `delta`).
struct StreamDelta {
  int index = 0;                     // The choice index.
  std::string_view content;          // delta.content; may be empty.
  std::string_view reasoning;        // delta.reasoning (OpenRouter's reasoning text); may be empty.
  std::string_view tool_calls_json;  // delta.tool_calls, compact JSON array; empty when none.
  // delta.reasoning_details (OpenRouter's structured reasoning), compact JSON
  // array, and the choice's logprobs, compact JSON object: passed on as they
  // came; empty when absent or null.
  std::string_view reasoning_details_json;
  std::string_view logprobs_json;

  bool empty() const {
    return content.empty() && reasoning.empty() && tool_calls_json.empty() && reasoning_details_json.empty() &&
           logprobs_json.empty();
  }
};

class TransferSink {
 public:
  virtual ~TransferSink() = default;
  // A streamed delta of one choice.
  virtual void onDelta(const StreamDelta& delta) = 0;
  virtual void onComplete(Completion&& completion) = 0;
  virtual void onFailure(Failure&& failure) = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  // Starts one attempt; returns a handle for cancel(). `sink` must stay valid until
  // completion or cancel().
  virtual Result<uint64_t> start(const AttemptRequest& request, TransferSink* sink) = 0;
  virtual void cancel(uint64_t handle) = 0;
  virtual size_t active() const = 0;
  // Choice 0's text streamed so far by the attempt `handle`, for a subscriber that
  // joins mid-stream. Built on demand: the provider keeps the only copy of the text.
  virtual std::string streamedText(uint64_t /*handle*/) const { return {}; }
  // Whether a request of kind kResponses may be sent as it is (POST /responses).
  // When not, the daemon translates it to chat completions first. An attempt sent
  // natively that the upstream answers 404, 405 or 501 fails with code
  // RESPONSES_API_MISSING; when the same request then succeeds translated, the
  // daemon calls noteNoResponsesApi() and later requests go translated.
  virtual bool speaksResponses() const { return false; }
  virtual void noteNoResponsesApi() {}
};

}  // namespace llmq::upstream
