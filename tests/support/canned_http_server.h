// CannedHttpServer: a minimal HTTP/1.1 server on a LoopTest's own loop, for unit
// tests of the daemon's small HTTP clients (upstream::HttpGet, the model
// catalog's fetch) without a process or a thread: it binds 127.0.0.1:0, reads
// each request's head, records it, and answers every request with the one canned
// response, then closes the connection. A request's body is not read (curl's
// small POST bodies arrive with the head and are ignored). A test may add
// headers to the answer (extra_headers) and hold answers until release().
//
// Loop thread only. close() before the loop is closed; every handle is freed in
// its close callback. Header-only.
#pragma once

#include <uv.h>

#include <cstring>
#include <string>
#include <vector>

namespace llmq::testing {

class CannedHttpServer {
 public:
  explicit CannedHttpServer(uv_loop_t* loop) : loop_(loop) {}
  ~CannedHttpServer() { close(); }
  CannedHttpServer(const CannedHttpServer&) = delete;
  CannedHttpServer& operator=(const CannedHttpServer&) = delete;

  // Binds 127.0.0.1 on an ephemeral port and listens; false on failure.
  bool start() {
    server_ = new uv_tcp_t{};
    if (uv_tcp_init(loop_, server_) != 0) {
      delete server_;
      server_ = nullptr;
      return false;
    }
    server_->data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_bind(server_, reinterpret_cast<const sockaddr*>(&addr), 0) != 0 ||
        uv_listen(reinterpret_cast<uv_stream_t*>(server_), 128, &CannedHttpServer::onUvConnection) != 0) {
      return false;
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(server_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return true;
  }

  // What every request gets from now on.
  // `extra_headers` are complete "Name: value\r\n" lines.
  void respond(int status, std::string body, std::string content_type = "application/json",
               std::string extra_headers = "") {
    status_ = status;
    body_ = std::move(body);
    content_type_ = std::move(content_type);
    extra_headers_ = std::move(extra_headers);
  }
  // From now on requests are recorded but not answered until release().
  void hold() { hold_ = true; }
  // Answers every held request, and later ones at once.
  void release() {
    hold_ = false;
    std::vector<Conn*> held;
    held.swap(held_);
    for (Conn* c : held) {
      answer(c);
    }
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  // The head (request line and headers) of each request answered so far.
  const std::vector<std::string>& requests() const { return requests_; }

  void close() {
    if (server_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(server_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      server_ = nullptr;
    }
    for (Conn* c : conns_) {
      closeConn(c);
    }
    conns_.clear();
    held_.clear();
  }

 private:
  struct Conn {
    uv_tcp_t tcp;
    CannedHttpServer* owner;
    std::string in;
    std::string out;
    uv_write_t write;
    bool answered = false;
    bool closing = false;
  };

  // Called by libuv when a client connects.
  static void onUvConnection(uv_stream_t* server, int status) noexcept {
    auto* self = static_cast<CannedHttpServer*>(server->data);
    if (status < 0) {
      return;
    }
    auto* c = new Conn{};
    c->owner = self;
    uv_tcp_init(self->loop_, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
      closeConn(c);
      return;
    }
    self->conns_.push_back(c);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
          buf->base = new char[suggested];
          buf->len = suggested;
        },
        &CannedHttpServer::onUvRead);
  }

  // Called by libuv with request bytes (or EOF/error).
  static void onUvRead(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) noexcept {
    auto* c = static_cast<Conn*>(stream->data);
    if (n > 0) {
      c->in.append(buf->base, static_cast<size_t>(n));
    }
    delete[] buf->base;
    if (n < 0) {
      c->owner->forget(c);
      closeConn(c);
      return;
    }
    const size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos || !c->out.empty()) {
      return;
    }
    CannedHttpServer* self = c->owner;
    if (c->answered) {
      return;
    }
    c->answered = true;
    self->requests_.push_back(c->in.substr(0, end));
    if (self->hold_) {
      self->held_.push_back(c);  // Still reading: a client that goes away is noticed.
      return;
    }
    self->answer(c);
  }

  void answer(Conn* c) {
    auto* stream = reinterpret_cast<uv_stream_t*>(&c->tcp);
    uv_read_stop(stream);
    c->out = "HTTP/1.1 " + std::to_string(status_) + " Canned\r\nContent-Type: " + content_type_ +
             "\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n" + extra_headers_ +
             "Connection: close\r\n\r\n" + body_;
    uv_buf_t out = uv_buf_init(c->out.data(), static_cast<unsigned>(c->out.size()));
    c->write.data = c;
    uv_write(&c->write, stream, &out, 1, [](uv_write_t* w, int) {
      auto* conn = static_cast<Conn*>(w->data);
      conn->owner->forget(conn);
      closeConn(conn);
    });
  }

  void forget(Conn* c) {
    std::erase(held_, c);
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
      if (*it == c) {
        conns_.erase(it);
        return;
      }
    }
  }

  static void closeConn(Conn* c) {
    if (c->closing) {
      return;
    }
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
  }

  uv_loop_t* loop_;
  uv_tcp_t* server_ = nullptr;
  int port_ = 0;
  int status_ = 200;
  std::string body_;
  std::string content_type_ = "application/json";
  std::string extra_headers_;
  bool hold_ = false;
  std::vector<Conn*> held_;  // Requests not answered until release().
  std::vector<Conn*> conns_;
  std::vector<std::string> requests_;
};

}  // namespace llmq::testing
