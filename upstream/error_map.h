// Error classification for OpenAI-compatible upstreams (ipc/PROTOCOL.md job error codes,
// §4 retry rules): HTTP statuses and error bodies, `error` objects that arrive with
// HTTP 200 (in a body or mid-stream), Retry-After, and transport failures. Pure
// logic: no I/O, no libcurl headers (transport codes are plain ints).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "upstream/provider.h"

namespace llmq::upstream {

// A Failure plus what Failure has no field for (yet): the upstream's own error
// object, and how long the upstream asked us to wait.
struct UpstreamError {
  Failure failure;
  // The upstream's `error` value, compact JSON (`{"code":..,"message":..,"metadata":..}`,
  // metadata such as moderation reasons kept), or empty when the body carried none.
  std::string error_json;
  // Milliseconds from now until the upstream accepts requests again: Retry-After
  // (delta-seconds or HTTP-date), else OpenRouter's `X-RateLimit-Reset` echoed in the
  // 429 body's `error.metadata.headers`. nullopt when neither was usable.
  std::optional<int64_t> retry_after_ms;
};

// Maps a non-2xx HTTP response to a job error:
//   400, 413, 404 ("model or endpoint not found"), other 4xx -> INVALID_REQUEST
//   401 -> UNAUTHORIZED; 402 -> OPENROUTER_SYSTEM_KEY_EXHAUSTED (USER_KEY_EXHAUSTED
//   when `byok`); 403 -> MODERATION; all of these are not retryable.
//   408 -> TIMEOUT, 429 -> RATE_LIMITED, 5xx -> UPSTREAM_ERROR: retryable.
//   Any status whose error says "insufficient credits"/"insufficient_quota"/"key limit
//   exceeded" is an exhausted key (not retryable with that key: the scheduler moves on).
//   1xx-3xx (never expected here) -> UPSTREAM_ERROR, not retryable.
// The message is the upstream's `error.message` when the body is OpenAI/OpenRouter
// shaped, else "HTTP <status>: <short excerpt of the body>". `now_ms` is the wall
// clock (ms since the Unix epoch), used for HTTP-date and reset timestamps.
UpstreamError failureForHttp(int status, std::string_view body, std::string_view retry_after_header, bool byok,
                             int64_t now_ms);

// Maps an `error` value received with HTTP status `http_status` (normally 200: a
// chat.completion body or a mid-stream chunk that carries `error`). An integer
// `error.code` in 400..599 is classified like that HTTP status and becomes
// upstream_status; a string code ("server_error", "rate_limit_exceeded",
// "insufficient_quota", "content_filter", ...) is classified by name; anything
// else is UPSTREAM_ERROR, retryable (docs/upstream.md: a stream cut mid-way is retried).
UpstreamError failureForErrorObject(const json::Value& error, int http_status, bool byok);

// An answer that is not what the endpoint answers (empty, truncated, not JSON, no
// choices, ...): UPSTREAM_ERROR, retryable (source "upstream") by default; one
// that would come back the same on every retry (past the nesting limit) is not
// (source "local").
UpstreamError malformedAnswer(std::string message, int http_status, bool retryable = true);

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date (IMF-fixdate, and the
// obsolete RFC 850 and asctime forms recipients must accept), as milliseconds from
// `now_ms`; a date in the past gives 0. nullopt for an empty or unparseable value.
std::optional<int64_t> parseRetryAfter(std::string_view header, int64_t now_ms);

// An HTTP-date as milliseconds since the Unix epoch; nullopt when malformed.
// `now_ms` resolves the two-digit years of the RFC 850 form.
std::optional<int64_t> parseHttpDate(std::string_view date, int64_t now_ms);

// A rate-limit reset value as milliseconds from `now_ms` (>= 0): an integer that is
// an epoch in milliseconds (>= 1e12, what OpenRouter sends), an epoch in seconds
// (>= 1e9), or else a number of seconds to wait. nullopt when not an integer.
std::optional<int64_t> parseRateLimitReset(std::string_view value, int64_t now_ms);

// Transport-level failure of an attempt (no HTTP status was received, or the body
// was cut). `curl_code_like` is the CURLcode value (28 is CURLE_OPERATION_TIMEDOUT)
// passed as an int so this file needs no libcurl; `timed_out` is true when the
// caller's own timer fired. Timeouts -> TIMEOUT, everything else -> NETWORK; both
// retryable, source "upstream", upstream_status 0.
inline constexpr int kCurlOperationTimedOut = 28;
Failure failureForTransport(int curl_code_like, std::string_view message, bool timed_out);

}  // namespace llmq::upstream
