// The body of a 2xx embeddings response (`{"object":"list","data":[{"object":
// "embedding","index":0,"embedding":[...]}],"model":...,"usage":{...}}`) ->
// Completion, or the failure it describes. Pure logic: no I/O.
#pragma once

#include <string_view>

#include "upstream/chat_response.h"

namespace llmq::upstream {

// - A JSON object with a `data` array: a Completion whose result_json is the body
//   verbatim (minus surrounding whitespace), with model, provider, id and usage
//   (`prompt_tokens`, `total_tokens`, `cost`; never completion tokens) read when
//   present, content and finish_reason empty.
// - A top-level `error`: failureForErrorObject(), whatever `http_status` says.
// - Invalid JSON, a non-object, or no `data` array: UPSTREAM_ERROR, retryable
//   (truncated bodies happen); past the nesting limit, not retryable.
ChatOutcome parseEmbeddingResponse(std::string_view body, bool byok = false, int http_status = 200);

}  // namespace llmq::upstream
