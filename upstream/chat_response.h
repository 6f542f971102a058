// The non-streamed chat.completion response: body -> Completion, or the failure it
// describes (an `error` object, which OpenRouter may send with HTTP 200, or a body
// that is not a chat completion at all). Also the `usage` reader shared with the
// stream assembler. Pure logic: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/json.h"
#include "upstream/error_map.h"
#include "upstream/provider.h"

namespace llmq::upstream {

// What one attempt produced once the whole body (or stream) is in.
using ChatOutcome = std::variant<Completion, UpstreamError>;

// Reads an OpenAI/OpenRouter `usage` object: prompt/completion/total tokens
// (total = prompt + completion when absent), `prompt_tokens_details.cached_tokens`
// -> cache_read, `prompt_tokens_details.cache_write_tokens` -> cache_write
// (Anthropic-style `cache_read_input_tokens`/`cache_creation_input_tokens` as a
// fallback), `completion_tokens_details.reasoning_tokens`, and `cost` (USD) ->
// cost_usd with cost_reported = true. Missing or mistyped fields stay 0. Returns
// false (and leaves `out` alone) when `usage` is not an object.
bool readUsage(const json::Value& usage, Usage* out);

// The steps every answer body (chat completion, embeddings, Response) goes
// through first: surrounding whitespace (OpenRouter's keep-alive) trimmed,
// parsed with invalid UTF-8 repaired, an object, without an `error`.
struct AnswerBody {
  json::Document doc;     // The parsed object, after read() succeeded.
  std::string_view text;  // The text it was parsed from (into `body`, or repaired).

  // nullopt when `body` is such an object; else the failure it amounts to:
  // failureForErrorObject() of its `error`, or malformedAnswer() (past the
  // nesting limit, not retryable).
  std::optional<UpstreamError> read(std::string_view body, bool byok, int http_status);

 private:
  std::string repaired_;
};

// Parses the body of a 2xx chat-completions response.
// - A JSON object with `choices`: a Completion. result_json is the body verbatim
//   (minus surrounding whitespace, which OpenRouter sends as keep-alive); content is
//   choices[0].message.content (text parts joined when it is an array); finish_reason,
//   model, provider, generation_id (`id`) and usage are read when present.
// - A top-level `error`: failureForErrorObject(), whatever `http_status` says.
// - choices[0].finish_reason "error" without an `error`: UPSTREAM_ERROR, retryable.
// - Invalid JSON, a non-object, or no choices: UPSTREAM_ERROR, retryable (truncated
//   bodies happen).
ChatOutcome parseChatResponse(std::string_view body, bool byok = false, int http_status = 200);

}  // namespace llmq::upstream
