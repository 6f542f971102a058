// HttpProvider: one easy handle per attempt; write/header callbacks feed the
// response state; onCurlDone classifies the outcome and calls the sink.
#include "upstream/http_provider.h"

#include <strings.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "common/time.h"
#include "llmq/version.h"
#include "upstream/chat_response.h"
#include "upstream/chat_stream.h"
#include "upstream/embedding_response.h"
#include "upstream/error_map.h"
#include "upstream/response_events.h"
#include "upstream/responses_response.h"

namespace llmq::upstream {
namespace {

// "Name: value" with a case-insensitive name match; nullopt when it is another header.
std::optional<std::string_view> headerValue(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':' ||
      ::strncasecmp(line.data(), name.data(), name.size()) != 0) {
    return std::nullopt;
  }
  return trimWhitespace(line.substr(name.size() + 1));
}

}  // namespace

// One attempt in flight. Owned by HttpProvider::transfers_; its easy handle and
// header list go back to the CurlLoop on cancel.
class HttpProvider::Transfer final : public CurlTransfer {
 public:
  Transfer(HttpProvider* provider, uint64_t handle, TransferSink* sink, JobKind kind, bool stream, bool byok)
      : provider_(provider),
        handle_(handle),
        sink_(sink),
        kind_(kind),
        stream_(stream),
        byok_(byok),
        decoder_(byok, provider->settings_.max_event_bytes, provider->settings_.max_body_bytes) {}
  // The loop outlives every provider and transfer (ProviderRegistry::close).
  ~Transfer() override { provider_->curl_.releaseBuffered(claimed_); }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void onCurlDone(CURLcode result) override { provider_->finish(handle_, result); }

  static size_t onCurlHeader(char* data, size_t size, size_t n, void* userp) noexcept;
  static size_t onCurlWrite(char* data, size_t size, size_t n, void* userp) noexcept;

  HttpProvider* provider_;
  uint64_t handle_;
  TransferSink* sink_;  // Null once cancelled.
  JobKind kind_;
  bool stream_;
  bool byok_;
  CurlEasyPtr easy_;
  CurlSlistPtr headers_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  long status_ = 0;
  bool event_stream_ = false;  // The 2xx response is text/event-stream.
  bool too_large_ = false;
  bool over_total_ = false;  // CurlLoop::claimBuffered refused: all answers together are too large.
  size_t claimed_ = 0;       // Bytes of body_ claimed from the CurlLoop.
  std::string retry_after_;
  std::string generation_id_;
  std::string body_;  // Non-streamed answers and error bodies.
  ChatStreamDecoder decoder_;
  // A streamed Responses call's events (kind_ kResponses); decoder_ is then unused.
  std::optional<ResponseEventsDecoder> events_;
};

// Called by libcurl for each response header line (and the status line).
size_t HttpProvider::Transfer::onCurlHeader(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (e.g. after a 100 Continue): forget the previous one's headers.
    t->retry_after_.clear();
    t->event_stream_ = false;
    return size * n;
  }
  if (auto v = headerValue(line, "retry-after")) {
    t->retry_after_ = std::string(*v);
  } else if (auto g = headerValue(line, "x-generation-id")) {
    t->generation_id_ = std::string(*g);
  } else if (auto ct = headerValue(line, "content-type")) {
    t->event_stream_ = ct->find("text/event-stream") != std::string_view::npos;
  }
  return size * n;
}

// Called by libcurl with response body bytes.
size_t HttpProvider::Transfer::onCurlWrite(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* t = static_cast<Transfer*>(userp);
  const size_t len = size * n;
  if (t->sink_ == nullptr) {
    return CURL_WRITEFUNC_ERROR;  // Cancelled: abort the transfer.
  }
  if (t->status_ == 0) {
    curl_easy_getinfo(t->easy_.get(), CURLINFO_RESPONSE_CODE, &t->status_);
  }
  try {
    if (t->stream_ && t->event_stream_ && t->status_ >= 200 && t->status_ < 300) {
      // Deltas reach the sink the moment their chunk is parsed. Once the outcome is
      // decided ([DONE] or an error chunk) the rest is drained, not aborted, so the
      // connection stays reusable.
      const auto deliver = [t](const StreamDelta& d) {
        if (t->sink_ != nullptr && !d.empty()) {
          t->sink_->onDelta(d);
        }
      };
      if (t->events_) {
        t->events_->feed(std::string_view(data, len), deliver);
      } else {
        t->decoder_.feed(std::string_view(data, len), deliver);
      }
      if (t->events_ ? t->events_->tooLarge() : t->decoder_.tooLarge()) {
        // An event or the content past its cap: abort, or an endless stream would
        // be drained for ever. finish() reports the decoder's RESPONSE_TOO_LARGE.
        t->too_large_ = true;
        return CURL_WRITEFUNC_ERROR;
      }
      return t->sink_ != nullptr ? len : CURL_WRITEFUNC_ERROR;
    }
    if (t->body_.size() + len > t->provider_->settings_.max_body_bytes) {
      t->too_large_ = true;
      return CURL_WRITEFUNC_ERROR;
    }
    if (!t->provider_->curl_.claimBuffered(len)) {
      t->over_total_ = true;
      return CURL_WRITEFUNC_ERROR;
    }
    t->claimed_ += len;
    t->body_.append(data, len);
    return len;
  } catch (const std::exception& e) {
    LOG_ERROR("reading an upstream response: %s", e.what());
    return CURL_WRITEFUNC_ERROR;
  }
}

HttpProvider::HttpProvider(CurlLoop& curl, HttpProviderSettings settings)
    : curl_(curl), settings_(std::move(settings)) {}

HttpProvider::~HttpProvider() {
  for (auto& [handle, t] : transfers_) {
    curl_.remove(std::move(t->easy_), std::move(t->headers_));
  }
}

std::string HttpProvider::bodyFor(std::string_view request_json, bool stream) const {
  if (!stream || !settings_.stream_usage) {
    return std::string(request_json);
  }
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return std::string(request_json);
  }
  auto& alloc = doc.GetAllocator();
  json::Value* options = nullptr;
  if (auto it = doc.FindMember("stream_options"); it != doc.MemberEnd()) {
    if (!it->value.IsObject()) {
      return std::string(request_json);  // The client's own (odd) choice: leave it.
    }
    if (it->value.HasMember("include_usage")) {
      return std::string(request_json);
    }
    options = &it->value;
  } else {
    doc.AddMember("stream_options", json::Value(rapidjson::kObjectType), alloc);
    options = &doc["stream_options"];
  }
  options->AddMember("include_usage", true, alloc);
  return json::toString(doc);
}

Result<uint64_t> HttpProvider::start(const AttemptRequest& req, TransferSink* sink) {
  collectGarbage();
  uint64_t handle = next_handle_++;
  const bool embedding = req.kind == JobKind::kEmbedding;
  const bool responses = req.kind == JobKind::kResponses;
  const bool stream = req.stream && !embedding;
  auto t = std::make_unique<Transfer>(this, handle, sink, req.kind, stream, req.byok);
  if (responses && stream) {
    t->events_.emplace(req.byok, settings_.max_event_bytes, settings_.max_body_bytes);
  }
  t->easy_.reset(curl_easy_init());
  if (!t->easy_) {
    return makeError(ErrorKind::kInternal, "creating an HTTP transfer failed");
  }
  CURL* e = t->easy_.get();
  std::string url = settings_.base_url + (embedding   ? "/embeddings"
                                          : responses ? "/responses"
                                                      : "/chat/completions");
  std::string body = embedding || responses ? std::string(req.request_json) : bodyFor(req.request_json, stream);

  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, stream ? "Accept: text/event-stream" : "Accept: application/json");
  const std::string_view key = !req.api_key.empty() ? req.api_key : std::string_view(settings_.api_key);
  if (!key.empty()) {
    h = curl_slist_append(h, ("Authorization: Bearer " + std::string(key)).c_str());
  }
  if (settings_.openrouter && !settings_.referer.empty()) {
    h = curl_slist_append(h, ("HTTP-Referer: " + settings_.referer).c_str());
  }
  if (settings_.openrouter && !settings_.title.empty()) {
    h = curl_slist_append(h, ("X-Title: " + settings_.title).c_str());
  }
  if (!req.request_id.empty()) {
    h = curl_slist_append(h, ("X-Request-Id: " + std::string(req.request_id)).c_str());
  }
  h = curl_slist_append(h, "Expect:");  // No 100-continue round trip for large bodies.
  t->headers_.reset(h);

  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  restrictToHttp(e);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_USERAGENT, (std::string("llmq/") + kVersion).c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  // Waiting for a connection that may multiplex only makes sense where HTTP/2
  // can be agreed on (TLS with ALPN). Over http:// libcurl does not wake the
  // waiting transfers when the first answer turns out to be HTTP/1.1: they
  // waited until that first transfer ended, so one slow or stalled answer held
  // back every other request to the provider.
  if (url.rfind("https://", 0) == 0) {
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout_ms));
  if (req.timeout_ms > 0) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
  }
  // A stream that sends nothing for idle_timeout fails ("operation too slow").
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(settings_.idle_timeout_ms / 1000)));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer_);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::onCurlHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::onCurlWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());

  if (auto r = curl_.add(e, t.get()); !r) {
    return r.takeError();
  }
  transfers_.emplace(handle, std::move(t));
  return handle;
}

void HttpProvider::cancel(uint64_t handle) {
  auto it = transfers_.find(handle);
  if (it == transfers_.end()) {
    return;
  }
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  t->sink_ = nullptr;
  curl_.remove(std::move(t->easy_), std::move(t->headers_));
  if (curl_.inCurlCallback()) {
    graveyard_.push_back(std::move(t));  // Its callback may be on the stack.
  }
}

std::string HttpProvider::streamedText(uint64_t handle) const {
  auto it = transfers_.find(handle);
  if (it == transfers_.end()) {
    return {};
  }
  const Transfer& t = *it->second;
  return std::string(t.events_ ? t.events_->textSoFar() : t.decoder_.assembler().textSoFar());
}

void HttpProvider::noteNoResponsesApi() {
  if (!responses_missing_ && settings_.responses_api) {
    LOG_WARN(
        "provider %s: POST /responses failed where the same request translated to chat completions "
        "succeeded; Responses requests go translated from now on (until llmqd restarts)",
        settings_.name.c_str());
  }
  responses_missing_ = true;
}

void HttpProvider::collectGarbage() {
  if (!curl_.inCurlCallback()) {
    graveyard_.clear();
  }
}

void HttpProvider::finish(uint64_t handle, CURLcode result) {
  auto it = transfers_.find(handle);
  if (it == transfers_.end()) {
    return;
  }
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  collectGarbage();
  TransferSink* sink = t->sink_;
  if (sink == nullptr) {
    return;
  }
  if (t->status_ == 0) {
    curl_easy_getinfo(t->easy_.get(), CURLINFO_RESPONSE_CODE, &t->status_);
  }
  const int status = static_cast<int>(t->status_);
  const int64_t now = wallMs();

  const bool streamed = t->stream_ && t->event_stream_ && status >= 200 && status < 300;
  const bool decoder_too_large = t->events_ ? t->events_->tooLarge() : t->decoder_.tooLarge();
  if (t->too_large_ && !(streamed && decoder_too_large)) {
    sink->onFailure(Failure{"RESPONSE_TOO_LARGE",
                            "the upstream response was larger than the daemon accepts (" +
                                std::to_string(t->provider_->settings_.max_body_bytes) +
                                " bytes, max_response_bytes)",
                            status, false, "local"});
    return;
  }
  if (t->over_total_) {
    // Not this answer's fault alone: a later attempt may find room.
    sink->onFailure(Failure{"UPSTREAM_ERROR",
                            "the upstream answers being received together passed the daemon's "
                            "bound on buffered response bytes ([http] max_buffered_bytes)",
                            status, true, "local"});
    return;
  }
  const bool error_body = status >= 400 && !t->body_.empty();
  if (result != CURLE_OK && !streamed && !error_body) {
    // No answer at all: a transport failure (timeouts, resets, refused connections).
    std::string msg = t->error_buffer_[0] != '\0' ? t->error_buffer_ : curl_easy_strerror(result);
    sink->onFailure(failureForTransport(static_cast<int>(result), msg, result == CURLE_OPERATION_TIMEDOUT));
    return;
  }
  if (t->kind_ == JobKind::kResponses && (status == 404 || status == 405 || status == 501)) {
    // Most likely no Responses API here; the daemon tries the same request
    // translated to chat completions (Provider::speaksResponses()).
    sink->onFailure(Failure{"RESPONSES_API_MISSING",
                            "the upstream answered POST /responses with HTTP " + std::to_string(status), status,
                            false, "local"});
    return;
  }
  if (status < 200 || status >= 300) {
    UpstreamError err = failureForHttp(status, t->body_, t->retry_after_, t->byok_, now);
    err.failure.upstream_error_json = std::move(err.error_json);
    err.failure.retry_after_ms = err.retry_after_ms.value_or(0);
    sink->onFailure(std::move(err.failure));
    return;
  }
  ChatOutcome outcome;
  if (streamed) {
    const bool decided = t->events_
                             ? t->events_->decided() || t->events_->tooLarge()
                             : t->decoder_.assembler().state() != StreamState::kStreaming || t->decoder_.tooLarge();
    if (result != CURLE_OK && !decided) {
      // The stream broke mid-way (reset, idle timeout): never a success.
      std::string msg = t->error_buffer_[0] != '\0' ? t->error_buffer_ : curl_easy_strerror(result);
      Failure f = failureForTransport(static_cast<int>(result), "the stream broke: " + msg,
                                      result == CURLE_OPERATION_TIMEDOUT);
      f.usage = t->events_ ? t->events_->usage() : t->decoder_.assembler().usage();
      sink->onFailure(std::move(f));
      return;
    }
    outcome = t->events_ ? t->events_->finish() : t->decoder_.finish();
  } else if (t->kind_ == JobKind::kResponses) {
    outcome = parseResponsesResponse(t->body_, t->byok_, status);
  } else {
    outcome = t->kind_ == JobKind::kEmbedding ? parseEmbeddingResponse(t->body_, t->byok_, status)
                                              : parseChatResponse(t->body_, t->byok_, status);
  }
  if (auto* err = std::get_if<UpstreamError>(&outcome)) {
    err->failure.upstream_error_json = std::move(err->error_json);
    err->failure.retry_after_ms = err->retry_after_ms.value_or(0);
    if (err->failure.upstream_status == 0) {
      err->failure.upstream_status = status;
    }
    if (streamed) {
      // E.g. usage, then no [DONE].
      err->failure.usage = t->events_ ? t->events_->usage() : t->decoder_.assembler().usage();
    }
    sink->onFailure(std::move(err->failure));
    return;
  }
  Completion c = std::get<Completion>(std::move(outcome));
  c.http_status = status;
  c.provider = c.provider.empty() ? settings_.name : c.provider;
  if (!t->generation_id_.empty()) {
    c.generation_id = t->generation_id_;
  }
  sink->onComplete(std::move(c));
}

}  // namespace llmq::upstream
