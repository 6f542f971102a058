// The event stream of a streamed Responses call (POST /responses with
// "stream": true, as OpenRouter and OpenAI send it): raw body bytes in, live
// deltas and, at the end, the Completion of the finished Response (or the
// failure the stream amounts to) out. The answer's text comes from
// response.output_text.delta events (choice 0 of a StreamDelta), reasoning from
// response.reasoning_text.delta and response.reasoning_summary_text.delta; the
// outcome from response.completed or response.incomplete (whose `response` is the
// whole Response object), response.failed or an `error` event. Every other event
// is read and passed over. Pure logic: no I/O, no libcurl.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/chat_stream.h"
#include "upstream/responses_response.h"
#include "upstream/sse_parser.h"

namespace llmq::upstream {

// One per attempt; not thread-safe.
class ResponseEventsDecoder {
 public:
  // `max_event_bytes` bounds one event (the last carries the whole Response);
  // `max_content_bytes` the text and reasoning the deltas carry together.
  explicit ResponseEventsDecoder(bool byok = false, size_t max_event_bytes = SseParser::kDefaultMaxBufferedBytes,
                                 size_t max_content_bytes = ChatStreamAssembler::kDefaultMaxContentBytes);

  // Feeds body bytes, in any split. Returns false once the outcome is decided (a
  // final event, an error, a payload that is not a JSON object, or a cap passed).
  bool feed(std::string_view bytes, const DeltaCallback& on_delta);

  // Call once, when the body ended or feed() returned false.
  // - The final Response (response.completed, or response.incomplete): as
  //   parseResponsesResponse() reads it.
  // - response.failed or an `error` event: failureForErrorObject() of its error.
  // - A payload that is not a JSON object, or a stream that ended without a final
  //   event: UPSTREAM_ERROR, retryable.
  // - An event over max_event_bytes, or more text than max_content_bytes:
  //   RESPONSE_TOO_LARGE, not retryable, source "local".
  ChatOutcome finish();

  bool decided() const { return decided_; }
  bool tooLarge() const { return sse_.overflowed() || too_large_; }
  // The answer's text so far (a late subscriber's catch-up reads it).
  std::string_view textSoFar() const { return text_; }
  // The usage of a final or failed Response, when it had one.
  const std::optional<Usage>& usage() const { return usage_; }

 private:
  void consume(std::string_view data, const DeltaCallback& on_delta);
  bool charge(size_t n);

  const bool byok_;
  const size_t max_content_bytes_;
  SseParser sse_;
  size_t content_bytes_ = 0;
  bool too_large_ = false;
  bool decided_ = false;
  std::string text_;
  std::string final_;  // The final Response object, serialized.
  std::optional<UpstreamError> error_;
  std::optional<Usage> usage_;
};

}  // namespace llmq::upstream
