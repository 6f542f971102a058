// upstream::HttpProvider: one OpenAI-compatible chat-completions upstream
// (OpenRouter, or any server named in the config) on the shared CurlLoop. The
// request body is forwarded verbatim; a streamed answer is parsed as it arrives
// (SseParser -> ChatStreamAssembler) and every content delta reaches the sink at
// once; the attempt ends with the assembled chat.completion or a classified
// Failure (error_map.h). The key goes only into the Authorization header.
//
// Loop thread only. Transfers are freed outside curl callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "upstream/curl_loop.h"
#include "upstream/provider.h"

namespace llmq::upstream {

struct HttpProviderSettings {
  std::string name;
  std::string base_url;  // Without a trailing slash; "/chat/completions" is appended.
  std::string api_key;   // Empty: no Authorization header.
  bool openrouter = false;
  bool stream_usage = true;  // Ask for usage in streams (stream_options.include_usage).
  std::string referer;       // HTTP-Referer, OpenRouter only.
  std::string title;         // X-Title, OpenRouter only.
  int64_t connect_timeout_ms = 10000;
  int64_t idle_timeout_ms = 120000;
  // A non-streamed answer's body, and a stream's assembled content (text, reasoning,
  // tool-call arguments), per attempt; more fails RESPONSE_TOO_LARGE.
  size_t max_body_bytes = size_t{32} << 20;
  // One SSE event of a stream; a larger one fails RESPONSE_TOO_LARGE.
  size_t max_event_bytes = size_t{8} << 20;
  // The upstream serves OpenAI's Responses API (POST /responses): jobs of kind
  // responses are sent there as they are, not translated to chat completions.
  bool responses_api = false;

  bool operator==(const HttpProviderSettings&) const = default;
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(CurlLoop& curl, HttpProviderSettings settings);
  ~HttpProvider() override;

  std::string_view name() const override { return settings_.name; }
  Result<uint64_t> start(const AttemptRequest& request, TransferSink* sink) override;
  void cancel(uint64_t handle) override;
  size_t active() const override { return transfers_.size(); }
  std::string streamedText(uint64_t handle) const override;
  bool speaksResponses() const override { return settings_.responses_api && !responses_missing_; }
  void noteNoResponsesApi() override;

  bool hasKey() const { return !settings_.api_key.empty(); }
  const HttpProviderSettings& settings() const { return settings_; }

  // The body sent upstream for `request_json`: verbatim, except that a streamed
  // request to a provider that needs it gets stream_options.include_usage = true.
  std::string bodyFor(std::string_view request_json, bool stream) const;

 private:
  class Transfer;
  void finish(uint64_t handle, CURLcode result);
  void collectGarbage();

  CurlLoop& curl_;
  HttpProviderSettings settings_;
  uint64_t next_handle_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::vector<std::unique_ptr<Transfer>> graveyard_;  // Cancelled inside a curl callback.
  bool responses_missing_ = false;                    // noteNoResponsesApi() was called.
};

}  // namespace llmq::upstream
