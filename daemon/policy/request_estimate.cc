// Request estimates: byte counts and a few JSON members.
#include "daemon/policy/request_estimate.h"

#include <initializer_list>

#include "common/json.h"

namespace llmq::daemon {

int64_t estimatePromptTokens(std::string_view request_json) {
  return static_cast<int64_t>(request_json.size() / 4) + 1;
}

namespace {

// The first of `names` that is a positive integer member of the request.
std::optional<int64_t> capOf(std::string_view request_json, std::initializer_list<const char*> names) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return std::nullopt;
  }
  for (const char* name : names) {
    if (const json::Value* v = json::member(doc, name); v != nullptr && v->IsInt64() && v->GetInt64() > 0) {
      return v->GetInt64();
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> requestMaxTokens(std::string_view request_json) {
  return capOf(request_json, {"max_tokens", "max_completion_tokens"});
}

int64_t embeddingInputTokens(std::string_view request_json) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return 1;
  }
  const json::Value* input = json::member(doc, "input");
  if (input == nullptr) {
    return 1;
  }
  int64_t tokens = 0;
  auto count = [&tokens](const json::Value& v) {
    if (v.IsString()) {
      tokens += static_cast<int64_t>(v.GetStringLength());
    } else if (v.IsArray()) {
      tokens += static_cast<int64_t>(v.Size());
    } else {
      tokens += 1;
    }
  };
  if (input->IsArray()) {
    for (const json::Value& item : input->GetArray()) {
      count(item);
    }
  } else {
    count(*input);
  }
  return tokens > 0 ? tokens : 1;
}

RequestTokens requestTokens(JobKind kind, std::string_view request_json) {
  if (kind == JobKind::kEmbedding) {
    return RequestTokens{embeddingInputTokens(request_json), 0};
  }
  if (kind == JobKind::kResponses) {
    return RequestTokens{estimatePromptTokens(request_json), capOf(request_json, {"max_output_tokens"})};
  }
  return RequestTokens{estimatePromptTokens(request_json), requestMaxTokens(request_json)};
}

}  // namespace llmq::daemon
