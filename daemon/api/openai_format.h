// daemon::openai: the shapes of OpenAI's HTTP API that the HTTP front speaks
// (daemon/api/http_front.h): its error object and statuses, the streamed
// chat.completion.chunk, and the model list. Pure functions over JSON text, so
// each mapping is unit-tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"

namespace llmq::daemon::openai {

// An answer in OpenAI's error shape: {"error":{"message","type","param","code"}}.
struct ApiError {
  int status = 500;
  std::string type;  // invalid_request_error, authentication_error, ...
  std::string code;  // OpenAI's or llmq's symbolic code, lower case; may be empty.
  std::string message;
  int64_t retry_after_s = 0;  // > 0: sent as Retry-After.
};

std::string errorBody(const ApiError& e);

// A JSON-RPC error of job.submit (or another call) as an HTTP error.
ApiError fromRpcError(int rpc_code, std::string_view symbol, std::string message);
// A job that ended without success: `state` is failed, cancelled or expired;
// `code` its error code (ipc/PROTOCOL.md), `upstream_status` the provider's when it had one.
ApiError fromJobError(std::string_view state, std::string_view code, std::string message, int upstream_status);

// One SSE event carrying a chat.completion.chunk: "data: {...}\n\n".
// `delta_json` is the delta object's text ("{\"content\":\"hi\"}"); `finish_reason`
// and `logprobs_json` empty mean null.
void appendChunkEvent(std::string& out, std::string_view id, int64_t created, std::string_view model, int index,
                      std::string_view delta_json, std::string_view finish_reason,
                      std::string_view logprobs_json = {});
// A stored answer's choice.message as one stream delta: role, content (null
// when the message has none), reasoning, reasoning_details, refusal, and its
// tool_calls each with the "index" a streamed tool call carries.
std::string deltaOfMessage(const json::Value& message);
// The last chunk when stream_options.include_usage is set: no choices, the usage.
void appendUsageEvent(std::string& out, std::string_view id, int64_t created, std::string_view model,
                      std::string_view usage_json);
// An error inside a stream that has already begun.
void appendErrorEvent(std::string& out, const ApiError& e);
inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

// OpenAI's usage object from a `usage` event's data.usage (llmq's own counts),
// with OpenRouter's `cost` (USD) when given.
std::string usageJson(const json::Value& usage, std::optional<double> cost_usd = std::nullopt);

// models.list's result -> GET /v1/models: {"object":"list","data":[{id, object:
// "model", created, owned_by, context_length, pricing}]}.
// "mock/*" is listed as the mock's models (upstream::MockProvider::kListedModels).
std::string modelList(const json::Value& models_result);
// GET /v1/models/{id}: the one model object of modelList() with that id (any
// mock/ name, listed or not), or nullopt.
std::optional<std::string> modelObject(const json::Value& models_result, std::string_view id);

}  // namespace llmq::daemon::openai
