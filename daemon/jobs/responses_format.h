// daemon::responses: OpenAI's Responses API (POST /v1/responses) in terms of
// chat completions, the one shape every upstream speaks. A Responses request
// becomes a chat-completions request (and so a job like any other: queued,
// rate-limited, budgeted, in the ledger); the job's chat.completion becomes a
// Response object. Pure functions over JSON, unit-tested on their own
// (tests/unit/daemon/responses_format_test.cc).
//
// Supported: `input` as a string or a list of messages (text and image parts),
// function calls and their outputs; `instructions`; function `tools` and
// `tool_choice`; `text.format` (text, json_object, json_schema);
// `max_output_tokens`, `temperature`, `top_p`, `parallel_tool_calls`, `reasoning`,
// `user`. Anything else that would change the answer is refused with a message
// that names it (docs/http-api.md, "Responses").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"

namespace llmq::daemon::responses {

// The chat-completions request for Responses request `request` (an object), or
// an error whose message names what is not supported or malformed.
// `previous_messages_json`, when not empty, is a JSON array of chat messages
// that come before this request's input (a stored response's conversation; its
// system messages are dropped: instructions do not carry over).
Result<std::string> toChatRequest(const json::Value& request, std::string_view previous_messages_json = {});

// The Response object for the chat.completion `completion` of job `job_id`. Its
// output is the message first (so a stream's text is output 0), then the
// function calls, then the reasoning.
// `request` is the Responses request it answers (its instructions, tools,
// text format and so on are echoed back, as OpenAI does).
std::string fromChatCompletion(const json::Value& completion, std::string_view job_id, int64_t created_at,
                               const json::Value& request);

// A Response an upstream answered natively (POST /responses), in the shape of
// llmqd's own (fromChatCompletion), so that what streamed and what is stored
// agree: id "resp_<job id>"; the text of its message items as one message
// "msg_<job id>" of one output_text part, first; then its function calls; then
// its other items (reasoning, ...) in their order; `previous_response_id` that of
// `request` (the upstream never saw it: llmqd keeps conversations). Every other
// member as it came. `response` must be an object.
std::string normalizeResponse(const json::Value& response, std::string_view job_id, const json::Value& request);

// The input items a follow-up request (previous_response_id) begins with, as a
// JSON array: the previous request's input (a string as one user message) and the
// previous response's output, without its reasoning. `previous_job` is the
// previous job as job.get answers it with include_request: of kind "responses"
// (its request is a Responses request and its result a Response) or, stored by
// an llmqd before Responses jobs, "chat" (its messages and answer become items;
// system messages are left out: instructions do not carry over). Fails when the
// job did not succeed or its request was pruned.
Result<std::string> previousInput(const json::Value& previous_job);

// `request` with `items_json` (a JSON array of input items) before its own
// input, as compact JSON.
std::string withInputBefore(const json::Value& request, std::string_view items_json);

// "resp_<job id>" and back; nullopt when `response_id` is not one of llmqd's.
std::string responseId(std::string_view job_id);
std::optional<std::string> jobIdOf(std::string_view response_id);

}  // namespace llmq::daemon::responses
