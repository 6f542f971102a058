// What a request will use, before it runs.
// - A chat request: its prompt tokens, estimated at about four bytes a token over
//   the whole body (an over-estimate, which is the safe side for budgets and token
//   limits), and the completion tokens it caps itself at (`max_tokens`, or
//   `max_completion_tokens`).
// - A Responses request: as a chat request, capped by `max_output_tokens`.
// - An embedding request: at most one token per byte of its input strings (no
//   tokenizer makes a token of less than a byte) plus its token ids, and no
//   completion at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/job_kind.h"
#include "common/job_options.h"
#include "common/json.h"
#include "store/job_record.h"

namespace llmq::daemon {

int64_t estimatePromptTokens(std::string_view request_json);
std::optional<int64_t> requestMaxTokens(std::string_view request_json);

// An embedding request's input tokens, at most (see above); 1 for a body that is
// not an object with an `input`.
int64_t embeddingInputTokens(std::string_view request_json);

struct RequestTokens {
  int64_t prompt = 0;
  // The completion the request caps itself at; nullopt: no cap given (a chat
  // request without max_tokens). An embedding request's is 0.
  std::optional<int64_t> completion;
};
RequestTokens requestTokens(JobKind kind, std::string_view request_json);

// The facts of a request (common/job_options.h), from the request already parsed
// and the size of its stored text: what requestTokens() says, and whether it is
// deterministic (temperature 0). Taken once, at submit.
RequestFacts requestFacts(JobKind kind, const json::Value& request, size_t request_bytes);
// A job's facts: those taken at submit; for a job stored before they were,
// worked out from its stored request.
RequestFacts factsOf(const store::JobRecord& job);
// The tokens the facts say a request uses.
inline RequestTokens tokensOf(const RequestFacts& f) { return RequestTokens{f.prompt_tokens, f.completion_cap}; }

}  // namespace llmq::daemon
