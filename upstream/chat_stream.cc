// Chunk-by-chunk assembly of a streamed chat completion, and the result object a
// non-streamed request would have returned. Chunks are untrusted: every lookup is
// json::member plus a type check, and indexes are bounded.
#include "upstream/chat_stream.h"

#include <algorithm>

#include "common/text.h"

namespace llmq::upstream {
namespace {

const json::Value* stringMember(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? v : nullptr;
}

// Sets `out` from obj.name when `out` is still empty and the member is a non-empty string.
void keepFirst(std::string& out, const json::Value& obj, const char* name) {
  if (!out.empty()) {
    return;
  }
  if (const json::Value* v = stringMember(obj, name)) {
    out.assign(json::view(*v));
  }
}

UpstreamError streamError(std::string message, bool retryable, const char* source) {
  UpstreamError e;
  e.failure.code = "UPSTREAM_ERROR";
  e.failure.message = std::move(message);
  e.failure.upstream_status = 200;
  e.failure.retryable = retryable;
  e.failure.source = source;
  return e;
}

UpstreamError tooLargeError(std::string message) {
  UpstreamError e = streamError(std::move(message), /*retryable=*/false, "local");
  e.failure.code = "RESPONSE_TOO_LARGE";
  return e;
}

}  // namespace

ChatStreamAssembler::ChatStreamAssembler(bool byok, size_t max_content_bytes)
    : byok_(byok), max_content_bytes_(max_content_bytes) {}

bool ChatStreamAssembler::charge(size_t n) {
  if (n > max_content_bytes_ - content_bytes_) {
    error_ = tooLargeError("the upstream stream carried more than " + std::to_string(max_content_bytes_) +
                           " bytes of content (max_response_bytes)");
    state_ = StreamState::kFailed;
    too_large_ = true;
    return false;
  }
  content_bytes_ += n;
  return true;
}

std::string_view ChatStreamAssembler::textSoFar() const {
  return choices_.empty() ? std::string_view() : std::string_view(choices_[0].content);
}

void ChatStreamAssembler::fail(std::string message) {
  error_ = streamError(std::move(message), /*retryable=*/true, "upstream");
  state_ = StreamState::kFailed;
}

bool ChatStreamAssembler::consume(std::string_view data, const DeltaCallback& on_delta) {
  if (state_ != StreamState::kStreaming) {
    return false;
  }
  std::string_view text = trimWhitespace(data);
  if (text == "[DONE]") {
    state_ = StreamState::kDone;
    return false;
  }
  json::Document doc;
  std::string parse_error;
  // Invalid UTF-8 in a chunk is repaired (U+FFFD), not fatal: the attempt is paid
  // for, and a retry would most likely be paid for and fail the same way.
  std::string repaired;
  if (!json::parseRepairingUtf8(doc, text, repaired, &parse_error)) {
    fail("malformed chunk in the upstream stream (" + parse_error + ")");
    if (json::findTooDeep(text) != std::string_view::npos) {
      // Past the nesting limit: a bound of the daemon, not a passing glitch.
      error_->failure.retryable = false;
      error_->failure.source = "local";
    }
    return false;
  }
  if (!doc.IsObject()) {
    fail("a chunk in the upstream stream is not a JSON object");
    return false;
  }
  ++chunks_;
  if (const json::Value* error = json::member(doc, "error"); error != nullptr && !error->IsNull()) {
    // OpenRouter's mid-stream error: HTTP 200 was sent long ago, so the status is in
    // error.code, and the choices carry finish_reason "error".
    error_ = failureForErrorObject(*error, 200, byok_);
    state_ = StreamState::kFailed;
    return false;
  }
  return consumeChunk(doc, on_delta);
}

bool ChatStreamAssembler::consumeChunk(const json::Value& chunk, const DeltaCallback& on_delta) {
  keepFirst(id_, chunk, "id");
  keepFirst(model_, chunk, "model");
  keepFirst(provider_, chunk, "provider");
  keepFirst(system_fingerprint_, chunk, "system_fingerprint");
  if (const json::Value* created = json::member(chunk, "created");
      !created_ && created != nullptr && created->IsInt64()) {
    created_ = created->GetInt64();
  }
  if (const json::Value* usage = json::member(chunk, "usage"); usage != nullptr && usage->IsObject()) {
    Usage u;
    readUsage(*usage, &u);
    usage_ = u;
    usage_json_ = json::toString(*usage);
  }
  const json::Value* choices = json::member(chunk, "choices");
  if (choices == nullptr || !choices->IsArray()) {
    return true;  // A usage-only or keep-alive chunk.
  }
  int position = 0;
  for (const auto& ch : choices->GetArray()) {
    const int fallback_index = position++;
    if (!ch.IsObject()) {
      continue;
    }
    int index = fallback_index;
    if (const json::Value* i = json::member(ch, "index"); i != nullptr) {
      if (!i->IsInt() || i->GetInt() < 0 || i->GetInt() >= kMaxChoices) {
        fail("a chunk in the upstream stream has an invalid choice index");
        return false;
      }
      index = i->GetInt();
    }
    if (static_cast<size_t>(index) >= choices_.size()) {
      choices_.resize(static_cast<size_t>(index) + 1);
    }
    Choice& choice = choices_[static_cast<size_t>(index)];
    choice.seen = true;

    std::string_view content;
    std::string_view reasoning;
    scratch_.clear();
    details_scratch_.clear();
    logprobs_scratch_.clear();
    if (const json::Value* delta = json::member(ch, "delta"); delta != nullptr && delta->IsObject()) {
      keepFirst(choice.role, *delta, "role");
      if (const json::Value* c = stringMember(*delta, "content")) {
        content = json::view(*c);
        if (!charge(content.size())) {
          return false;
        }
        choice.content += content;
      }
      if (const json::Value* r = stringMember(*delta, "reasoning")) {
        reasoning = json::view(*r);
        if (!charge(reasoning.size())) {
          return false;
        }
        choice.reasoning += reasoning;
      }
      if (const json::Value* tc = json::member(*delta, "tool_calls");
          tc != nullptr && tc->IsArray() && !tc->Empty()) {
        if (!mergeToolCalls(choice, *tc)) {
          return false;
        }
        json::appendTo(scratch_, *tc);
      }
      if (const json::Value* rd = json::member(*delta, "reasoning_details");
          rd != nullptr && rd->IsArray() && !rd->Empty()) {
        json::appendTo(details_scratch_, *rd);
        if (!charge(details_scratch_.size())) {
          return false;
        }
        for (const json::Value& entry : rd->GetArray()) {
          choice.reasoning_details += choice.reasoning_details.empty() ? "" : ",";
          json::appendTo(choice.reasoning_details, entry);
        }
      }
    }
    if (const json::Value* lp = json::member(ch, "logprobs"); lp != nullptr && lp->IsObject()) {
      json::appendTo(logprobs_scratch_, *lp);
      if (!charge(logprobs_scratch_.size())) {
        return false;
      }
      if (const json::Value* tokens = json::member(*lp, "content"); tokens != nullptr && tokens->IsArray()) {
        for (const json::Value& t : tokens->GetArray()) {
          choice.logprobs_content += choice.logprobs_content.empty() ? "" : ",";
          json::appendTo(choice.logprobs_content, t);
        }
      }
    }
    if (const json::Value* fr = stringMember(ch, "finish_reason")) {
      choice.finish_reason.assign(json::view(*fr));
    }
    if (const json::Value* nfr = stringMember(ch, "native_finish_reason")) {
      choice.native_finish_reason.assign(json::view(*nfr));
    }
    const StreamDelta d{index, content, reasoning, scratch_, details_scratch_, logprobs_scratch_};
    if (on_delta && !d.empty()) {
      on_delta(d);
    }
  }
  return true;
}

bool ChatStreamAssembler::mergeToolCalls(Choice& choice, const json::Value& deltas) {
  for (const auto& d : deltas.GetArray()) {
    if (!d.IsObject()) {
      continue;
    }
    const json::Value* id = stringMember(d, "id");
    int index = 0;
    if (const json::Value* i = json::member(d, "index"); i != nullptr) {
      if (!i->IsInt() || i->GetInt() < 0 || i->GetInt() >= kMaxToolCalls) {
        fail("a chunk in the upstream stream has an invalid tool call index");
        return false;
      }
      index = i->GetInt();
    } else if (!choice.tool_calls.empty()) {
      // No index (some OpenAI-compatible servers): a new id starts a new call,
      // anything else continues the last one.
      const ToolCall& last = choice.tool_calls.back();
      const bool new_call = id != nullptr && id->GetStringLength() > 0 && json::view(*id) != last.id;
      index = new_call ? last.index + 1 : last.index;
      if (index >= kMaxToolCalls) {
        fail("the upstream stream has too many tool calls");
        return false;
      }
    }
    auto it = std::find_if(choice.tool_calls.begin(), choice.tool_calls.end(),
                           [index](const ToolCall& t) { return t.index == index; });
    if (it == choice.tool_calls.end()) {
      choice.tool_calls.push_back(ToolCall{index, {}, {}, {}, {}});
      it = choice.tool_calls.end() - 1;
    }
    ToolCall& call = *it;
    keepFirst(call.id, d, "id");
    keepFirst(call.type, d, "type");
    if (const json::Value* fn = json::member(d, "function"); fn != nullptr && fn->IsObject()) {
      keepFirst(call.name, *fn, "name");
      if (const json::Value* args = json::member(*fn, "arguments"); args != nullptr) {
        const size_t before = call.arguments.size();
        if (args->IsString()) {
          if (!charge(args->GetStringLength())) {
            return false;
          }
          call.arguments += json::view(*args);
        } else if (args->IsObject()) {
          json::appendTo(call.arguments, *args);  // Some servers send parsed arguments.
          if (!charge(call.arguments.size() - before)) {
            return false;
          }
        }
      }
    }
  }
  return true;
}

std::string ChatStreamAssembler::buildResultJson() const {
  json::Buffer buf;
  json::Writer w(buf);
  w.StartObject();
  json::writeKey(w, "id");
  json::writeString(w, id_);
  json::writeKey(w, "object");
  json::writeString(w, "chat.completion");
  if (created_) {
    json::writeKey(w, "created");
    w.Int64(*created_);
  }
  json::writeKey(w, "model");
  json::writeString(w, model_);
  if (!provider_.empty()) {
    json::writeKey(w, "provider");
    json::writeString(w, provider_);
  }
  if (!system_fingerprint_.empty()) {
    json::writeKey(w, "system_fingerprint");
    json::writeString(w, system_fingerprint_);
  }
  json::writeKey(w, "choices");
  w.StartArray();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    if (!c.seen) {
      continue;
    }
    w.StartObject();
    json::writeKey(w, "index");
    w.Int(static_cast<int>(i));
    json::writeKey(w, "message");
    w.StartObject();
    json::writeKey(w, "role");
    json::writeString(w, c.role.empty() ? std::string_view("assistant") : std::string_view(c.role));
    json::writeKey(w, "content");
    if (c.content.empty() && !c.tool_calls.empty()) {
      w.Null();  // What a non-streamed response says for a tool-call-only message.
    } else {
      json::writeString(w, c.content);
    }
    if (!c.reasoning.empty()) {
      json::writeKey(w, "reasoning");
      json::writeString(w, c.reasoning);
    }
    if (!c.reasoning_details.empty()) {
      json::writeKey(w, "reasoning_details");
      json::writeRaw(w, "[" + c.reasoning_details + "]");
    }
    if (!c.tool_calls.empty()) {
      std::vector<const ToolCall*> calls;
      for (const ToolCall& t : c.tool_calls) {
        calls.push_back(&t);
      }
      std::stable_sort(calls.begin(), calls.end(),
                       [](const ToolCall* a, const ToolCall* b) { return a->index < b->index; });
      json::writeKey(w, "tool_calls");
      w.StartArray();
      for (const ToolCall* t : calls) {
        w.StartObject();
        json::writeKey(w, "id");
        json::writeString(w, t->id);
        json::writeKey(w, "type");
        json::writeString(w, t->type.empty() ? std::string_view("function") : std::string_view(t->type));
        json::writeKey(w, "function");
        w.StartObject();
        json::writeKey(w, "name");
        json::writeString(w, t->name);
        json::writeKey(w, "arguments");
        json::writeString(w, t->arguments);
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();  // message
    if (!c.logprobs_content.empty()) {
      json::writeKey(w, "logprobs");
      json::writeRaw(w, "{\"content\":[" + c.logprobs_content + "],\"refusal\":null}");
    }
    json::writeKey(w, "finish_reason");
    if (c.finish_reason.empty()) {
      w.Null();
    } else {
      json::writeString(w, c.finish_reason);
    }
    if (!c.native_finish_reason.empty()) {
      json::writeKey(w, "native_finish_reason");
      json::writeString(w, c.native_finish_reason);
    }
    w.EndObject();
  }
  w.EndArray();
  if (usage_) {
    json::writeKey(w, "usage");
    json::writeRaw(w, usage_json_);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

ChatOutcome ChatStreamAssembler::finish() {
  if (error_) {
    return std::move(*error_);
  }
  if (state_ != StreamState::kDone) {
    return streamError("the stream ended without [DONE]", /*retryable=*/true, "upstream");
  }
  const auto first = std::find_if(choices_.begin(), choices_.end(), [](const Choice& c) { return c.seen; });
  if (first == choices_.end()) {
    return streamError("the stream ended with [DONE] but carried no choice", /*retryable=*/true, "upstream");
  }
  for (const Choice& c : choices_) {
    if (c.seen && c.finish_reason == "error") {
      return streamError("the upstream ended the stream with finish_reason \"error\"", /*retryable=*/true,
                         "upstream");
    }
  }
  Completion out;
  out.result_json = buildResultJson();
  out.content = first->content;
  out.finish_reason = first->finish_reason;
  if (std::count_if(choices_.begin(), choices_.end(), [](const Choice& c) { return c.seen; }) > 1) {
    out.choice_finishes_json = "[";
    for (size_t i = 0; i < choices_.size(); ++i) {
      if (!choices_[i].seen) {
        continue;
      }
      out.choice_finishes_json += out.choice_finishes_json.size() > 1 ? "," : "";
      out.choice_finishes_json += "{\"index\":" + std::to_string(i) + ",\"finish_reason\":";
      json::appendString(out.choice_finishes_json, choices_[i].finish_reason);
      out.choice_finishes_json += "}";
    }
    out.choice_finishes_json += "]";
  }
  out.model = model_;
  out.provider = provider_;
  out.generation_id = id_;
  if (usage_) {
    out.usage = *usage_;
  }
  out.http_status = 200;
  return out;
}

ChatStreamDecoder::ChatStreamDecoder(bool byok, size_t max_event_bytes, size_t max_content_bytes)
    : sse_(max_event_bytes), assembler_(byok, max_content_bytes) {}

bool ChatStreamDecoder::feed(std::string_view bytes, const DeltaCallback& on_delta) {
  if (assembler_.state() != StreamState::kStreaming) {
    return false;
  }
  // Once the assembler is done, later events in the same feed are ignored by it.
  const bool more = sse_.feed(bytes, [&](std::string_view data) { assembler_.consume(data, on_delta); });
  return more && assembler_.state() == StreamState::kStreaming;
}

ChatOutcome ChatStreamDecoder::finish() {
  const SseEnd end = sse_.finish();
  if (end == SseEnd::kOverflowed && assembler_.state() == StreamState::kStreaming) {
    return tooLargeError("an event in the upstream stream exceeded " + std::to_string(sse_.maxBufferedBytes()) +
                         " bytes (max_event_bytes)");
  }
  return assembler_.finish();
}

}  // namespace llmq::upstream
