// ResponseEventsDecoder: SseParser, then one JSON object per event, by its type.
#include "upstream/response_events.h"

#include <string>

namespace llmq::upstream {
namespace {

// A malformed stream (retryable), or one past a cap (RESPONSE_TOO_LARGE, not retryable).
UpstreamError streamError(std::string message, bool retryable = true) {
  UpstreamError e = malformedAnswer(std::move(message), 200, retryable);
  if (!retryable) {
    e.failure.code = "RESPONSE_TOO_LARGE";
  }
  return e;
}

std::string_view stringOf(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? json::view(*v) : std::string_view();
}

}  // namespace

ResponseEventsDecoder::ResponseEventsDecoder(bool byok, size_t max_event_bytes, size_t max_content_bytes)
    : byok_(byok), max_content_bytes_(max_content_bytes), sse_(max_event_bytes) {}

bool ResponseEventsDecoder::charge(size_t n) {
  if (n > max_content_bytes_ - content_bytes_) {
    too_large_ = true;
    decided_ = true;
    return false;
  }
  content_bytes_ += n;
  return true;
}

bool ResponseEventsDecoder::feed(std::string_view bytes, const DeltaCallback& on_delta) {
  if (decided_) {
    return false;
  }
  const bool more = sse_.feed(bytes, [&](std::string_view data) {
    if (!decided_) {
      consume(data, on_delta);
    }
  });
  return more && !decided_;
}

void ResponseEventsDecoder::consume(std::string_view data, const DeltaCallback& on_delta) {
  if (data == "[DONE]") {
    return;  // Not part of the Responses stream; some servers add it.
  }
  json::Document event;
  std::string error;
  if (!json::parse(event, data, &error) || !event.IsObject()) {
    error_ = streamError("an event of the upstream stream is not a JSON object" +
                         (error.empty() ? std::string() : " (" + error + ")"));
    decided_ = true;
    return;
  }
  const std::string_view type = stringOf(event, "type");
  if (type == "response.output_text.delta" || type == "response.reasoning_text.delta" ||
      type == "response.reasoning_summary_text.delta") {
    const std::string_view delta = stringOf(event, "delta");
    if (delta.empty() || !charge(delta.size())) {
      return;
    }
    StreamDelta d;
    if (type == "response.output_text.delta") {
      text_ += delta;
      d.content = delta;
    } else {
      d.reasoning = delta;
    }
    if (on_delta) {
      on_delta(d);
    }
    return;
  }
  const json::Value* response = json::member(event, "response");
  if (type == "response.completed" || type == "response.incomplete") {
    decided_ = true;
    if (response == nullptr || !response->IsObject()) {
      error_ = streamError("the upstream's " + std::string(type) + " event has no response");
      return;
    }
    final_ = json::toString(*response);
    return;
  }
  if (type == "response.failed" || type == "error") {
    decided_ = true;
    const json::Value* err = response != nullptr ? json::member(*response, "error") : &event;
    if (response != nullptr && response->IsObject()) {
      if (const json::Value* usage = json::member(*response, "usage")) {
        Usage u;
        if (readResponsesUsage(*usage, &u)) {
          usage_ = u;
        }
      }
    }
    if (err != nullptr && err->IsObject()) {
      error_ = failureForErrorObject(*err, 200, byok_);
    } else {
      error_ = streamError("the upstream's response failed without saying why");
    }
  }
}

ChatOutcome ResponseEventsDecoder::finish() {
  const SseEnd end = sse_.finish();
  if (too_large_) {
    return streamError("the upstream stream carried more than " + std::to_string(max_content_bytes_) +
                           " bytes of text (max_response_bytes)",
                       false);
  }
  if (end == SseEnd::kOverflowed && !decided_) {
    return streamError("an event in the upstream stream exceeded " + std::to_string(sse_.maxBufferedBytes()) +
                           " bytes (max_event_bytes)",
                       false);
  }
  if (error_) {
    return *error_;
  }
  if (final_.empty()) {
    return streamError("the upstream stream ended without response.completed");
  }
  ChatOutcome outcome = parseResponsesResponse(final_, byok_, 200);
  if (const auto* c = std::get_if<Completion>(&outcome)) {
    usage_ = c->usage;
  }
  return outcome;
}

}  // namespace llmq::upstream
