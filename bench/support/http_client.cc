// DirectClient: curl_easy_perform on one handle; libcurl keeps the connection
// in the handle's cache between calls.
#include "bench/support/http_client.h"

#include <strings.h>

#include <string_view>

namespace llmq::bench {
namespace {

size_t onWrite(char* data, size_t size, size_t n, void* userp) {
  static_cast<HttpAnswer*>(userp)->body.append(data, size * n);
  return size * n;
}

size_t onHeader(char* data, size_t size, size_t n, void* userp) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "content-type:";
  if (line.size() > kName.size() && ::strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    line.remove_prefix(kName.size());
    while (!line.empty() && line.front() == ' ') {
      line.remove_prefix(1);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) {
      line.remove_suffix(1);
    }
    static_cast<HttpAnswer*>(userp)->content_type = std::string(line);
  }
  return size * n;
}

// curl_global_init is not thread-safe: do it once, before any handle.
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

DirectClient::DirectClient() {
  static CurlGlobal global;
  easy_ = curl_easy_init();
  for (curl_slist** list : {&json_headers_, &sse_headers_}) {
    *list = curl_slist_append(*list, "Content-Type: application/json");
    *list =
        curl_slist_append(*list, list == &sse_headers_ ? "Accept: text/event-stream" : "Accept: application/json");
    *list = curl_slist_append(*list, "Expect:");
  }
}

DirectClient::~DirectClient() {
  if (easy_ != nullptr) {
    curl_easy_cleanup(easy_);
  }
  curl_slist_free_all(json_headers_);
  curl_slist_free_all(sse_headers_);
}

Result<HttpAnswer> DirectClient::post(const std::string& url, const std::string& body, bool stream,
                                      long timeout_ms) {
  if (easy_ == nullptr) {
    return makeError(ErrorKind::kInternal, "curl_easy_init failed");
  }
  answer_ = HttpAnswer{};
  CURL* e = easy_;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, stream ? sse_headers_ : json_headers_);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer_);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &answer_);
  CURLcode rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    return makeError(ErrorKind::kIo, "POST " + url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &answer_.status);
  return std::move(answer_);
}

}  // namespace llmq::bench
