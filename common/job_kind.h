// What a job asks an upstream for: a chat completion (the default) or
// embeddings. Shared by the protocol (job.submit "kind"), the store (the jobs
// table's `kind` column, schema v9) and the providers (which endpoint an attempt
// posts to). Persisted as integers; never renumber.
#pragma once

#include <optional>
#include <string_view>

namespace llmq {

enum class JobKind : int {
  kChat = 0,       // POST /chat/completions; may stream.
  kEmbedding = 1,  // POST /embeddings; never streams, answers with no completion tokens.
};

inline constexpr std::string_view jobKindName(JobKind kind) {
  return kind == JobKind::kEmbedding ? "embedding" : "chat";
}

inline std::optional<JobKind> parseJobKind(std::string_view name) {
  if (name == "chat") {
    return JobKind::kChat;
  }
  if (name == "embedding") {
    return JobKind::kEmbedding;
  }
  return std::nullopt;
}

// A stored integer that is not a known kind is read as chat (the pre-v9 default).
inline JobKind jobKindFromInt(int v) { return v == 1 ? JobKind::kEmbedding : JobKind::kChat; }

}  // namespace llmq
