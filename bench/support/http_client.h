// DirectClient: blocking HTTP POSTs from the benchmark process with one reused
// libcurl easy handle (so the connection is kept alive), sending the headers
// llmqd's HTTP provider sends. It is the "no llmqd in between" baseline for the
// latency of one request, and it checks the canned upstream at start.
#pragma once

#include <curl/curl.h>

#include <string>

#include "common/result.h"

namespace llmq::bench {

struct HttpAnswer {
  long status = 0;
  std::string content_type;
  std::string body;
};

class DirectClient {
 public:
  DirectClient();
  ~DirectClient();
  DirectClient(const DirectClient&) = delete;
  DirectClient& operator=(const DirectClient&) = delete;

  // POST `body` (application/json) to `url`; `stream` sets Accept: text/event-stream.
  // Bounded by `timeout_ms`.
  Result<HttpAnswer> post(const std::string& url, const std::string& body, bool stream = false,
                          long timeout_ms = 10000);

 private:
  CURL* easy_ = nullptr;
  curl_slist* json_headers_ = nullptr;
  curl_slist* sse_headers_ = nullptr;
  HttpAnswer answer_;
};

}  // namespace llmq::bench
