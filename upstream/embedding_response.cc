// Embeddings response parsing. Every lookup goes through json::member and a type
// check: the body is untrusted.
#include "upstream/embedding_response.h"

#include <string>

namespace llmq::upstream {
namespace {

std::string stringOr(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? std::string(json::view(*v)) : std::string();
}

}  // namespace

ChatOutcome parseEmbeddingResponse(std::string_view body, bool byok, int http_status) {
  AnswerBody answer;
  if (std::optional<UpstreamError> e = answer.read(body, byok, http_status)) {
    return std::move(*e);
  }
  const json::Document& doc = answer.doc;
  const json::Value* data = json::member(doc, "data");
  if (data == nullptr || !data->IsArray()) {
    return malformedAnswer("the upstream response has no embeddings (\"data\")", http_status);
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
  c.result_json.assign(answer.text);
  return c;
}

}  // namespace llmq::upstream
