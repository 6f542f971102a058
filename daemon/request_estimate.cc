// Request estimates: byte count and one JSON member.
#include "daemon/request_estimate.h"

#include "common/json.h"

namespace llmq::daemon {

int64_t estimatePromptTokens(std::string_view request_json) {
  return static_cast<int64_t>(request_json.size() / 4) + 1;
}

std::optional<int64_t> requestMaxTokens(std::string_view request_json) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return std::nullopt;
  }
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json::Value* v = json::member(doc, name); v != nullptr && v->IsInt64() && v->GetInt64() > 0) {
      return v->GetInt64();
    }
  }
  return std::nullopt;
}

}  // namespace llmq::daemon
