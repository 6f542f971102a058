// http::HttpServer: HTTP/1.1 on a loopback TCP port, on the daemon's libuv loop,
// for the OpenAI-compatible front (daemon/api/http_front.h) and the metrics
// listener (daemon/api/metrics_server.h), one instance each. It owns
// connections, parsing (HttpRequestParser), timeouts and output; what a request
// means is the handler's business.
//
// - Keep-alive and pipelining: requests on one connection are numbered
//   (exchanges) and answered in that order, whenever each answer is ready; an
//   answer that is ready early waits in its exchange's buffer.
// - Streams: an exchange may answer with a chunked body written piece by piece
//   (SSE); exchanges behind it wait until it ends.
// - Slowloris: a request's headers must arrive within header_timeout_ms of its
//   first byte, and a body must keep moving; an idle keep-alive connection closes
//   after idle_timeout_ms, counted from its last request or the end of its last
//   answer's write. A connection waiting for an answer never times out; one
//   whose peer takes none of an answer being written for write_stall_timeout_ms
//   is closed (a reader that stops reading holds no slot and no answer for ever).
// - Limits: oversize headers get 431, an oversize body 413 (before it is read
//   when Content-Length says so), malformed input 400; each closes the connection.
// - Output is bounded: a peer whose unread output would pass
//   max_pending_output_bytes is cut off at once (one whole non-streamed answer
//   larger than that still goes out when nothing else is waiting to, so a
//   client that pipelines requests without reading the answers is cut off too).
// - A refusal while the client may still be sending its body (413, a request
//   refused at its headers, the buffered-bytes bound) half-closes and drains for
//   up to kLingerMs, so the client reads it instead of a reset.
// - A peer that goes away (EOF or error) is closed at once, answers or not; the
//   handler hears it in onClosed and drops (or cancels) what it was doing.
//
// Loop thread only. Call closeAll() and let the loop run until the close
// callbacks have fired before destroying the server.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/descriptors.h"
#include "common/result.h"
#include "common/uv_handle.h"
#include "common/uv_timer.h"
#include "http/request_parser.h"

namespace llmq::http {

struct HttpServerOptions {
  // Names the server in the log and in error messages ("HTTP front: ...").
  std::string name = "HTTP front";
  // The configuration section of its settings, which error messages and the log
  // name ("[api] max_body_bytes"); empty when its bounds are fixed.
  std::string settings = "[api]";
  HttpLimits limits;
  uint64_t header_timeout_ms = 10'000;
  uint64_t idle_timeout_ms = 60'000;
  // A peer that takes none of an answer being written for this long is closed.
  uint64_t write_stall_timeout_ms = 60'000;
  size_t max_pending_output_bytes = 8u << 20;
  size_t max_pipelined = 64;  // Unanswered requests per connection before reading pauses.
  // At max_connections, a new connection evicts the oldest one that has not yet
  // sent a request the handler authenticated and has none unanswered; if there
  // is none, the new one gets 503 and is closed. So idle connections without a
  // token never lock out one that has it.
  size_t max_connections = 4096;
  // False for a server without credentials, where no connection is worth more
  // than another: at max_connections the new one gets 503, none is evicted.
  bool evict_unauthenticated = true;
  // Bytes of unfinished requests (headers, bodies so far) over all connections;
  // a connection whose bytes would pass it gets 503 and is closed.
  size_t max_buffered_request_bytes = 64u << 20;
  int backlog = 1024;
};

// What the handler decides once a request's headers are complete, before its
// body is read: go on (authenticated or not), or answer now and close.
struct HttpHeadVerdict {
  bool authenticated = false;  // The request carries valid credentials.
  int status = 0;              // Non-zero: refuse with this status and body.
  std::string body;            // JSON.
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // A complete request; answer it later (or now) through respond()/startStream()
  // with the same (conn_id, exchange). The connection may not be closed from here.
  virtual void onRequest(uint64_t conn_id, uint64_t exchange, HttpRequest&& request) = 0;
  // A request's headers (no body yet); must not answer or close anything.
  virtual HttpHeadVerdict onHeaders(uint64_t /*conn_id*/, const HttpRequest& /*head*/) { return {}; }
  // A connection is gone, with whatever exchanges were unanswered; from its close
  // callback, a safe point in the loop.
  virtual void onClosed(uint64_t conn_id) = 0;
};

class HttpServer {
 public:
  HttpServer(uv_loop_t* loop, HttpHandler* handler, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Listens on host:port; returns the port bound (port 0 picks one).
  Result<int> listen(const std::string& host, int port);
  void stopListening();
  void closeAll();

  // A whole response. `extra_headers` are complete "Name: value\r\n" lines.
  void respond(uint64_t conn_id, uint64_t exchange, int status, std::string_view content_type,
               std::string_view extra_headers, std::string_view body);
  // A chunked response written piece by piece, ended by endStream().
  void startStream(uint64_t conn_id, uint64_t exchange, int status, std::string_view content_type,
                   std::string_view extra_headers);
  void streamWrite(uint64_t conn_id, uint64_t exchange, std::string_view data);
  void endStream(uint64_t conn_id, uint64_t exchange);

  // Starts writes for every connection with output queued this turn.
  void flush();

  size_t connectionCount() const { return conns_.size(); }
  // Bytes of unfinished requests buffered over all connections.
  size_t bufferedRequestBytes() const { return buffered_total_; }
  bool listening() const { return listener_ != nullptr; }
  static const char* reason(int status);

 private:
  struct Exchange {
    uint64_t id;
    std::string buffered;  // Output waiting for the exchanges ahead of it.
    bool done = false;
    bool close_after = false;  // The request asked for Connection: close, or failed.
    bool head = false;         // A HEAD request: its answer has a head and no body.
    // An HTTP/1.0 request, which knows no chunked encoding: a stream's body goes
    // out as it is and the connection closes at its end.
    bool http10 = false;
  };
  // How long a refused connection is drained before it closes (Conn::linger).
  static constexpr uint64_t kLingerMs = 5000;

  struct Conn {
    HttpServer* server;
    uint64_t id;
    uv_tcp_t tcp{};
    UvTimer timer;  // The connection's deadline: armTimer says which one applies.
    HttpRequestParser parser;
    std::deque<Exchange> exchanges;  // Unanswered, in request order.
    uint64_t next_exchange = 1;
    std::string out;      // Not yet handed to libuv.
    size_t inflight = 0;  // Bytes in the uv_write in progress.
    bool writing = false;
    bool dirty = false;
    bool closing = false;
    bool reading = false;
    bool no_more_requests = false;  // After Connection: close or a parse error.
    uint64_t request_started_ms = 0;
    uint64_t last_read_ms = 0;
    // When an answer was last completed or finished going out: a keep-alive
    // connection is idle from the later of this and last_read_ms.
    uint64_t last_output_ms = 0;
    size_t queued_at_check = 0;            // The write queue when the peer last took some.
    bool authenticated = false;            // Sent a request with valid credentials.
    std::list<Conn*>::iterator unauth_it;  // In HttpServer::unauth_ while !authenticated.
    size_t buffered = 0;                   // As counted in buffered_total_.
    HttpHeadVerdict refusal;               // Why the head check refused (kRefused).
    // Refused while its client may still be sending a body: once the answer is
    // out, half-close and read (discarding) for up to kLingerMs before closing,
    // so that closing with unread bytes does not reset the connection and take
    // the answer with it (the client would see ECONNRESET and retry).
    bool linger = false;
    bool lingering = false;
    uv_shutdown_t shutdown_req{};
    Conn(HttpServer* s, uint64_t i, HttpLimits l) : server(s), id(i), parser(l) {}
  };

  static void onUvConnection(uv_stream_t* listener, int status) noexcept;
  // Takes the connection libuv accepted on `listener` (or notes why it failed).
  void acceptConnection(uv_stream_t* listener, int status);
  static void onUvAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onUvWrite(uv_write_t* req, int status) noexcept;
  static void onUvClose(uv_handle_t* h) noexcept;

  void handleInput(Conn& c, std::string_view bytes);
  // Answers `status` with an error body (`code` its OpenAI-style code) and takes
  // no more requests; `linger` as in Conn::linger.
  void fail(Conn& c, int status, std::string_view code, std::string_view message, bool linger = false);
  void failWith(Conn& c, int status, const std::string& body, bool linger = false);
  // The answer is out: half-close, drain for at most kLingerMs, then close.
  void startLinger(Conn& c);
  static void onUvShutdown(uv_shutdown_t* req, int status) noexcept;
  bool checkHead(Conn& c, const HttpRequest& head);
  // At max_connections: closes the oldest unauthenticated idle connection other
  // than `newcomer` (which is in unauth_ too, and idle).
  bool evictOne(const Conn& newcomer);
  // Logs a refusal at max_connections, at most once every 10 s with the count.
  void noteFull();
  // " ([api] max_body_bytes)" for the setting `key`, or "" when there are no settings.
  std::string settingName(const char* key) const;
  // Answers 503 straight into the socket (best effort) and closes.
  void refuseNow(Conn& c, std::string_view why);
  static Exchange* findExchange(Conn& c, uint64_t exchange);
  // Output for `e`: straight out if it is at the head, else into its buffer.
  void emit(Conn& c, Exchange& e, std::string_view data, bool whole = false);
  void complete(Conn& c, uint64_t exchange);
  void updateReading(Conn& c);
  void armTimer(Conn& c);
  // The deadline armTimer set has come: time out, close or look again.
  void onTimer(Conn& c);
  void writeOut(Conn& c);
  // Everything queued has gone out: the idle time starts again.
  void wroteAll(Conn& c);
  void close(Conn& c);
  void markDirty(Conn& c);
  Conn* find(uint64_t conn_id);

  uv_loop_t* loop_;
  HttpHandler* handler_;
  HttpServerOptions options_;
  DescriptorRefusals descriptor_refusals_;
  uint64_t full_refused_ = 0;    // Refused at max_connections since the last log line.
  uint64_t full_logged_ms_ = 0;  // When that line was written.
  UvHandlePtr<uv_tcp_t> listener_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Conn*> conns_;
  size_t live_ = 0;          // Connections not closing.
  std::list<Conn*> unauth_;  // Live, not authenticated, oldest first.
  size_t buffered_total_ = 0;
  std::vector<uint64_t> dirty_;
  char read_buf_[64 * 1024];
};

}  // namespace llmq::http
