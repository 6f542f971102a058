// HttpFront: HTTP requests in; typed submits through the shared admission code,
// reads as JSON-RPC calls and events as values on the in-process connection;
// OpenAI shapes out.
#include "daemon/api/http_front.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "common/log.h"
#include "common/text.h"
#include "common/time.h"
#include "daemon/api/api_token.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/api/job_admission.h"
#include "daemon/api/metrics_page.h"
#include "daemon/api/openai_format.h"
#include "daemon/engine.h"
#include "daemon/jobs/responses_format.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/metrics.h"
#include "daemon/turn/responder.h"
#include "ipc/protocol.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon {
namespace {

constexpr std::string_view kJson = "application/json";

std::string_view stringMember(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsString() ? std::string_view(m->GetString(), m->GetStringLength())
                                       : std::string_view();
}

// The member `name` of `v` if it is an object, else an empty object.
const json::Value& objectMember(const json::Value& v, const char* name) {
  static const json::Value kEmpty(rapidjson::kObjectType);
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsObject() ? *m : kEmpty;
}

int64_t intMember(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsInt64() ? m->GetInt64() : 0;
}

// The HTTP error for a job's error object (a job's `error`, or an error event's
// data) when the job ended without success.
openai::ApiError errorOfJob(std::string_view state, const json::Value& e) {
  openai::ApiError a = openai::fromJobError(state, stringMember(e, "code"), std::string(stringMember(e, "message")),
                                            static_cast<int>(intMember(e, "upstream_status")));
  a.retry_after_s = (intMember(e, "retry_after_ms") + 999) / 1000;  // COOLING_DOWN's.
  return a;
}

openai::ApiError jobApiError(std::string_view state, const json::Value& job) {
  return errorOfJob(state, objectMember(job, "error"));
}

// The HTTP error for the dispatcher's answer to a call that failed (a JSON-RPC
// error object: code, message, data.code).
openai::ApiError errorOfRpc(const json::Value& error) {
  const json::Value* data = json::member(error, "data");
  return openai::fromRpcError(static_cast<int>(intMember(error, "code")),
                              data != nullptr ? stringMember(*data, "code") : "",
                              std::string(stringMember(error, "message")));
}

std::string jobHeader(std::string_view job_id, std::string_view request_id = {}) {
  std::string h = job_id.empty() ? std::string() : "X-Llmq-Job-Id: " + std::string(job_id) + "\r\n";
  if (!request_id.empty()) {
    h += "X-Request-Id: " + std::string(request_id) + "\r\n";
  }
  return h;
}

// The client's X-Request-Id when it is one that may travel on (letters, digits,
// ".", "_", ":", "-"; at most 128), else a new one.
std::string requestIdFor(const std::string* header) {
  if (header != nullptr && ipc::isRequestId(*header)) {
    return *header;
  }
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "req_";
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

// The key a retried request is recognised by: its Idempotency-Key, else the
// X-Request-Id it gave (a valid one: `request_id` is it then), as OmniRoute
// deduplicates on both; nullptr when it gave neither.
const std::string* idempotencyKeyOf(const http::HttpRequest& r, const std::string& request_id) {
  if (const std::string* key = r.header("idempotency-key"); key != nullptr && !key->empty()) {
    return key;
  }
  const std::string* given = r.header("x-request-id");
  return given != nullptr && *given == request_id ? given : nullptr;
}

// Cache-Control: no-cache or no-store among its comma-separated directives.
bool forbidsCache(const std::string* header) {
  if (header == nullptr) {
    return false;
  }
  std::string_view rest(*header);
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view d = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!d.empty() && (d.front() == ' ' || d.front() == '\t')) {
      d.remove_prefix(1);
    }
    while (!d.empty() && (d.back() == ' ' || d.back() == '\t')) {
      d.remove_suffix(1);
    }
    if (equalsIgnoreCase(d, "no-cache") || equalsIgnoreCase(d, "no-store")) {
      return true;
    }
  }
  return false;
}

// "/providers/NAME/chat/completions" (after /v1): NAME, and `rest` set to the
// endpoint after it. Empty (and `rest` untouched) for any other path.
std::string_view pinnedProvider(std::string_view path, std::string_view* rest) {
  constexpr std::string_view kPrefix = "/providers/";
  if (path.rfind(kPrefix, 0) != 0) {
    return {};
  }
  const std::string_view tail = path.substr(kPrefix.size());
  const size_t slash = tail.find('/');
  if (slash == 0 || slash == std::string_view::npos) {
    return {};
  }
  *rest = tail.substr(slash);
  return tail.substr(0, slash);
}

// The path without its /v1 prefix.
std::string_view unversioned(std::string_view path) { return path.substr(path.rfind("/v1/", 0) == 0 ? 3 : 0); }

int64_t nowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

// Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. Header
// values go into JSON strings, and JSON text must be UTF-8.
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n >= s.size() - i) {
      return false;  // Cut off.
    }
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// "X-Should-Retry: false" (which OpenAI's SDKs obey) on every error but the
// few that a later try of the same request may pass: llmqd is the retry layer,
// and a job that failed had its attempts. The exceptions: llmqd itself was
// overloaded or stopping, the disk was full, or every path was cooling down
// (that answer's Retry-After says when to come back).
std::string retryHeader(int status, std::string_view code) {
  if (status == 408 || code == "overloaded" || code == "quota_exceeded" || code == "storage_failure" ||
      code == "cooling_down" || code == "stopping") {
    return {};
  }
  return "X-Should-Retry: false\r\n";
}

// An error answer's headers: the job's id, the request's, X-Should-Retry, Retry-After.
std::string errorHeaders(const openai::ApiError& e, std::string_view job_id, std::string_view request_id) {
  std::string h = jobHeader(job_id, request_id) + retryHeader(e.status, e.code);
  if (e.retry_after_s > 0) {
    h += "Retry-After: " + std::to_string(e.retry_after_s) + "\r\n";
  }
  return h;
}

// Failures of a job that an SDK would retry and that llmqd answers again instead
// (daemon/api/recent_failures.h): its attempts were spent (429, 5xx), or an operator
// cancelled it. A 4xx about the request itself is the same each time anyway; a
// request refused while every path cooled down may run once one opens.
bool remembered(const openai::ApiError& e) {
  return (e.status == 429 || e.status >= 500 || e.code == "cancelled") && e.code != "cooling_down";
}

// %XX escapes decoded (a client may escape the "/" of "openai/gpt-4o"); a bad
// escape stays as it is.
std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool isTrue(const std::string* header) {
  return header != nullptr && (*header == "true" || *header == "1" || *header == "yes");
}

// X-Llmq-Tags: comma-separated, trimmed, empty ones dropped. It stops one past
// the most a job may have (ipc::kMaxTags), which the submit's check refuses: a
// header of thousands of tags is not split whole.
std::vector<std::string> tagList(std::string_view header) {
  std::vector<std::string> tags;
  std::string_view rest(header);
  while (!rest.empty() && tags.size() <= static_cast<size_t>(ipc::kMaxTags)) {
    const size_t comma = rest.find(',');
    std::string_view tag = trimWhitespace(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!tag.empty()) {
      tags.emplace_back(tag);
    }
  }
  return tags;
}

}  // namespace

HttpFront::HttpFront(Engine& engine, HttpFrontOptions options)
    : s_(engine),
      token_(std::move(options.token)),
      http_(engine.loop, this, options.http),
      recent_failures_(options.retry_memory_ms),
      stream_head_after_ms_(options.stream_head_after_ms),
      keepalive_ms_(options.keepalive_ms),
      max_body_bytes_(options.http.limits.max_body_bytes) {
  self_.pid = ::getpid();
  self_.uid = ::getuid();
  self_.gid = ::getgid();
  self_.user = ipc::userNameFor(self_.uid);
  idle_ = makeUvHandle<uv_idle_t>(engine.loop, this, uv_idle_init);
  tick_ = UvTimer(engine.loop, [this] { keepStreamsAlive(); });
  const uint64_t every =
      static_cast<uint64_t>(std::clamp<int64_t>(std::min(stream_head_after_ms_, keepalive_ms_) / 2, 50, 5000));
  tick_.start(every, every);
  tick_.unref();
}

HttpFront::~HttpFront() = default;

Result<int> HttpFront::listen(const std::string& host, int port) { return http_.listen(host, port); }

void HttpFront::close() {
  http_.stopListening();
  http_.closeAll();
  idle_.reset();
  tick_.close();
}

void HttpFront::flush() { http_.flush(); }

void HttpFront::onRequest(uint64_t conn_id, uint64_t exchange, http::HttpRequest&& request) {
  route(conn_id, exchange, request);
}

http::HttpHeadVerdict HttpFront::onHeaders(uint64_t /*conn_id*/, const http::HttpRequest& head) {
  http::HttpHeadVerdict v;
  if (head.path == "/healthz") {
    return v;  // No token needed; the connection is not authenticated by it.
  }
  const std::string* auth = head.header("authorization");
  if (bearerMatches(auth, token_)) {
    v.authenticated = true;
    return v;
  }
  v.status = 401;
  v.body = openai::errorBody(openai::ApiError{
      401, "invalid_request_error", "invalid_api_key",
      auth == nullptr ? "missing bearer token: send Authorization: Bearer <token> (llmqd's api.token)"
                      : "incorrect bearer token"});
  return v;
}

// GET /v1/models and GET /v1/models/{id} (and HEAD, and without /v1): false when
// `r` asks for neither.
bool HttpFront::serveModels(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                            const std::string& request_id) {
  const bool get = r.method == "GET" || r.method == "HEAD";
  if (r.path == "/v1/models" || r.path == "/models") {
    if (!get) {
      respondError(conn_id, exchange, 405, "invalid_request_error", "method_not_allowed", r.path + " takes GET", {},
                   request_id);
      return true;
    }
    Pending p{Kind::kModels, conn_id, exchange};
    p.request_id = request_id;
    call(conn_id, "models.list", "{}", std::move(p));
    return true;
  }
  for (std::string_view prefix : {std::string_view("/v1/models/"), std::string_view("/models/")}) {
    if (r.path.size() > prefix.size() && r.path.compare(0, prefix.size(), prefix) == 0) {
      // models.retrieve: ids hold slashes ("openai/gpt-4o"); the catalog is
      // asked for the ids that contain it, so a long catalog's later pages count.
      if (!get) {
        respondError(conn_id, exchange, 405, "invalid_request_error", "method_not_allowed", r.path + " takes GET",
                     {}, request_id);
        return true;
      }
      const std::string id = percentDecode(std::string_view(r.path).substr(prefix.size()));
      if (id.empty() || id.size() > 256 || !validUtf8(id)) {
        respondError(conn_id, exchange, 404, "invalid_request_error", "model_not_found", "no such model", {},
                     request_id);
        return true;
      }
      std::string params = "{\"filter\":";
      json::appendString(params,
                         upstream::MockProvider::handles(id) ? std::string_view("mock/") : std::string_view(id));
      params += "}";
      Pending p{Kind::kModel, conn_id, exchange};
      p.model = id;
      p.request_id = request_id;
      call(conn_id, "models.list", params, std::move(p));
      return true;
    }
  }
  return false;
}

void HttpFront::route(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r) {
  const bool get = r.method == "GET" || r.method == "HEAD";
  // A base URL with a trailing slash ("http://127.0.0.1:8088/v1/") makes some
  // clients ask for "/v1//chat/completions": one slash is meant.
  if (r.path.find("//") != std::string::npos) {
    std::string path;
    for (char ch : r.path) {
      if (!(ch == '/' && !path.empty() && path.back() == '/')) {
        path.push_back(ch);
      }
    }
    r.path = std::move(path);
  }
  // Every answer says which request it answers; chat requests also send the
  // client's upstream.
  const std::string request_id = requestIdFor(r.header("x-request-id"));
  const std::string id_header = jobHeader({}, request_id);
  if (r.path == "/healthz") {
    if (s_.run.shutting_down) {
      http_.respond(conn_id, exchange, 503, kJson, id_header, "{\"status\":\"stopping\"}");
    } else {
      http_.respond(conn_id, exchange, 200, kJson, id_header, "{\"status\":\"ok\"}");
    }
    return;
  }
  if (!bearerMatches(r.header("authorization"), token_)) {
    respondError(conn_id, exchange, 401, "invalid_request_error", "invalid_api_key",
                 r.header("authorization") == nullptr
                     ? "missing bearer token: send Authorization: Bearer <token> (llmqd's api.token)"
                     : "incorrect bearer token",
                 {}, request_id);
    return;
  }
  // The endpoints that create jobs, each with and without /v1.
  static const struct {
    std::string_view path;
    void (HttpFront::*serve)(uint64_t, uint64_t, http::HttpRequest&, const std::string&);
  } kPosts[] = {
      {"/chat/completions", &HttpFront::chatCompletionsCreate},
      {"/embeddings", &HttpFront::embeddingsCreate},
      {"/responses", &HttpFront::responsesCreate},
  };
  std::string_view endpoint = unversioned(r.path);
  // A provider-pinned endpoint: the same, run only at that provider.
  if (const std::string_view provider = pinnedProvider(endpoint, &endpoint); !provider.empty()) {
    if (!s_.providers->has(provider)) {
      respondError(conn_id, exchange, 404, "invalid_request_error", "unknown_provider",
                   "no provider \"" + std::string(provider) + "\" is configured", {}, request_id);
      return;
    }
  }
  for (const auto& post : kPosts) {
    if (endpoint == post.path) {
      if (r.method != "POST") {
        respondError(conn_id, exchange, 405, "invalid_request_error", "method_not_allowed", r.path + " takes POST",
                     {}, request_id);
        return;
      }
      (this->*post.serve)(conn_id, exchange, r, request_id);
      return;
    }
  }
  if (serveModels(conn_id, exchange, r, request_id)) {
    return;
  }
  if (r.path == "/metrics" && get) {
    http_.respond(conn_id, exchange, 200, "text/plain; version=0.0.4; charset=utf-8", id_header, metricsPage(s_));
    return;
  }
  respondError(conn_id, exchange, 404, "invalid_request_error", "not_found",
               "no such endpoint: " + r.method + " " + r.path, {}, request_id);
}

void HttpFront::chatCompletionsCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                                      const std::string& request_id) {
  chatCompletions(conn_id, exchange, r, request_id);
}

void HttpFront::embeddingsCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                                 const std::string& request_id) {
  chatCompletions(conn_id, exchange, r, request_id, JobKind::kEmbedding);
}

void HttpFront::responsesCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                                const std::string& request_id) {
  json::Document body;
  std::string parse_error;
  if (!json::parse(body, r.body, &parse_error) || !body.IsObject()) {
    respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_json",
                 "the request body is not a JSON object: " + parse_error, {}, request_id);
    return;
  }
  const json::Value* previous = json::member(body, "previous_response_id");
  if (previous == nullptr || previous->IsNull()) {
    responsesSubmit(conn_id, exchange, r, request_id, {});
    return;
  }
  const std::optional<std::string> job_id = previous->IsString() ? responses::jobIdOf(json::view(*previous))
                                                                 : std::nullopt;
  if (!job_id) {
    respondError(conn_id, exchange, 404, "invalid_request_error", "previous_response_not_found",
                 "previous_response_id names no response of llmqd's (they look like resp_j123)", {}, request_id);
    return;
  }
  // Its conversation first: the stored job's messages and answer.
  std::string params = "{\"job_id\":";
  json::appendString(params, *job_id);
  params += ",\"include_request\":true}";
  Pending p{Kind::kPrevious, conn_id, exchange};
  p.request_id = request_id;
  p.held = std::move(r);
  call(conn_id, "job.get", params, std::move(p));
}

void HttpFront::responsesSubmit(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                                const std::string& request_id, std::string_view previous_items_json) {
  if (!previous_items_json.empty()) {
    // The job holds the whole conversation: the previous response's, then this input.
    json::Document body;
    if (!json::parse(body, r.body, nullptr) || !body.IsObject()) {
      respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_json",
                   "the request body is not a JSON object", {}, request_id);
      return;
    }
    r.body = responses::withInputBefore(body, previous_items_json);
    if (r.body.size() > max_body_bytes_) {
      // A conversation continued through previous_response_id grows with each turn.
      respondError(conn_id, exchange, 413, "invalid_request_error", "request_too_large",
                   "the request with its previous responses' conversation is larger than " +
                       std::to_string(max_body_bytes_) + " bytes ([api] max_body_bytes)",
                   {}, request_id);
      return;
    }
  }
  // What llmqd cannot serve job.submit refuses (UNSUPPORTED_PARAMETER, a 400 that
  // names it), the same for a socket client.
  chatCompletions(conn_id, exchange, r, request_id, JobKind::kResponses);
}

void HttpFront::chatCompletions(uint64_t conn_id, uint64_t exchange, http::HttpRequest& r,
                                const std::string& request_id, JobKind kind) {
  // These headers become strings of the job (its client, tags, keys), which
  // every answer about it writes as JSON: they must be UTF-8.
  for (const char* name : {"x-llmq-client", "x-llmq-tags", "idempotency-key", "x-openrouter-key"}) {
    if (const std::string* v = r.header(name); v != nullptr && !validUtf8(*v)) {
      respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_header",
                   std::string("the ") + name + " header is not valid UTF-8", {}, request_id);
      return;
    }
  }
  const bool retryable = idempotencyKeyOf(r, request_id) != nullptr;
  std::optional<RecentFailures::Digest> digest;
  if (!retryable && recent_failures_.enabled()) {
    digest = failureDigest(r, kind);
    if (std::optional<RecentFailures::Answer> again = recent_failures_.find(*digest, s_.clock.monoMs())) {
      http_.respond(conn_id, exchange, again->status, kJson, again->headers + jobHeader({}, request_id),
                    again->body);
      return;
    }
  }
  json::Document body;
  std::string parse_error;
  if (!json::parse(body, r.body, &parse_error)) {
    respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_json",
                 "the request body is not valid JSON: " + parse_error, {}, request_id);
    return;
  }
  if (!body.IsObject()) {
    respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_json",
                 "the request body must be a JSON object", {}, request_id);
    return;
  }
  // An embedding request with "stream" is refused by job.submit, with its reason.
  const json::Value* stream = json::member(body, "stream");
  const bool streaming = kind != JobKind::kEmbedding && stream != nullptr && stream->IsBool() && stream->GetBool();
  ipc::SubmitParams params;
  if (!submitParams(r, request_id, kind, streaming, &params)) {
    respondError(conn_id, exchange, 400, "invalid_request_error", "invalid_priority",
                 "X-Llmq-Priority must be an integer from -1000 to 1000", {}, request_id);
    return;
  }
  params.request = &body;
  if (std::string error; !ipc::checkSubmitParams(&params, &error)) {
    // The answer job.submit gives a socket client, as OpenAI's 400.
    respondError(conn_id, exchange, openai::fromRpcError(ipc::rpc::kInvalidParams, "", error), {}, request_id);
    return;
  }
  Pending p{streaming ? Kind::kStream : Kind::kComplete, conn_id, exchange};
  p.model = std::string(stringMember(body, "model"));
  if (const json::Value* so = json::member(body, "stream_options"); so != nullptr) {
    const json::Value* iu = json::member(*so, "include_usage");
    p.include_usage = iu != nullptr && iu->IsBool() && iu->GetBool();
  }
  p.created = nowSeconds();
  p.digest = digest;
  p.request_id = request_id;
  p.responses = kind == JobKind::kResponses;
  p.since_ms = s_.clock.monoMs();
  submit(conn_id, params, std::move(p));
}

RecentFailures::Digest HttpFront::failureDigest(const http::HttpRequest& r, JobKind kind) {
  // An SDK's retry of a request whose job llmqd gave up on gets the same answer
  // (daemon/api/recent_failures.h). The path, the body and the headers that change
  // what runs or who pays identify it.
  std::vector<std::string_view> parts{kind == JobKind::kEmbedding   ? "embeddings"
                                      : kind == JobKind::kResponses ? "responses"
                                                                    : "chat.completions",
                                      r.body};
  for (const char* name : {"x-llmq-client", "x-llmq-tags", "x-llmq-priority", "x-openrouter-key"}) {
    const std::string* v = r.header(name);
    parts.emplace_back(v != nullptr ? std::string_view(*v) : std::string_view("\0absent", 7));
  }
  return RecentFailures::digest(parts);
}

bool HttpFront::submitParams(const http::HttpRequest& r, const std::string& request_id, JobKind kind,
                             bool streaming, ipc::SubmitParams* out) {
  const std::string* idempotency_key = idempotencyKeyOf(r, request_id);
  const bool retryable = idempotency_key != nullptr;
  ipc::SubmitParams& p = *out;
  p.kind = kind;
  (streaming ? p.subscribe : p.wait) = true;
  // A request with an Idempotency-Key says its client will come back for the
  // answer: a disconnect (a client timeout, before a retry) must not cancel it.
  p.cancel_on_disconnect = !retryable && !isTrue(r.header("x-llmq-detach"));
  // A request with an Idempotency-Key would find its cooling_down failure again
  // on every retry: it waits for the breaker, as a socket client's job does.
  p.options.fail_when_cooling = !retryable;
  const std::string* client = r.header("x-llmq-client");
  p.client = client != nullptr && !client->empty() ? *client : std::string("http");
  if (const std::string* priority = r.header("x-llmq-priority")) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(priority->c_str(), &end, 10);
    if (priority->empty() || *end != '\0' || errno != 0 || v < ipc::kMinPriority || v > ipc::kMaxPriority) {
      return false;
    }
    p.priority = static_cast<int>(v);
  }
  if (const std::string* tags = r.header("x-llmq-tags")) {
    p.tags = tagList(*tags);
  }
  if (retryable) {
    p.idempotency_key = *idempotency_key;
  }
  if (const std::string* client_request_id = r.header("x-request-id");
      client_request_id != nullptr && *client_request_id == request_id) {
    p.options.request_id = request_id;
  }
  if (const std::string* key = r.header("x-openrouter-key"); key != nullptr && !key->empty()) {
    p.api_key = *key;
  }
  if (isTrue(r.header("x-llmq-no-cache")) || forbidsCache(r.header("cache-control"))) {
    p.options.no_cache = true;
  }
  std::string_view endpoint;
  if (const std::string_view provider = pinnedProvider(unversioned(r.path), &endpoint); !provider.empty()) {
    p.options.provider = std::string(provider);
  }
  return true;
}

uint64_t HttpFront::rpcConn(uint64_t conn_id) {
  Conn& c = conns_[conn_id];
  if (c.rpc_conn == 0) {
    c.rpc_conn = s_.server->openLocal(this, self_);
    // Its subscriptions deliver to onEvent as values, not as JSON-RPC lines.
    s_.bus->attachSink(c.rpc_conn, this);
  }
  return c.rpc_conn;
}

void HttpFront::submit(uint64_t conn_id, const ipc::SubmitParams& params, Pending pending) {
  const uint64_t rpc_conn = rpcConn(conn_id);
  const uint64_t id = next_rpc_id_++;
  pending_.emplace(id, std::move(pending));
  conns_[conn_id].requests.push_back(id);
  // As the dispatcher does for a request: the connection is held until answered.
  s_.server->hold(rpc_conn);
  Call submitted{s_, rpc_conn, self_, nullptr, Responder(*s_.server, *s_.cycle, rpc_conn, std::to_string(id))};
  admitJob(submitted, params);
}

void HttpFront::call(uint64_t conn_id, std::string_view method, std::string_view params_json, Pending pending) {
  const uint64_t rpc_conn = rpcConn(conn_id);
  const uint64_t id = next_rpc_id_++;
  std::string frame = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"";
  frame += method;
  frame += "\",\"params\":";
  frame += params_json;
  frame += "}";
  pending_.emplace(id, std::move(pending));
  conns_[conn_id].requests.push_back(id);
  s_.server->dispatchLocal(rpc_conn, frame);
}

void HttpFront::onOutput(uint64_t /*rpc_conn*/, std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes = nl == std::string_view::npos ? std::string_view() : bytes.substr(nl + 1);
    if (line.empty()) {
      continue;
    }
    json::Document doc;
    std::string error;
    if (!json::parse(doc, line, &error, json::kMaxAnswerDepth) || !doc.IsObject()) {
      LOG_ERROR("HTTP front: unreadable answer from the dispatcher: %s", error.c_str());
      continue;
    }
    // Only answers: events reach onEvent(const BusEvent&) as values.
    if (const json::Value* id = json::member(doc, "id"); id != nullptr && id->IsUint64()) {
      onResponse(id->GetUint64(), doc);
    }
  }
}

void HttpFront::onResponse(uint64_t rpc_id, const json::Value& message) {
  auto it = pending_.find(rpc_id);
  if (it == pending_.end()) {
    return;
  }
  Pending& p = it->second;
  if (const json::Value* error = json::member(message, "error")) {
    const openai::ApiError e = errorOfRpc(*error);
    if (p.kind == Kind::kReplay) {
      streamError(p, e);
    } else if (p.kind == Kind::kPrevious) {
      respondError(p.http_conn, p.exchange, 404, "invalid_request_error", "previous_response_not_found",
                   "previous_response_id: " + e.message, {}, p.request_id);
    } else {
      respondError(p.http_conn, p.exchange, e, p.job_id, p.request_id);
    }
    finish(rpc_id);
    return;
  }
  const json::Value* result = json::member(message, "result");
  if (result == nullptr) {
    finish(rpc_id);
    return;
  }
  switch (p.kind) {
    case Kind::kModels:
      http_.respond(p.http_conn, p.exchange, 200, kJson, jobHeader({}, p.request_id), openai::modelList(*result));
      break;
    case Kind::kModel:
      if (std::optional<std::string> model = openai::modelObject(*result, p.model)) {
        http_.respond(p.http_conn, p.exchange, 200, kJson, jobHeader({}, p.request_id), *model);
      } else {
        respondError(p.http_conn, p.exchange, 404, "invalid_request_error", "model_not_found",
                     "the model `" + p.model + "` does not exist or llmqd has no price for it", {}, p.request_id);
      }
      break;
    case Kind::kComplete:
      answerComplete(p, *result);
      break;
    case Kind::kReplay:
      replayFinished(p, *result);
      break;
    case Kind::kPrevious: {
      // The previous response's conversation: its input and its output, as items.
      const uint64_t conn = p.http_conn;
      const uint64_t exchange = p.exchange;
      http::HttpRequest held = std::move(*p.held);
      const std::string request_id = p.request_id;
      finish(rpc_id);  // Before submitting: that adds to pending_.
      Result<std::string> items = responses::previousInput(*result);
      if (!items) {
        respondError(conn, exchange, 404, "invalid_request_error", "previous_response_not_found",
                     items.error().message, {}, request_id);
        return;
      }
      // Not from here (onOutput may not dispatch): from the idle callback.
      deferred_submits_.push_back(DeferredSubmit{conn, exchange, std::move(held), request_id, std::move(*items)});
      if (idle_) {
        uv_idle_start(idle_.get(), &HttpFront::onUvIdle);
      }
      return;
    }
    case Kind::kStream:
      // A stream's acknowledgement: events follow on its subscription. A job that
      // had already ended (an Idempotency-Key seen before) has no subscription: its
      // answer is replayed from the stored job.
      p.job_id = std::string(stringMember(*result, "job_id"));
      p.chunk_id = "chatcmpl-" + p.job_id;
      if (std::string_view sub = stringMember(*result, "subscription");
          !sub.empty() && EventBus::parseId(sub, &p.subscription)) {
        by_sub_[p.subscription] = rpc_id;
      } else {
        replay(rpc_id, p);
      }
      return;
  }
  finish(rpc_id);  // The plain answers are complete.
}

void HttpFront::replay(uint64_t rpc_id, Pending& p) {
  if (p.subscription != 0) {
    by_sub_.erase(p.subscription);
    p.subscription = 0;
  }
  p.kind = Kind::kReplay;
  std::string frame =
      "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(rpc_id) + ",\"method\":\"job.get\",\"params\":{\"job_id\":";
  json::appendString(frame, p.job_id);
  frame += "}}";
  deferred_.emplace_back(p.http_conn, std::move(frame));
  if (idle_) {
    uv_idle_start(idle_.get(), &HttpFront::onUvIdle);
  }
}

void HttpFront::onEvent(const BusEvent& e) {
  auto it = by_sub_.find(e.subscription);
  if (it == by_sub_.end()) {
    // The answer that names this subscription is sent before any of its events,
    // but answers wait in the connection's buffer while events come at once:
    // read the answers first.
    s_.server->flushLocal(e.conn_id);
    it = by_sub_.find(e.subscription);
  }
  if (it == by_sub_.end()) {
    return;
  }
  const uint64_t rpc_id = it->second;
  auto pit = pending_.find(rpc_id);
  if (pit == pending_.end()) {
    return;
  }
  Pending& p = pit->second;
  if (e.kind == ipc::EventKind::kMessageChunk && e.chunk != nullptr) {
    // The hot path: the piece as values, no JSON read or written but the chunk's own.
    if (p.responses) {
      // Text live; tool calls and reasoning come whole with the finished response.
      if (!e.chunk->content.empty() && e.chunk->index == 0) {
        streamRaw(p, eventsOf(p).text(e.chunk->content));
      }
    } else {
      streamChunk(p, *e.chunk);
    }
    return;
  }
  // The few events of a job's life: their data read once each.
  json::Document data;
  if (!json::parse(data, e.data_json.empty() ? std::string_view("{}") : e.data_json, nullptr,
                   json::kMaxAnswerDepth) ||
      !data.IsObject()) {
    data.SetObject();
  }
  onJobEvent(rpc_id, p, e.kind, data);
}

void HttpFront::onJobEvent(uint64_t rpc_id, Pending& p, ipc::EventKind event, const json::Value& data) {
  using ipc::EventKind;
  if (event == EventKind::kStarted) {
    if (std::string_view m = stringMember(data, "model"); !m.empty()) {
      p.model = std::string(m);
    }
  } else if (event == EventKind::kRetrying) {
    if (p.content_sent) {
      // What the client has read cannot be taken back, and another attempt
      // starts over: end this response; the job goes on (and is billed once).
      const bool mismatch = stringMember(data, "reason") == "SCHEMA_MISMATCH";
      streamError(p, 502, "api_error", "stream_interrupted",
                  (mismatch ? "the answer sent did not match the request's response_format schema"
                            : "the upstream stream broke after part of the answer was sent") +
                      std::string("; llmq retries job ") + p.job_id + " but this response cannot resume it");
      finish(rpc_id);
    }
  } else if (event == EventKind::kUsage) {
    if (const json::Value* usage = json::member(data, "usage")) {
      const json::Value* cost = json::member(data, "cost_usd");
      p.usage_json = openai::usageJson(
          *usage, cost != nullptr && cost->IsNumber() ? std::optional<double>(cost->GetDouble()) : std::nullopt);
    }
    if (std::string_view m = stringMember(data, "model"); !m.empty()) {
      p.model = std::string(m);
    }
  } else if (event == EventKind::kFinalResponse) {
    finalResponse(rpc_id, p, data);
  } else if (event == EventKind::kError) {
    const json::Value* retryable = json::member(data, "retryable");
    if (retryable != nullptr && retryable->IsBool() && retryable->GetBool()) {
      return;  // A retry follows.
    }
    jobFailed(p, errorOfJob("failed", data));
    finish(rpc_id);
  } else if (event == EventKind::kCancelled || event == EventKind::kExpired) {
    const std::string_view name = ipc::eventName(event);
    openai::ApiError err = openai::fromJobError(
        name, "", "job " + p.job_id + " " + std::string(name) + ": " + std::string(stringMember(data, "reason")),
        0);
    jobFailed(p, err);
    finish(rpc_id);
  }
}

void HttpFront::finalResponse(uint64_t rpc_id, Pending& p, const json::Value& data) {
  if (!p.content_sent || p.responses) {
    // A cached answer, or a late subscriber with nothing streamed: the stored
    // answer, whole (tool calls, reasoning, every choice), as a replay does.
    replay(rpc_id, p);
    return;
  }
  if (const json::Value* choices = json::member(data, "choices"); choices != nullptr && choices->IsArray()) {
    std::vector<std::pair<int, std::string>> finishes;  // n > 1: each choice's own.
    for (const json::Value& c : choices->GetArray()) {
      const std::string_view f = stringMember(c, "finish_reason");
      finishes.emplace_back(static_cast<int>(intMember(c, "index")), f.empty() ? "stop" : std::string(f));
    }
    streamEnd(p, finishes);
  } else {
    streamEnd(p, stringMember(data, "finish_reason"));
  }
  finish(rpc_id);
}

void HttpFront::streamChunk(Pending& p, const upstream::StreamDelta& c) {
  if (c.empty()) {
    return;
  }
  std::string d = "{";
  // Each choice's first chunk says its role (OpenAI's framing for n > 1).
  if (std::find(p.choices.begin(), p.choices.end(), c.index) == p.choices.end()) {
    p.choices.push_back(c.index);
    d += "\"role\":\"assistant\",";
  }
  d += "\"content\":";
  json::appendString(d, c.content);
  if (!c.reasoning.empty()) {
    d += ",\"reasoning\":";
    json::appendString(d, c.reasoning);
  }
  // Compact JSON as the upstream parser made it: passed on as it is.
  if (!c.reasoning_details_json.empty()) {
    d += ",\"reasoning_details\":";
    d += c.reasoning_details_json;
  }
  if (!c.tool_calls_json.empty()) {
    d += ",\"tool_calls\":";
    d += c.tool_calls_json;
  }
  d += "}";
  streamText(p, c.index, d, c.logprobs_json);
}

void HttpFront::answerComplete(Pending& p, const json::Value& job) {
  const std::string_view job_id = stringMember(job, "job_id");
  const std::string_view state = stringMember(job, "state");
  if (state == "succeeded") {
    const json::Value* result = json::member(job, "result");
    std::string headers = jobHeader(job_id, p.request_id);
    if (const json::Value* usage = json::member(job, "usage"); usage != nullptr && usage->IsObject()) {
      if (const json::Value* cost = json::member(*usage, "cost_usd"); cost != nullptr && cost->IsNumber()) {
        headers += "X-Llmq-Cost-Usd: " + json::toString(*cost) + "\r\n";
      }
    }
    http_.respond(p.http_conn, p.exchange, 200, kJson, headers, result != nullptr ? json::toString(*result) : "{}");
    return;
  }
  p.job_id = std::string(job_id);
  jobFailed(p, jobApiError(state, job));
}

void HttpFront::replayFinished(Pending& p, const json::Value& job) {
  const std::string_view state = stringMember(job, "state");
  if (p.responses && state == "succeeded") {
    // The stored answer is the Response (the job runner made it one).
    streamRaw(p, eventsOf(p).finish(objectMember(job, "result")));
    http_.endStream(p.http_conn, p.exchange);
    return;
  }
  if (state != "succeeded") {
    if (state == "failed" || state == "cancelled" || state == "expired") {
      streamError(p, jobApiError(state, job));
    } else {
      streamError(p, 409, "invalid_request_error", "invalid_state",
                  "job " + p.job_id + " is " + std::string(state));
    }
    return;
  }
  const json::Value& result = objectMember(job, "result");
  if (std::string_view m = stringMember(result, "model"); !m.empty()) {
    p.model = std::string(m);
  }
  if (const json::Value* usage = json::member(result, "usage"); usage != nullptr && usage->IsObject()) {
    p.usage_json = json::toString(*usage);  // The upstream's own, with its cost when it gave one.
  }
  // Every choice as one chunk with all its message says, then each one's finish.
  std::vector<std::pair<int, std::string>> finishes;
  if (const json::Value* choices = json::member(result, "choices"); choices != nullptr && choices->IsArray()) {
    int position = 0;
    for (const json::Value& choice : choices->GetArray()) {
      const int index =
          json::member(choice, "index") != nullptr && choice["index"].IsInt() ? choice["index"].GetInt() : position;
      ++position;
      const json::Value& message = objectMember(choice, "message");
      const json::Value* logprobs = json::member(choice, "logprobs");
      streamText(p, index, openai::deltaOfMessage(message),
                 logprobs != nullptr && logprobs->IsObject() ? json::toString(*logprobs) : std::string());
      p.choices.push_back(index);
      const std::string_view f = stringMember(choice, "finish_reason");
      finishes.emplace_back(index, f.empty() ? "stop" : std::string(f));
    }
  }
  if (finishes.empty()) {
    streamText(p, 0, "{\"role\":\"assistant\",\"content\":\"\"}");
    finishes.emplace_back(0, "stop");
  }
  streamEnd(p, finishes);
}

void HttpFront::streamHead(Pending& p) {
  if (p.head_sent) {
    return;
  }
  p.head_sent = true;
  http_.startStream(p.http_conn, p.exchange, 200, "text/event-stream",
                    "Cache-Control: no-cache\r\n" + jobHeader(p.job_id, p.request_id));
}

void HttpFront::streamRaw(Pending& p, std::string_view sse) {
  streamHead(p);
  p.content_sent = true;
  p.last_write_ms = s_.clock.monoMs();
  http_.streamWrite(p.http_conn, p.exchange, sse);
}

responses::EventStream& HttpFront::eventsOf(Pending& p) {
  if (!p.events) {
    p.events = std::make_unique<responses::EventStream>(responses::responseId(p.job_id), p.model, p.created);
  }
  return *p.events;
}

void HttpFront::streamText(Pending& p, int index, std::string_view delta_json, std::string_view logprobs_json) {
  streamHead(p);
  std::string out;
  openai::appendChunkEvent(out, p.chunk_id, p.created, p.model, index, delta_json, {}, logprobs_json);
  p.content_sent = true;
  p.last_write_ms = s_.clock.monoMs();
  http_.streamWrite(p.http_conn, p.exchange, out);
}

void HttpFront::streamEnd(Pending& p, std::string_view finish_reason) {
  // Each choice that streamed ends with a chunk of its own (n > 1).
  std::vector<std::pair<int, std::string>> finishes;
  const std::string reason(finish_reason.empty() ? std::string_view("stop") : finish_reason);
  for (int index : p.choices) {
    finishes.emplace_back(index, reason);
  }
  if (finishes.empty()) {
    finishes.emplace_back(0, reason);
  }
  streamEnd(p, finishes);
}

void HttpFront::streamEnd(Pending& p, const std::vector<std::pair<int, std::string>>& finishes) {
  streamHead(p);
  std::string out;
  const std::string& id = p.chunk_id;
  for (const auto& [index, reason] : finishes) {
    openai::appendChunkEvent(out, id, p.created, p.model, index, "{}", reason);
  }
  if (p.include_usage && !p.usage_json.empty()) {
    openai::appendUsageEvent(out, id, p.created, p.model, p.usage_json);
  }
  out += openai::kDoneEvent;
  http_.streamWrite(p.http_conn, p.exchange, out);
  http_.endStream(p.http_conn, p.exchange);
}

void HttpFront::streamError(Pending& p, const openai::ApiError& e) {
  if (!p.head_sent) {
    // Nothing sent yet: the failure can still be a proper HTTP status.
    respondError(p.http_conn, p.exchange, e, p.job_id, p.request_id);
    return;
  }
  if (p.responses) {
    std::string error = "{\"code\":";
    json::appendString(error, e.code.empty() ? std::string_view("server_error") : std::string_view(e.code));
    error += ",\"message\":";
    json::appendString(error, e.message);
    error += "}";
    http_.streamWrite(p.http_conn, p.exchange, eventsOf(p).fail(error));
    http_.endStream(p.http_conn, p.exchange);
    return;
  }
  std::string out;
  openai::appendErrorEvent(out, e);
  http_.streamWrite(p.http_conn, p.exchange, out);
  http_.endStream(p.http_conn, p.exchange);
}

void HttpFront::streamError(Pending& p, int status, std::string type, std::string code, std::string message) {
  streamError(p, openai::ApiError{status, std::move(type), std::move(code), std::move(message)});
}

void HttpFront::respondError(uint64_t conn_id, uint64_t exchange, const openai::ApiError& e,
                             std::string_view job_id, std::string_view request_id) {
  http_.respond(conn_id, exchange, e.status, kJson, errorHeaders(e, job_id, request_id), openai::errorBody(e));
}

void HttpFront::respondError(uint64_t conn_id, uint64_t exchange, int status, std::string type, std::string code,
                             std::string message, std::string_view job_id, std::string_view request_id) {
  respondError(conn_id, exchange, openai::ApiError{status, std::move(type), std::move(code), std::move(message)},
               job_id, request_id);
}

void HttpFront::jobFailed(Pending& p, const openai::ApiError& e) {
  if (!p.head_sent && p.digest && remembered(e)) {
    // Without this request's id: each retry is answered with its own.
    recent_failures_.remember(*p.digest,
                              RecentFailures::Answer{e.status, errorHeaders(e, p.job_id, {}), openai::errorBody(e)},
                              s_.clock.monoMs());
  }
  streamError(p, e);
}

void HttpFront::finish(uint64_t rpc_id) {
  auto it = pending_.find(rpc_id);
  if (it == pending_.end()) {
    return;
  }
  if (it->second.subscription != 0) {
    by_sub_.erase(it->second.subscription);
  }
  if (auto c = conns_.find(it->second.http_conn); c != conns_.end()) {
    std::erase(c->second.requests, rpc_id);
  }
  pending_.erase(it);
}

void HttpFront::onClosed(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) {
    return;
  }
  Conn c = std::move(it->second);
  conns_.erase(it);
  for (uint64_t id : c.requests) {
    auto p = pending_.find(id);
    if (p == pending_.end()) {
      continue;
    }
    if (p->second.subscription != 0) {
      by_sub_.erase(p->second.subscription);
    }
    pending_.erase(p);
  }
  std::erase_if(deferred_, [conn_id](const auto& d) { return d.first == conn_id; });
  std::erase_if(deferred_submits_, [conn_id](const auto& d) { return d.conn_id == conn_id; });
  if (c.rpc_conn != 0) {
    // Its waits and subscriptions end, and its jobs are cancelled unless detached
    // (RpcDispatcher::onClosed).
    s_.server->closeLocal(c.rpc_conn);
  }
}

void HttpFront::runDeferred() {
  std::vector<std::pair<uint64_t, std::string>> batch;
  batch.swap(deferred_);
  for (auto& [conn_id, frame] : batch) {
    auto it = conns_.find(conn_id);
    if (it != conns_.end() && it->second.rpc_conn != 0) {
      s_.server->dispatchLocal(it->second.rpc_conn, frame);
    }
  }
  std::vector<DeferredSubmit> submits;
  submits.swap(deferred_submits_);
  for (DeferredSubmit& d : submits) {
    if (conns_.contains(d.conn_id)) {  // onClosed dropped those whose client went away.
      responsesSubmit(d.conn_id, d.exchange, d.request, d.request_id, d.previous_items_json);
    }
  }
}

void HttpFront::keepStreamsAlive() {
  const int64_t now = s_.clock.monoMs();
  for (auto& [rpc_id, p] : pending_) {
    // Only streams whose job was accepted: until then an error is still an HTTP status.
    if (p.kind != Kind::kStream || p.subscription == 0) {
      continue;
    }
    if (!p.head_sent) {
      if (now - p.since_ms < stream_head_after_ms_) {
        continue;
      }
      // From here on a failure is an error event, as after the first token.
      streamHead(p);
      http_.streamWrite(p.http_conn, p.exchange, ": llmq: job " + p.job_id + " is waiting\n\n");
      p.last_write_ms = now;
    } else if (now - p.last_write_ms >= keepalive_ms_) {
      http_.streamWrite(p.http_conn, p.exchange, ": keep-alive\n\n");
      p.last_write_ms = now;
    }
  }
  http_.flush();
}

void HttpFront::onUvIdle(uv_idle_t* h) noexcept {
  auto* self = static_cast<HttpFront*>(h->data);
  uv_idle_stop(h);
  self->runDeferred();
}

}  // namespace llmq::daemon
