// Non-streamed chat.completion parsing and the `usage` reader. Every lookup goes
// through json::member and a type check: the body is untrusted.
#include "upstream/chat_response.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/text.h"

namespace llmq::upstream {
namespace {

// A token count: a non-negative integer (an integral double is accepted too),
// clamped to kMaxAttemptTokens so that no sum of counts can overflow.
int64_t readCount(const json::Value* v) {
  if (v == nullptr) {
    return 0;
  }
  if (v->IsInt64()) {
    return std::clamp<int64_t>(v->GetInt64(), 0, kMaxAttemptTokens);
  }
  if (v->IsUint64()) {
    return kMaxAttemptTokens;
  }
  if (v->IsDouble()) {
    const double d = v->GetDouble();
    if (std::isfinite(d) && d >= 0) {
      return d >= static_cast<double>(kMaxAttemptTokens) ? kMaxAttemptTokens
                                                         : static_cast<int64_t>(std::llround(d));
    }
  }
  return 0;
}

const json::Value* path(const json::Value& obj, const char* a, const char* b) {
  const json::Value* first = json::member(obj, a);
  return first == nullptr ? nullptr : json::member(*first, b);
}

std::string stringOr(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? std::string(json::view(*v)) : std::string();
}

// message.content as text: a string, null, or an array of parts whose `text` is joined.
std::string contentText(const json::Value* content) {
  std::string out;
  if (content == nullptr) {
    return out;
  }
  if (content->IsString()) {
    out.assign(json::view(*content));
  } else if (content->IsArray()) {
    for (const auto& part : content->GetArray()) {
      if (const json::Value* t = json::member(part, "text"); t != nullptr && t->IsString()) {
        out += json::view(*t);
      }
    }
  }
  return out;
}

}  // namespace

bool readUsage(const json::Value& usage, Usage* out) {
  if (!usage.IsObject()) {
    return false;
  }
  Usage u;
  u.prompt_tokens = readCount(json::member(usage, "prompt_tokens"));
  u.completion_tokens = readCount(json::member(usage, "completion_tokens"));
  const json::Value* total = json::member(usage, "total_tokens");
  u.total_tokens = total != nullptr ? readCount(total) : u.prompt_tokens + u.completion_tokens;
  const json::Value* cached = path(usage, "prompt_tokens_details", "cached_tokens");
  u.cache_read = readCount(cached != nullptr ? cached : json::member(usage, "cache_read_input_tokens"));
  const json::Value* written = path(usage, "prompt_tokens_details", "cache_write_tokens");
  u.cache_write = readCount(written != nullptr ? written : json::member(usage, "cache_creation_input_tokens"));
  u.reasoning_tokens = readCount(path(usage, "completion_tokens_details", "reasoning_tokens"));
  if (const json::Value* cost = json::member(usage, "cost"); cost != nullptr && cost->IsNumber()) {
    const double d = cost->GetDouble();
    if (std::isfinite(d) && d >= 0) {
      u.cost_usd = clampAttemptCost(d);
      u.cost_reported = true;
    }
  }
  *out = u;
  return true;
}

std::optional<UpstreamError> AnswerBody::read(std::string_view body, bool byok, int http_status) {
  text = trimWhitespace(body);
  if (text.empty()) {
    return malformedAnswer("the upstream sent an empty response body", http_status);
  }
  // Invalid UTF-8 is repaired (each bad byte becomes U+FFFD, as OpenAI's SDKs
  // decode it): the attempt was paid for, and failing it would pay again for a
  // retry that most likely fails the same way.
  std::string parse_error;
  if (!json::parseRepairingUtf8(doc, text, repaired_, &parse_error)) {
    // Past the nesting limit the same answer would come back on every retry.
    const bool deep = json::findTooDeep(text) != std::string_view::npos;
    return malformedAnswer("the upstream response is not valid JSON (" + parse_error + ")", http_status, !deep);
  }
  if (!doc.IsObject()) {
    return malformedAnswer("the upstream response is not a JSON object", http_status);
  }
  if (const json::Value* error = json::member(doc, "error"); error != nullptr && !error->IsNull()) {
    return failureForErrorObject(*error, http_status, byok);
  }
  return std::nullopt;
}

ChatOutcome parseChatResponse(std::string_view body, bool byok, int http_status) {
  AnswerBody answer;
  if (std::optional<UpstreamError> e = answer.read(body, byok, http_status)) {
    return std::move(*e);
  }
  const json::Document& doc = answer.doc;
  const std::string_view text = answer.text;
  const json::Value* choices = json::member(doc, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty() || !(*choices)[0].IsObject()) {
    return malformedAnswer("the upstream response has no choices", http_status);
  }
  const json::Value& choice = (*choices)[0];

  Completion c;
  c.finish_reason = stringOr(choice, "finish_reason");
  if (c.finish_reason == "error") {
    return malformedAnswer("the upstream ended the completion with finish_reason \"error\"", http_status);
  }
  c.content = contentText(path(choice, "message", "content"));
  c.model = stringOr(doc, "model");
  c.provider = stringOr(doc, "provider");
  c.generation_id = stringOr(doc, "id");
  if (const json::Value* usage = json::member(doc, "usage")) {
    readUsage(*usage, &c.usage);
  }
  c.http_status = http_status;
  c.result_json.assign(text);
  return c;
}

}  // namespace llmq::upstream
