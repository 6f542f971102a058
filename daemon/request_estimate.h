// What a chat-completions request will use, before it runs: its prompt tokens,
// estimated at about four bytes a token over the whole body (an over-estimate,
// which is the safe side for budgets and token limits), and the completion
// tokens it caps itself at (`max_tokens`, or `max_completion_tokens`).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace llmq::daemon {

int64_t estimatePromptTokens(std::string_view request_json);
std::optional<int64_t> requestMaxTokens(std::string_view request_json);

}  // namespace llmq::daemon
