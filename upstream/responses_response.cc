// Response object parsing. Every lookup goes through json::member and a type
// check: the body is untrusted.
#include "upstream/responses_response.h"

#include <string>

namespace llmq::upstream {
namespace {

std::string_view stringOf(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? json::view(*v) : std::string_view();
}

const json::Value* objectOf(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsObject() ? v : nullptr;
}

}  // namespace

bool readResponsesUsage(const json::Value& usage, Usage* out) {
  if (!usage.IsObject()) {
    return false;
  }
  // The chat-completions names of the same figures, so that one reader clamps them.
  json::Document chat(rapidjson::kObjectType);
  auto& a = chat.GetAllocator();
  const auto copy = [&](const json::Value* v, const char* name) {
    if (v != nullptr) {
      chat.AddMember(rapidjson::StringRef(name), json::Value(*v, a), a);
    }
  };
  copy(json::member(usage, "input_tokens"), "prompt_tokens");
  copy(json::member(usage, "output_tokens"), "completion_tokens");
  copy(json::member(usage, "total_tokens"), "total_tokens");
  copy(json::member(usage, "cost"), "cost");
  if (const json::Value* in = objectOf(usage, "input_tokens_details")) {
    json::Value details(rapidjson::kObjectType);
    if (const json::Value* cached = json::member(*in, "cached_tokens")) {
      details.AddMember("cached_tokens", json::Value(*cached, a), a);
    }
    chat.AddMember("prompt_tokens_details", details, a);
  }
  if (const json::Value* o = objectOf(usage, "output_tokens_details")) {
    json::Value details(rapidjson::kObjectType);
    if (const json::Value* r = json::member(*o, "reasoning_tokens")) {
      details.AddMember("reasoning_tokens", json::Value(*r, a), a);
    }
    chat.AddMember("completion_tokens_details", details, a);
  }
  return readUsage(chat, out);
}

ChatOutcome parseResponsesResponse(std::string_view body, bool byok, int http_status) {
  AnswerBody answer;
  if (std::optional<UpstreamError> e = answer.read(body, byok, http_status)) {
    return std::move(*e);
  }
  const json::Document& doc = answer.doc;
  const std::string_view status = stringOf(doc, "status");
  if (status == "failed") {
    return malformedAnswer("the upstream response failed without saying why", http_status);
  }
  const json::Value* output = json::member(doc, "output");
  if (output == nullptr || !output->IsArray()) {
    return malformedAnswer("the upstream response has no output", http_status);
  }
  Completion c;
  bool calls = false;
  for (const json::Value& item : output->GetArray()) {
    const std::string_view type = stringOf(item, "type");
    if (type == "function_call") {
      calls = true;
    } else if (type == "message") {
      if (const json::Value* content = json::member(item, "content"); content != nullptr && content->IsArray()) {
        for (const json::Value& part : content->GetArray()) {
          if (stringOf(part, "type") == "output_text") {
            c.content += stringOf(part, "text");
          }
        }
      }
    }
  }
  c.finish_reason = status == "incomplete" ? "length" : calls ? "tool_calls" : "stop";
  c.model = std::string(stringOf(doc, "model"));
  c.generation_id = std::string(stringOf(doc, "id"));
  c.provider = std::string(stringOf(doc, "provider"));
  if (const json::Value* usage = json::member(doc, "usage")) {
    readResponsesUsage(*usage, &c.usage);
  }
  c.http_status = http_status;
  c.result_json.assign(answer.text);
  return c;
}

}  // namespace llmq::upstream
