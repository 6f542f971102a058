// OpenAI's Responses API as an upstream speaks it natively (POST /responses):
// a Response object -> Completion, or the failure it describes. Used for the
// non-streamed body and for the `response` of a stream's last event. Pure logic:
// no I/O.
#pragma once

#include <string_view>

#include "upstream/chat_response.h"

namespace llmq::upstream {

// Reads a Responses `usage` object (`input_tokens`, `output_tokens`,
// `total_tokens`, `input_tokens_details.cached_tokens`,
// `output_tokens_details.reasoning_tokens`, and OpenRouter's `cost`), clamped
// as readUsage() clamps. Returns false when `usage` is not an object.
bool readResponsesUsage(const json::Value& usage, Usage* out);

// Parses a Response object (a 2xx body, or the response of response.completed):
// - `status` "completed" or "incomplete": a Completion with result_json the body
//   verbatim (minus surrounding whitespace), content the text of its output
//   message items, finish_reason "stop", "tool_calls" (a function call in the
//   output) or "length" (incomplete), model, id and usage.
// - a non-null `error`, or `status` "failed": failureForErrorObject() of the
//   error (UPSTREAM_ERROR, retryable, without one).
// - not JSON, not an object, or no `output` array: UPSTREAM_ERROR, retryable
//   (past the nesting limit: not retryable).
ChatOutcome parseResponsesResponse(std::string_view body, bool byok = false, int http_status = 200);

}  // namespace llmq::upstream
