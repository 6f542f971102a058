// Embeddings response parsing. Every lookup goes through json::member and a type
// check: the body is untrusted.
#include "upstream/embedding_response.h"

#include <string>

#include "common/text.h"

namespace llmq::upstream {
namespace {

UpstreamError protocolError(std::string message, int http_status, bool retryable = true) {
  UpstreamError e;
  e.failure.code = "UPSTREAM_ERROR";
  e.failure.message = std::move(message);
  e.failure.upstream_status = http_status;
  e.failure.retryable = retryable;
  e.failure.source = retryable ? "upstream" : "local";
  return e;
}

std::string stringOr(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? std::string(json::view(*v)) : std::string();
}

}  // namespace

ChatOutcome parseEmbeddingResponse(std::string_view body, bool byok, int http_status) {
  const std::string_view text = trimWhitespace(body);
  if (text.empty()) {
    return protocolError("the upstream sent an empty response body", http_status);
  }
  json::Document doc;
  std::string parse_error;
  if (!json::parse(doc, text, &parse_error)) {
    // Past the nesting limit the same answer would come back on every retry.
    const bool deep = json::findTooDeep(text) != std::string_view::npos;
    return protocolError("the upstream response is not valid JSON (" + parse_error + ")", http_status, !deep);
  }
  if (!doc.IsObject()) {
    return protocolError("the upstream response is not a JSON object", http_status);
  }
  if (const json::Value* error = json::member(doc, "error"); error != nullptr && !error->IsNull()) {
    return failureForErrorObject(*error, http_status, byok);
  }
  const json::Value* data = json::member(doc, "data");
  if (data == nullptr || !data->IsArray()) {
    return protocolError("the upstream response has no embeddings (\"data\")", http_status);
  }
  Completion c;
  c.model = stringOr(doc, "model");
  c.provider = stringOr(doc, "provider");
  c.generation_id = stringOr(doc, "id");
  if (const json::Value* usage = json::member(doc, "usage")) {
    readUsage(*usage, &c.usage);
    // An embedding produces no completion: a count there is not paid for by us.
    c.usage.completion_tokens = 0;
    c.usage.total_tokens = c.usage.prompt_tokens;
    c.usage.reasoning_tokens = 0;
  }
  c.http_status = http_status;
  c.result_json.assign(text);
  return c;
}

}  // namespace llmq::upstream
