// Response object parsing. Every lookup goes through json::member and a type
// check: the body is untrusted.
#include "upstream/responses_response.h"

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
  const std::string_view text = trimWhitespace(body);
  if (text.empty()) {
    return protocolError("the upstream sent an empty response body", http_status);
  }
  json::Document doc;
  std::string parse_error;
  std::string repaired;
  std::string_view parsed_text = text;
  if (!json::parseRepairingUtf8(doc, parsed_text, repaired, &parse_error)) {
    const bool deep = json::findTooDeep(text) != std::string_view::npos;
    return protocolError("the upstream response is not valid JSON (" + parse_error + ")", http_status, !deep);
  }
  if (!doc.IsObject()) {
    return protocolError("the upstream response is not a JSON object", http_status);
  }
  const std::string_view status = stringOf(doc, "status");
  if (const json::Value* error = json::member(doc, "error"); error != nullptr && !error->IsNull()) {
    return failureForErrorObject(*error, http_status, byok);
  }
  if (status == "failed") {
    return protocolError("the upstream response failed without saying why", http_status);
  }
  const json::Value* output = json::member(doc, "output");
  if (output == nullptr || !output->IsArray()) {
    return protocolError("the upstream response has no output", http_status);
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
  c.result_json.assign(parsed_text);
  return c;
}

}  // namespace llmq::upstream
