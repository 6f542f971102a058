// Request estimates: byte counts and a few JSON members.
#include "daemon/policy/request_estimate.h"

#include <algorithm>
#include <initializer_list>

#include "common/json.h"
#include "common/usage_bounds.h"

namespace llmq::daemon {

int64_t estimatePromptTokens(std::string_view request_json) {
  return static_cast<int64_t>(request_json.size() / 4) + 1;
}

namespace {

// The first of `names` that is a positive integer member of `request`, clamped
// to the most one attempt may count (kMaxAttemptTokens): a client's max_tokens
// of 2^63-1 is added to the prompt's estimate and priced.
std::optional<int64_t> capIn(const json::Value& request, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const json::Value* v = json::member(request, name); v != nullptr && v->IsInt64() && v->GetInt64() > 0) {
      return std::min(v->GetInt64(), kMaxAttemptTokens);
    }
  }
  return std::nullopt;
}

// The same, of a request's text.
std::optional<int64_t> capOf(std::string_view request_json, std::initializer_list<const char*> names) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return std::nullopt;
  }
  return capIn(doc, names);
}

int64_t inputTokensIn(const json::Value& request) {
  const json::Value* input = json::member(request, "input");
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

}  // namespace

std::optional<int64_t> requestMaxTokens(std::string_view request_json) {
  return capOf(request_json, {"max_tokens", "max_completion_tokens"});
}

int64_t embeddingInputTokens(std::string_view request_json) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return 1;
  }
  return inputTokensIn(doc);
}

RequestTokens requestTokens(JobKind kind, std::string_view request_json) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    doc.SetObject();  // What cannot be read caps nothing; an embedding of it counts 1.
  }
  return tokensOf(requestFacts(kind, doc, request_json.size()));
}

RequestFacts requestFacts(JobKind kind, const json::Value& request, size_t request_bytes) {
  RequestFacts f;
  const int64_t by_size = static_cast<int64_t>(request_bytes / 4) + 1;
  if (kind == JobKind::kEmbedding) {
    f.prompt_tokens = request.IsObject() ? inputTokensIn(request) : 1;
    f.completion_cap = 0;
  } else if (kind == JobKind::kResponses) {
    f.prompt_tokens = by_size;
    f.completion_cap = request.IsObject() ? capIn(request, {"max_output_tokens"}) : std::nullopt;
  } else {
    f.prompt_tokens = by_size;
    f.completion_cap = request.IsObject() ? capIn(request, {"max_tokens", "max_completion_tokens"}) : std::nullopt;
  }
  const json::Value* t = request.IsObject() ? json::member(request, "temperature") : nullptr;
  f.deterministic = t != nullptr && t->IsNumber() && t->GetDouble() == 0.0;
  return f;
}

RequestFacts factsOf(const store::JobRecord& job) {
  if (job.options.facts) {
    return *job.options.facts;
  }
  json::Document doc;
  if (!json::parse(doc, job.request_json, nullptr) || !doc.IsObject()) {
    doc.SetObject();
  }
  return requestFacts(job.kind, doc, job.request_json.size());
}

}  // namespace llmq::daemon
