// upstream::HttpGet: one small GET on the shared CurlLoop whose whole body is
// wanted at once (the model catalog's `GET /models`), as opposed to the streamed
// chat completions of HttpProvider. Any HTTP status is an answer; only transport
// failures (refused, reset, timeouts, DNS) and an oversize body are errors.
// Header values (the Authorization key) are never part of an error message.
//
// Loop thread only. Reusable: start() again once the previous GET has ended. The
// owner keeps it alive while a GET runs; destroying it cancels the GET. Cancel or
// destroy it only outside libcurl's callbacks (its own `done` is outside them):
// a removal deferred to the end of a socket action could still write into it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "upstream/curl_loop.h"

namespace llmq::upstream {

struct HttpGetRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value" lines.
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 60000;  // The whole GET, body included.
  size_t max_body_bytes = size_t{32} << 20;
};

struct HttpGetResponse {
  int status = 0;
  std::string body;
};

class HttpGet final : public CurlTransfer {
 public:
  using Done = std::function<void(Result<HttpGetResponse>)>;

  explicit HttpGet(CurlLoop& curl) : curl_(curl) {}
  ~HttpGet() override;
  HttpGet(const HttpGet&) = delete;
  HttpGet& operator=(const HttpGet&) = delete;

  // Starts the GET. `done` runs exactly once, from the loop, when it ends, unless
  // cancel() comes first. Fails synchronously, never calling `done`, when a GET is
  // already running or the transfer cannot be added.
  Result<void> start(const HttpGetRequest& request, Done done);
  // Stops a running GET; `done` is not called. A no-op when none runs.
  void cancel();
  bool active() const { return easy_ != nullptr; }

 private:
  void onCurlDone(CURLcode result) override;
  static size_t onCurlWrite(char* data, size_t size, size_t n, void* userp) noexcept;

  CurlLoop& curl_;
  CurlEasyPtr easy_;
  CurlSlistPtr headers_;
  Done done_;
  std::string url_;  // For error messages.
  std::string body_;
  size_t max_body_bytes_ = 0;
  bool too_large_ = false;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace llmq::upstream
