// The streamed chat completion: ChatStreamAssembler turns the SSE data payloads of
// an OpenAI/OpenRouter `chat.completion.chunk` stream into live deltas and, at the
// end, the Completion equivalent to a non-streamed response (or the failure the
// stream amounts to). ChatStreamDecoder puts SseParser in front of it, so a
// provider feeds it raw body bytes. Pure logic: no I/O, no libcurl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/chat_response.h"
#include "upstream/error_map.h"
#include "upstream/provider.h"
#include "upstream/sse_parser.h"

namespace llmq::upstream {

using DeltaCallback = std::function<void(const StreamDelta&)>;

enum class StreamState {
  kStreaming,  // More payloads are expected.
  kDone,       // "[DONE]" arrived.
  kFailed,     // An error chunk or a malformed chunk ended the stream.
};

// One per attempt; not thread-safe.
class ChatStreamAssembler {
 public:
  // Bounds on indexes taken from untrusted chunks (OpenAI allows n <= 128).
  static constexpr int kMaxChoices = 128;
  static constexpr int kMaxToolCalls = 256;

  // What one attempt may assemble by default: the content, reasoning and tool-call
  // arguments of all choices together ([http] max_response_bytes).
  static constexpr size_t kDefaultMaxContentBytes = size_t{32} << 20;  // 32 MiB.

  // `byok`: the attempt uses the job's own key (exhaustion -> USER_KEY_EXHAUSTED).
  // `max_content_bytes`: a stream that carries more text than this fails with
  // RESPONSE_TOO_LARGE (not retryable) instead of growing without end.
  explicit ChatStreamAssembler(bool byok = false, size_t max_content_bytes = kDefaultMaxContentBytes);

  // Consumes one SSE data payload: "[DONE]" or a JSON chunk. Merges content,
  // reasoning and tool-call deltas per choice (tool calls by their `index`, arguments
  // concatenated, id/type/function.name kept from their first appearance), and
  // records id, model, provider, created, finish_reason and `usage` from whichever
  // chunk carries them. A chunk with a top-level `error` (sent with HTTP 200) or one
  // that is not a JSON object fails the stream. Returns true while more payloads are
  // expected; false once the stream is over, after which payloads are ignored.
  bool consume(std::string_view data, const DeltaCallback& on_delta);

  // The outcome; call once, when the body has ended (or after consume() returned false).
  // - Completion: "[DONE]" was seen, no error, at least one choice. result_json is the
  //   assembled chat.completion object: id, object, created, model, provider,
  //   system_fingerprint, choices [{index, message {role, content, reasoning?,
  //   tool_calls?}, finish_reason, native_finish_reason?}], usage as received.
  //   content/finish_reason are those of the lowest choice index.
  // - UpstreamError: the stream's error chunk (failureForErrorObject), or
  //   UPSTREAM_ERROR retryable for a malformed chunk, a stream that ended without
  //   [DONE], one that carried no choice, or a choice that finished with "error";
  //   RESPONSE_TOO_LARGE, not retryable, source "local", for more content than
  //   max_content_bytes.
  ChatOutcome finish();

  StreamState state() const { return state_; }
  size_t chunks() const { return chunks_; }  // JSON chunks consumed.
  // The last `usage` seen so far, if any (normally in the final chunk).
  const std::optional<Usage>& usage() const { return usage_; }
  const std::string& generationId() const { return id_; }
  const std::string& model() const { return model_; }
  const std::string& provider() const { return provider_; }
  // Choice 0's content so far (the one copy of the streamed text; a late
  // subscriber's catch-up reads it). Valid until the next consume().
  std::string_view textSoFar() const;
  // The content, reasoning and tool-call argument bytes assembled so far.
  size_t contentBytes() const { return content_bytes_; }
  bool tooLarge() const { return too_large_; }

 private:
  struct ToolCall {
    int index = 0;
    std::string id;
    std::string type;
    std::string name;
    std::string arguments;
  };
  struct Choice {
    bool seen = false;
    std::string role;
    std::string content;
    std::string reasoning;
    // The elements of every reasoning_details delta, and of every logprobs.content
    // array, in order, comma-separated JSON (stored as the answer has them).
    std::string reasoning_details;
    std::string logprobs_content;
    std::string finish_reason;
    std::string native_finish_reason;
    std::vector<ToolCall> tool_calls;  // In order of first appearance.
  };

  bool consumeChunk(const json::Value& chunk, const DeltaCallback& on_delta);
  bool mergeToolCalls(Choice& choice, const json::Value& deltas);
  // Counts `n` more assembled bytes; false (and the stream failed) past the cap.
  bool charge(size_t n);
  void fail(std::string message);
  std::string buildResultJson() const;

  const bool byok_;
  const size_t max_content_bytes_;
  size_t content_bytes_ = 0;
  bool too_large_ = false;
  StreamState state_ = StreamState::kStreaming;
  size_t chunks_ = 0;
  std::vector<Choice> choices_;  // By choice index.
  std::string id_;
  std::string model_;
  std::string provider_;
  std::string system_fingerprint_;
  std::optional<int64_t> created_;
  std::optional<Usage> usage_;
  std::string usage_json_;
  std::optional<UpstreamError> error_;
  std::string scratch_;           // Serialized tool_calls delta for the callback.
  std::string details_scratch_;   // ... reasoning_details delta.
  std::string logprobs_scratch_;  // ... the choice's logprobs.
};

// SseParser + ChatStreamAssembler: raw body bytes in, deltas out. One per attempt.
class ChatStreamDecoder {
 public:
  explicit ChatStreamDecoder(bool byok = false, size_t max_event_bytes = SseParser::kDefaultMaxBufferedBytes,
                             size_t max_content_bytes = ChatStreamAssembler::kDefaultMaxContentBytes);

  // Feeds body bytes, in any split. Returns false once the outcome is decided
  // ([DONE], an error or malformed chunk, an event over `max_event_bytes`, or more
  // content than `max_content_bytes`): the caller may stop the transfer then, and
  // finish() gives the outcome.
  bool feed(std::string_view bytes, const DeltaCallback& on_delta);

  // The stream went past one of the caps: the caller should abort the transfer
  // (an endless stream would otherwise be drained forever).
  bool tooLarge() const { return sse_.overflowed() || assembler_.tooLarge(); }

  // Call once, when the body ended or feed() returned false. An oversized event or
  // too much content is RESPONSE_TOO_LARGE, not retryable, source "local";
  // everything else is as ChatStreamAssembler::finish() says.
  ChatOutcome finish();

  const SseParser& sse() const { return sse_; }
  const ChatStreamAssembler& assembler() const { return assembler_; }

 private:
  SseParser sse_;
  ChatStreamAssembler assembler_;
};

}  // namespace llmq::upstream
