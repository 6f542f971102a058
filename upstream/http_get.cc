// HttpGet: one easy handle at a time; the body is collected up to a cap, then the
// owner hears the status and body (or why there is none).
#include "upstream/http_get.h"

#include <cassert>

#include "common/log.h"
#include "llmq/version.h"

namespace llmq::upstream {

HttpGet::~HttpGet() { cancel(); }

Result<void> HttpGet::start(const HttpGetRequest& request, Done done) {
  if (easy_) {
    return makeError(ErrorKind::kInvalidState, "a GET of " + url_ + " is already running");
  }
  CurlEasyPtr easy(curl_easy_init());
  if (!easy) {
    return makeError(ErrorKind::kInternal, "creating an HTTP transfer failed");
  }
  curl_slist* h = nullptr;
  for (const std::string& line : request.headers) {
    h = curl_slist_append(h, line.c_str());
  }
  CurlSlistPtr headers(h);
  url_ = request.url;
  body_.clear();
  max_body_bytes_ = request.max_body_bytes;
  too_large_ = false;
  error_buffer_[0] = '\0';

  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
  restrictToHttp(e);
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, (std::string("llmq/") + kVersion).c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // The list is large and compresses well.
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpGet::onCurlWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  if (auto r = curl_.add(e, this); !r) {
    return r;
  }
  easy_ = std::move(easy);
  headers_ = std::move(headers);
  done_ = std::move(done);
  return {};
}

void HttpGet::cancel() {
  if (!easy_) {
    return;
  }
  assert(!curl_.inCurlCallback());
  done_ = nullptr;
  curl_.remove(std::move(easy_), std::move(headers_));
}

// Called by libcurl with response body bytes.
size_t HttpGet::onCurlWrite(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* self = static_cast<HttpGet*>(userp);
  const size_t len = size * n;
  if (self->body_.size() + len > self->max_body_bytes_) {
    self->too_large_ = true;
    return CURL_WRITEFUNC_ERROR;
  }
  try {
    self->body_.append(data, len);
  } catch (const std::exception& e) {
    LOG_ERROR("reading the response of %s: %s", self->url_.c_str(), e.what());
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

// Called by CurlLoop (outside any libcurl callback) once the handle is removed.
void HttpGet::onCurlDone(CURLcode result) {
  long status = 0;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
  // Free the transfer before calling back, so `done` may start the next GET.
  easy_.reset();
  headers_.reset();
  Done done = std::move(done_);
  done_ = nullptr;
  if (!done) {
    return;
  }
  if (too_large_) {
    done(makeError(ErrorKind::kIo, "GET " + url_ + ": the response is larger than " +
                                       std::to_string(max_body_bytes_ >> 20) + " MiB"));
    return;
  }
  if (result != CURLE_OK) {
    std::string why = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(result);
    done(makeError(ErrorKind::kIo, "GET " + url_ + ": " + why));
    return;
  }
  done(HttpGetResponse{static_cast<int>(status), std::move(body_)});
}

}  // namespace llmq::upstream
