// What a job asks an upstream for: a chat completion (the default), embeddings,
// or a Responses API call. Shared by the protocol (job.submit "kind"), the store (the jobs
// table's `kind` column, schema v9) and the providers (which endpoint an attempt
// posts to). Persisted as integers; never renumber.
#pragma once

#include <optional>
#include <string_view>

namespace llmq {

enum class JobKind : int {
  kChat = 0,       // POST /chat/completions; may stream.
  kEmbedding = 1,  // POST /embeddings; never streams, answers with no completion tokens.
  kResponses = 2,  // OpenAI's Responses API: POST /responses where the provider has it,
                   // else translated to chat completions; the result is a Response.
};

inline constexpr std::string_view jobKindName(JobKind kind) {
  return kind == JobKind::kEmbedding ? "embedding" : kind == JobKind::kResponses ? "responses" : "chat";
}

inline std::optional<JobKind> parseJobKind(std::string_view name) {
  if (name == "chat") {
    return JobKind::kChat;
  }
  if (name == "embedding") {
    return JobKind::kEmbedding;
  }
  if (name == "responses") {
    return JobKind::kResponses;
  }
  return std::nullopt;
}

// A stored integer that is not a known kind is read as chat (the pre-v9 default).
inline JobKind jobKindFromInt(int v) {
  return v == 1 ? JobKind::kEmbedding : v == 2 ? JobKind::kResponses : JobKind::kChat;
}

}  // namespace llmq
