// MetricsServer: accept, read one request head, write the answer, close.
#include "daemon/api/metrics_server.h"

#include <cstring>

#include "common/descriptors.h"
#include "common/log.h"
#include "daemon/api/metrics_page.h"
#include "daemon/engine.h"
#include "daemon/turn/metrics.h"

namespace llmq::daemon {
namespace {}  // namespace

struct MetricsServer::Client {
  MetricsServer* server = nullptr;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_write_t write{};
  std::string in;
  std::string out;
  char buf[1024];
  int open_handles = 0;  // The tcp and the timer; freed when both have closed.
  bool closing = false;
};

MetricsServer::MetricsServer(const Engine& engine) : s_(engine) {}

MetricsServer::~MetricsServer() = default;

Result<int> MetricsServer::listen(const std::string& host, int port) {
  listener_ = makeUvHandle<uv_tcp_t>(s_.loop, this, uv_tcp_init);
  if (!listener_) {
    return makeError(ErrorKind::kIo, "creating the metrics listener failed");
  }
  sockaddr_storage addr{};
  int rc = host.find(':') != std::string::npos
               ? uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc == 0) {
    rc = uv_tcp_bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
  }
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 16, &MetricsServer::onUvConnection);
  }
  if (rc != 0) {
    listener_.reset();
    return makeError(ErrorKind::kIo, "metrics on " + host + ":" + std::to_string(port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  const int actual = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                       : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  LOG_NOTICE("metrics on http://%s:%d/metrics", host.c_str(), actual);
  return actual;
}

void MetricsServer::close() {
  listener_.reset();
  std::vector<Client*> all;
  for (auto& [p, c] : clients_) {
    all.push_back(p);
  }
  for (Client* c : all) {
    drop(c);
  }
}

// Called by libuv when a scraper connects.
void MetricsServer::onUvConnection(uv_stream_t* server, int status) noexcept {
  auto* self = static_cast<MetricsServer*>(server->data);
  if (status < 0) {
    return;
  }
  auto owned = std::make_unique<Client>();
  Client* c = owned.get();
  c->server = self;
  uv_tcp_init(self->s_.loop, &c->tcp);
  uv_timer_init(self->s_.loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->open_handles = 2;
  self->clients_.emplace(c, std::move(owned));
  ++self->live_;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    self->drop(c);
    return;
  }
  const char* refusal = nullptr;
  std::string why;
  if (uv_os_fd_t fd; uv_fileno(reinterpret_cast<uv_handle_t*>(&c->tcp), &fd) == 0 && descriptorsLow(fd)) {
    refusal = "out of file descriptors";
    why = descriptorsLowReason();
    drainReadable(fd);
  } else if (self->live_ > kMaxConnections) {
    refusal = "too many scrapes at once";
    why = std::to_string(self->live_ - 1) + " scrapes in progress (at most " + std::to_string(kMaxConnections) +
          "); try again later";
  }
  if (refusal != nullptr) {
    ++self->refused_;
    const uint64_t now = uv_now(self->s_.loop);
    if (self->refused_logged_ms_ == 0 || now - self->refused_logged_ms_ >= 10'000) {
      LOG_WARN("metrics: refusing connections (%llu since the last report): %s",
               static_cast<unsigned long long>(self->refused_), refusal);
      self->refused_logged_ms_ = now;
      self->refused_ = 0;
    }
    // Written and closed now, so the descriptor is free before the next accept.
    self->refuse(*c, 503, "Service Unavailable", why + "\n");
    return;
  }
  uv_timer_start(&c->timer, &MetricsServer::onUvTimeout, kTimeoutMs, 0);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &MetricsServer::onUvAlloc, &MetricsServer::onUvRead);
}

void MetricsServer::onUvAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<Client*>(h->data);
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

// Called by libuv with request bytes; answers once the head is complete.
void MetricsServer::onUvRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Client*>(stream->data);
  if (nread < 0) {
    c->server->drop(c);
    return;
  }
  c->in.append(buf->base, static_cast<size_t>(nread));
  if (c->in.find("\r\n\r\n") != std::string::npos || c->in.find("\n\n") != std::string::npos) {
    uv_read_stop(stream);
    c->server->answer(*c);
  } else if (c->in.size() > kMaxRequestBytes) {
    uv_read_stop(stream);
    c->server->refuse(*c, 431, "Request Header Fields Too Large",
                      "a request head longer than " + std::to_string(kMaxRequestBytes) + " bytes\n");
  }
}

void MetricsServer::answer(Client& c) {
  const bool metrics = c.in.rfind("GET /metrics ", 0) == 0 || c.in.rfind("GET /metrics?", 0) == 0;
  std::string body = metrics ? metricsPage(s_) : "not found: try GET /metrics\n";
  c.out = std::string(metrics ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n") +
          (metrics ? "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   : "Content-Type: text/plain; charset=utf-8\r\n") +
          "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  uv_buf_t b = uv_buf_init(c.out.data(), static_cast<unsigned>(c.out.size()));
  c.write.data = &c;
  if (uv_write(&c.write, reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1, &MetricsServer::onUvWritten) != 0) {
    drop(&c);
  }
}

void MetricsServer::refuse(Client& c, int status, const char* reason, const std::string& body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  uv_buf_t b = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
  uv_try_write(reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1);  // Best effort; small.
  drop(&c);
}

// Called by libuv when the answer has been written (or failed): close.
void MetricsServer::onUvWritten(uv_write_t* req, int) noexcept {
  auto* c = static_cast<Client*>(req->data);
  c->server->drop(c);
}

// Called by libuv when a scrape is not over within timeout_ms: no request yet, or
// an answer the client does not read.
void MetricsServer::onUvTimeout(uv_timer_t* t) noexcept {
  auto* c = static_cast<Client*>(t->data);
  c->server->drop(c);
}

void MetricsServer::drop(Client* c) {
  if (c->closing) {
    return;
  }
  c->closing = true;
  --live_;
  auto closed = [](uv_handle_t* h) {
    auto* client = static_cast<Client*>(h->data);
    if (--client->open_handles == 0) {
      client->server->clients_.erase(client);  // Frees it.
    }
  };
  uv_timer_stop(&c->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), closed);
}

}  // namespace llmq::daemon
