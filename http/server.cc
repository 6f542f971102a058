// HttpServer: connections, exchanges in request order, timeouts and writes.
#include "http/server.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>
#include <utility>

#include "common/callback_guard.h"
#include "common/descriptors.h"
#include "common/json.h"
#include "common/log.h"

namespace llmq::http {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

void appendHead(std::string& out, int status, std::string_view content_type, std::string_view extra, bool close,
                const char* framing) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += HttpServer::reason(status);
  out += "\r\n";
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  out += extra;
  out += framing;
  if (close) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
}

void appendChunk(std::string& out, std::string_view data) {
  char size[24];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
}

}  // namespace

const char* HttpServer::reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 507:
      return "Insufficient Storage";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

HttpServer::HttpServer(uv_loop_t* loop, HttpHandler* handler, HttpServerOptions options)
    : loop_(loop),
      handler_(handler),
      options_(std::move(options)),
      descriptor_refusals_(
          "the " + options_.name,
          "raise LimitNOFILE=" +
              (options_.settings.empty() ? std::string() : " or lower " + options_.settings + " max_connections")) {
  ::signal(SIGPIPE, SIG_IGN);  // A peer gone mid-write costs an EPIPE, not the process.
}

HttpServer::~HttpServer() { listener_.reset(); }

Result<int> HttpServer::listen(const std::string& host, int port) {
  sockaddr_storage addr{};
  int rc = host.find(':') != std::string::npos
               ? uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) {
    return makeError(ErrorKind::kInvalidArgument, options_.name + ": bad address " + host);
  }
  listener_ = makeUvHandle<uv_tcp_t>(loop_, this, uv_tcp_init);
  if (!listener_) {
    return makeError(ErrorKind::kIo, options_.name + ": creating the listening socket");
  }
  const std::string where = host + ":" + std::to_string(port);
  if ((rc = uv_tcp_bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), 0)) != 0 ||
      (rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), options_.backlog,
                      &HttpServer::onUvConnection)) != 0) {
    listener_.reset();
    return makeError(ErrorKind::kIo, options_.name + ": listening on " + where + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  return static_cast<int>(ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
}

void HttpServer::stopListening() { listener_.reset(); }

void HttpServer::closeAll() {
  std::vector<Conn*> all;
  all.reserve(conns_.size());
  for (auto& [id, c] : conns_) {
    all.push_back(c);
  }
  for (Conn* c : all) {
    close(*c);
  }
}

HttpServer::Conn* HttpServer::find(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  return it == conns_.end() || it->second->closing ? nullptr : it->second;
}

// Called by libuv when the listener has a connection to accept.
// A connection libuv took from the backlog but half-registered here cannot be
// unwound, and one not taken stalls the listener: an exception stops the
// process (common/callback_guard.h).
void HttpServer::onUvConnection(uv_stream_t* listener, int status) noexcept {
  guardCallbackOrAbort("accepting an HTTP connection", [listener, status] {
    static_cast<HttpServer*>(listener->data)->acceptConnection(listener, status);
  });
}

void HttpServer::acceptConnection(uv_stream_t* listener, int status) {
  if (status < 0) {
    LOG_WARN("%s: accepting a connection: %s", options_.name.c_str(), uv_strerror(status));
    return;
  }
  auto* c = new Conn(this, next_id_++, options_.limits);
  uv_tcp_init(loop_, &c->tcp);
  c->tcp.data = c;
  c->timer = UvTimer(loop_, [c] { c->server->onTimer(*c); });
  conns_.emplace(c->id, c);
  ++live_;
  c->unauth_it = unauth_.insert(unauth_.end(), c);
  c->parser.setHeadCheck([c](const HttpRequest& head) { return c->server->checkHead(*c, head); });
  if (int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)); rc != 0) {
    LOG_WARN("%s: accepting a connection: %s", options_.name.c_str(), uv_strerror(rc));
    close(*c);
    return;
  }
  if (uv_os_fd_t fd; uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) == 0 && descriptorsLow(fd)) {
    // Answered and closed now, so the descriptor is free before libuv's next
    // accept in this callback (common/descriptors.h).
    descriptor_refusals_.note(uv_now(loop_));
    drainReadable(fd);
    refuseNow(*c, descriptorsLowReason());
    return;
  }
  if (live_ > options_.max_connections && !evictOne(*c)) {
    noteFull();
    refuseNow(*c,
              "too many connections (at most " + std::to_string(options_.max_connections) + "); try again later");
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->last_read_ms = uv_now(loop_);
  updateReading(*c);
  armTimer(*c);
}

bool HttpServer::evictOne(const Conn& newcomer) {
  if (!options_.evict_unauthenticated) {
    return false;
  }
  for (Conn* old : unauth_) {
    if (old != &newcomer && old->exchanges.empty() && !old->closing) {
      LOG_DEBUG(
          "%s: %zu connections open; closing connection %llu (no request with a token yet) to admit a new one",
          options_.name.c_str(), live_, static_cast<unsigned long long>(old->id));
      refuseNow(*old, "closed to admit a new connection: this one sent no authenticated request");
      return true;
    }
  }
  return false;
}

void HttpServer::noteFull() {
  ++full_refused_;
  const uint64_t now = uv_now(loop_);
  if (full_logged_ms_ != 0 && now - full_logged_ms_ < 10'000) {
    return;
  }
  LOG_WARN("%s: %zu connections open, all in use; refusing more (%llu refused since the last report)",
           options_.name.c_str(), live_ - 1, static_cast<unsigned long long>(full_refused_));
  full_logged_ms_ = now;
  full_refused_ = 0;
}

std::string HttpServer::settingName(const char* key) const {
  return options_.settings.empty() ? std::string() : " (" + options_.settings + " " + key + ")";
}

void HttpServer::refuseNow(Conn& c, std::string_view why) {
  std::string body = "{\"error\":{\"message\":";
  json::appendString(body, why);
  body += ",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}";
  std::string out;
  const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  appendHead(out, 503, "application/json", {}, true, length.c_str());
  out += body;
  uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  uv_try_write(reinterpret_cast<uv_stream_t*>(&c.tcp), &buf, 1);  // Best effort; small.
  close(c);
}

bool HttpServer::checkHead(Conn& c, const HttpRequest& head) {
  HttpHeadVerdict v = handler_->onHeaders(c.id, head);
  if (v.authenticated && !c.authenticated) {
    c.authenticated = true;
    unauth_.erase(c.unauth_it);
  }
  if (v.status != 0) {
    c.refusal = std::move(v);
    return false;
  }
  return true;
}

void HttpServer::onUvAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<Conn*>(h->data);
  *buf = uv_buf_init(c->server->read_buf_, sizeof c->server->read_buf_);
}

void HttpServer::onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Conn*>(s->data);
  HttpServer* self = c->server;
  if (nread < 0) {
    // The peer went away (or half-closed, which HTTP clients do not do while they
    // still want an answer): whatever it asked for is abandoned.
    self->close(*c);
    return;
  }
  if (nread == 0) {
    return;
  }
  try {
    self->handleInput(*c, std::string_view(buf->base, static_cast<size_t>(nread)));
  } catch (const std::exception& e) {
    LOG_ERROR("%s: connection %llu: %s; closing it", self->options_.name.c_str(),
              static_cast<unsigned long long>(c->id), e.what());
    self->close(*c);
  }
}

void HttpServer::handleInput(Conn& c, std::string_view bytes) {
  const uint64_t now = uv_now(loop_);
  if (c.no_more_requests) {
    return;  // Input after Connection: close or an error is ignored.
  }
  if (!c.parser.midRequest()) {
    c.request_started_ms = now;
  }
  c.last_read_ms = now;
  std::vector<HttpRequest> requests;
  const HttpRequestParser::Status status = c.parser.feed(bytes, &requests);
  const size_t held = c.parser.bufferedBytes();
  buffered_total_ = buffered_total_ - c.buffered + held;
  c.buffered = held;
  for (HttpRequest& r : requests) {
    if (c.closing || c.no_more_requests) {
      break;
    }
    Exchange e{c.next_exchange++, {}, false, !r.keep_alive};
    e.head = r.method == "HEAD";
    e.http10 = r.http_minor == 0;
    if (e.close_after) {
      c.no_more_requests = true;
    }
    const uint64_t id = e.id;
    c.exchanges.push_back(std::move(e));
    handler_->onRequest(c.id, id, std::move(r));
  }
  if (c.closing) {
    return;
  }
  switch (status) {
    case HttpRequestParser::Status::kOk:
      break;
    case HttpRequestParser::Status::kBad:
      fail(c, 400, "invalid_request", c.parser.error());
      return;
    case HttpRequestParser::Status::kHeadersTooLarge:
      fail(c, 431, "headers_too_large",
           "request headers larger than " + std::to_string(options_.limits.max_header_bytes) + " bytes");
      return;
    case HttpRequestParser::Status::kBodyTooLarge:
      // Decided on Content-Length before the body is read when it says so; the
      // client is most likely still sending it.
      fail(c, 413, "request_too_large",
           "request body larger than " + std::to_string(options_.limits.max_body_bytes) + " bytes" +
               settingName("max_body_bytes") + "; send a smaller request",
           true);
      return;
    case HttpRequestParser::Status::kRefused:
      failWith(c, c.refusal.status, c.refusal.body, true);
      return;
  }
  if (buffered_total_ > options_.max_buffered_request_bytes) {
    LOG_WARN("%s: %zu bytes of unfinished requests buffered over all connections; refusing connection %llu's",
             options_.name.c_str(), buffered_total_, static_cast<unsigned long long>(c.id));
    std::string body = "{\"error\":{\"message\":";
    json::appendString(body, "llmqd holds too many bytes of unfinished requests" +
                                 settingName("max_buffered_request_bytes") + "; send again later");
    body += ",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}";
    failWith(c, 503, body, true);
    return;
  }
  if (c.parser.midRequest()) {
    if (c.parser.takeContinue()) {
      // Only once the exchanges ahead have been answered would this be in order;
      // a client waiting for 100 before sending its body has nothing ahead of it.
      if (c.exchanges.empty()) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        markDirty(c);
      }
    }
  }
  updateReading(c);
  armTimer(c);
}

void HttpServer::fail(Conn& c, int status, std::string_view code, std::string_view message, bool linger) {
  std::string body = "{\"error\":{\"message\":";
  json::appendString(body, message);
  body += ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":";
  json::appendString(body, code);
  body += "}}";
  failWith(c, status, body, linger);
}

void HttpServer::failWith(Conn& c, int status, const std::string& body, bool linger) {
  c.no_more_requests = true;
  c.linger = linger;
  // The unfinished request is dropped: what it held no longer counts.
  buffered_total_ -= c.buffered;
  c.buffered = 0;
  Exchange e{c.next_exchange++, {}, false, true};
  const uint64_t id = e.id;
  c.exchanges.push_back(std::move(e));
  respond(c.id, id, status, "application/json", {}, body);
  updateReading(c);
  armTimer(c);
}

HttpServer::Exchange* HttpServer::findExchange(Conn& c, uint64_t exchange) {
  for (Exchange& e : c.exchanges) {
    if (e.id == exchange) {
      return e.done ? nullptr : &e;
    }
  }
  return nullptr;
}

void HttpServer::emit(Conn& c, Exchange& e, std::string_view data, bool whole) {
  // A client is cut off as soon as what it has not read passes the bound, in
  // the same turn: an endless stream must not keep one turn going. Except one
  // whole answer (`whole`: a non-streamed answer of many MiB, bounded by [http]
  // max_response_bytes), which goes out even when it alone is larger, as long as
  // nothing else is waiting to: what comes after it is held to the bound, so a
  // client that pipelines requests and reads none of the answers (each made
  // at once, as GET /metrics is) is cut off, not answered without end.
  const size_t pending = c.out.size() + c.inflight;
  const bool unread = pending + data.size() > options_.max_pending_output_bytes && !(whole && pending == 0);
  if (&e == &c.exchanges.front()) {
    c.out.append(data);
    markDirty(c);
  } else {
    e.buffered.append(data);
  }
  if (unread) {
    LOG_WARN("%s: connection %llu is not reading (%zu bytes pending); cutting it off", options_.name.c_str(),
             static_cast<unsigned long long>(c.id), c.out.size() + c.inflight);
    close(c);
  }
}

void HttpServer::respond(uint64_t conn_id, uint64_t exchange, int status, std::string_view content_type,
                         std::string_view extra_headers, std::string_view body) {
  Conn* c = find(conn_id);
  Exchange* e = c != nullptr ? findExchange(*c, exchange) : nullptr;
  if (e == nullptr) {
    return;
  }
  std::string out;
  out.reserve(160 + extra_headers.size() + body.size());
  const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  appendHead(out, status, content_type, extra_headers, e->close_after, length.c_str());
  if (!e->head) {
    // The length a GET would get, and no body: a client reads none after a HEAD,
    // so one would be taken for the start of the next response.
    out.append(body);
  }
  emit(*c, *e, out, /*whole=*/true);
  if (!c->closing) {
    complete(*c, exchange);
  }
}

void HttpServer::startStream(uint64_t conn_id, uint64_t exchange, int status, std::string_view content_type,
                             std::string_view extra_headers) {
  Conn* c = find(conn_id);
  Exchange* e = c != nullptr ? findExchange(*c, exchange) : nullptr;
  if (e == nullptr) {
    return;
  }
  std::string out;
  if (e->http10) {
    e->close_after = true;  // The end of the body is the end of the connection.
    appendHead(out, status, content_type, extra_headers, true, "");
  } else {
    appendHead(out, status, content_type, extra_headers, e->close_after, "Transfer-Encoding: chunked\r\n");
  }
  emit(*c, *e, out);
}

void HttpServer::streamWrite(uint64_t conn_id, uint64_t exchange, std::string_view data) {
  Conn* c = find(conn_id);
  Exchange* e = c != nullptr ? findExchange(*c, exchange) : nullptr;
  if (e == nullptr || data.empty()) {
    return;
  }
  if (e->http10) {
    emit(*c, *e, data);
    return;
  }
  std::string out;
  out.reserve(data.size() + 16);
  appendChunk(out, data);
  emit(*c, *e, out);
}

void HttpServer::endStream(uint64_t conn_id, uint64_t exchange) {
  Conn* c = find(conn_id);
  Exchange* e = c != nullptr ? findExchange(*c, exchange) : nullptr;
  if (e == nullptr) {
    return;
  }
  if (!e->http10) {
    emit(*c, *e, "0\r\n\r\n");
  }
  if (!c->closing) {
    complete(*c, exchange);
  }
}

void HttpServer::complete(Conn& c, uint64_t exchange) {
  c.last_output_ms = uv_now(loop_);
  for (Exchange& e : c.exchanges) {
    if (e.id == exchange) {
      e.done = true;
    }
  }
  // Retire finished exchanges at the head; the next one's early output follows.
  while (!c.exchanges.empty() && c.exchanges.front().done) {
    if (c.exchanges.front().close_after) {
      c.exchanges.clear();
      c.no_more_requests = true;
      markDirty(c);  // flush() closes once the answer is out.
      return;
    }
    c.exchanges.pop_front();
    if (!c.exchanges.empty() && !c.exchanges.front().buffered.empty()) {
      c.out.append(c.exchanges.front().buffered);
      c.exchanges.front().buffered.clear();
      c.exchanges.front().buffered.shrink_to_fit();
      markDirty(c);
    }
  }
  updateReading(c);
  armTimer(c);
}

void HttpServer::updateReading(Conn& c) {
  if (c.closing) {
    return;
  }
  const bool want = !c.no_more_requests && c.exchanges.size() < options_.max_pipelined;
  if (want && !c.reading) {
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&c.tcp), &HttpServer::onUvAlloc, &HttpServer::onUvRead) == 0) {
      c.reading = true;
    }
  } else if (!want && c.reading) {
    // Still notice a peer that hangs up while it waits: keep reading, but stop
    // parsing (handleInput ignores input once no_more_requests is set). Only the
    // pipelining bound really stops reading.
    if (c.exchanges.size() >= options_.max_pipelined) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&c.tcp));
      c.reading = false;
    }
  }
}

void HttpServer::armTimer(Conn& c) {
  if (c.closing || c.lingering) {
    return;  // A lingering connection's timer ends it (startLinger).
  }
  const uint64_t now = uv_now(loop_);
  uint64_t due = 0;
  if (!c.no_more_requests && c.parser.midRequest()) {
    due = c.parser.headersDone() ? c.last_read_ms + options_.header_timeout_ms
                                 : c.request_started_ms + options_.header_timeout_ms;
  } else if (c.writing) {
    // An answer is going out: the peer must keep taking it. One that stops
    // reading holds neither the connection nor the answer for longer than this.
    due = c.last_output_ms + options_.write_stall_timeout_ms;
  } else if (c.no_more_requests) {
    // Nothing more is read: what is left is answering (never timed out) and
    // closing once the answers are out.
  } else if (c.exchanges.empty() && !c.authenticated && c.next_exchange == 1) {
    // Connected, nothing sent yet: its first headers are due as a request's are.
    due = c.last_read_ms + options_.header_timeout_ms;
  } else if (c.exchanges.empty() && !c.no_more_requests) {
    due = std::max(c.last_read_ms, c.last_output_ms) + options_.idle_timeout_ms;
  }
  if (due == 0) {
    c.timer.stop();
    return;
  }
  c.timer.start(due > now ? due - now : 0);
}

void HttpServer::onTimer(Conn& c) {
  if (c.lingering && !c.closing) {
    close(c);  // The client kept sending past kLingerMs; it has its answer.
    return;
  }
  if (c.closing) {
    return;
  }
  if (!c.no_more_requests && c.parser.midRequest()) {
    LOG_DEBUG("%s: connection %llu too slow sending its request; closing it", options_.name.c_str(),
              static_cast<unsigned long long>(c.id));
    fail(c, 408, "request_timeout", "request not received in time");
  } else if (c.writing) {
    // A write completes only once all of it is out: progress in between shows
    // as a shorter write queue.
    const size_t queued = uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c.tcp));
    if (queued < c.queued_at_check) {
      c.queued_at_check = queued;
      c.last_output_ms = uv_now(loop_);
      armTimer(c);
    } else if (uv_now(loop_) >= c.last_output_ms + options_.write_stall_timeout_ms) {
      LOG_DEBUG("%s: connection %llu took none of its answer for the write stall timeout; closing it",
                options_.name.c_str(), static_cast<unsigned long long>(c.id));
      close(c);
    } else {
      armTimer(c);  // The write moved since the timer was set.
    }
  } else if (!c.no_more_requests && c.exchanges.empty()) {
    close(c);  // Idle keep-alive connection.
  }
}

void HttpServer::markDirty(Conn& c) {
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(c.id);
  }
}

void HttpServer::flush() {
  std::vector<uint64_t> batch;
  batch.swap(dirty_);
  for (uint64_t id : batch) {
    if (Conn* c = find(id)) {
      c->dirty = false;
      writeOut(*c);
    }
  }
}

void HttpServer::writeOut(Conn& c) {
  if (c.closing || c.writing) {
    return;
  }
  const bool close_when_done = c.no_more_requests && c.exchanges.empty();
  if (c.out.empty()) {
    if (close_when_done) {
      c.linger ? startLinger(c) : close(c);
    }
    return;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&c.tcp);
  uv_buf_t buf = uv_buf_init(c.out.data(), static_cast<unsigned>(c.out.size()));
  const int n = uv_try_write(stream, &buf, 1);
  if (n == static_cast<int>(c.out.size())) {
    c.out.clear();
    wroteAll(c);
    if (close_when_done) {
      c.linger ? startLinger(c) : close(c);
    }
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    close(c);
    return;
  }
  const size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  auto* req = new WriteReq;
  req->req.data = &c;
  req->data.assign(c.out, written, std::string::npos);
  c.out.clear();
  c.inflight = req->data.size();
  c.writing = true;
  c.last_output_ms = uv_now(loop_);  // The peer has the idle timeout to take some of it.
  c.queued_at_check = uv_stream_get_write_queue_size(stream);
  armTimer(c);
  buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  if (uv_write(&req->req, stream, &buf, 1, &HttpServer::onUvWrite) != 0) {
    delete req;
    c.writing = false;
    c.inflight = 0;
    close(c);
  }
}

void HttpServer::onUvWrite(uv_write_t* req, int status) noexcept {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<Conn*>(req->data);
  delete w;
  c->writing = false;
  c->inflight = 0;
  if (c->closing) {
    return;
  }
  if (status < 0) {
    c->server->close(*c);
    return;
  }
  c->last_output_ms = uv_now(c->server->loop_);  // The peer took it all: progress.
  if (c->out.empty()) {
    c->server->wroteAll(*c);
  }
  c->server->writeOut(*c);
}

void HttpServer::wroteAll(Conn& c) {
  c.last_output_ms = uv_now(loop_);
  armTimer(c);
}

void HttpServer::startLinger(Conn& c) {
  if (c.lingering || c.closing) {
    return;
  }
  c.lingering = true;
  c.shutdown_req.data = &c;
  auto* stream = reinterpret_cast<uv_stream_t*>(&c.tcp);
  if (uv_shutdown(&c.shutdown_req, stream, &HttpServer::onUvShutdown) != 0) {
    close(c);
    return;
  }
  // Input is read and dropped (handleInput ignores it once no_more_requests is
  // set) until the client closes its side or the time is up.
  if (!c.reading && uv_read_start(stream, &HttpServer::onUvAlloc, &HttpServer::onUvRead) == 0) {
    c.reading = true;
  }
  c.timer.start(kLingerMs);
}

void HttpServer::onUvShutdown(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<Conn*>(req->data);
  if (status < 0 && status != UV_ECANCELED && !c->closing) {
    c->server->close(*c);
  }
}

void HttpServer::close(Conn& c) {
  if (c.closing) {
    return;
  }
  c.closing = true;
  --live_;
  if (!c.authenticated) {
    unauth_.erase(c.unauth_it);
  }
  buffered_total_ -= c.buffered;
  c.buffered = 0;
  c.timer.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), &HttpServer::onUvClose);
}

// Called when a connection's socket is closed: frees the connection.
void HttpServer::onUvClose(uv_handle_t* h) noexcept {
  auto* c = static_cast<Conn*>(h->data);
  HttpServer* self = c->server;
  const uint64_t id = c->id;
  self->conns_.erase(id);
  delete c;
  self->handler_->onClosed(id);
}

}  // namespace llmq::http
