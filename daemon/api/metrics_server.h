// daemon::MetricsServer: Prometheus's scrape endpoint on a
// loopback TCP port, off unless `[metrics] listen = "127.0.0.1:9464"`. It answers
// `GET /metrics` with Metrics::render() and anything else with 404, one request
// per connection (Connection: close). Bounds (docs/operations.md "Bounds"): at
// most kMaxConnections scrapes at once (one more gets 503 and is closed), each
// over within kTimeoutMs of connecting (a client that sends nothing, or does not
// read its answer, is closed then), a request head of at most kMaxRequestBytes
// (431, close), and so at most kMaxConnections answers held for writing. Loop
// thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "common/uv_handle.h"

namespace llmq::daemon {

struct Engine;

class MetricsServer {
 public:
  static constexpr size_t kMaxConnections = 8;
  static constexpr uint64_t kTimeoutMs = 10'000;
  static constexpr size_t kMaxRequestBytes = 8192;

  explicit MetricsServer(const Engine& engine);
  ~MetricsServer();

  // Listens on `host:port` (a loopback address). Returns the port bound (useful
  // with port 0 in tests).
  Result<int> listen(const std::string& host, int port);
  void close();

 private:
  struct Client;
  static void onUvConnection(uv_stream_t* server, int status) noexcept;
  static void onUvAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onUvRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onUvWritten(uv_write_t* req, int status) noexcept;
  static void onUvTimeout(uv_timer_t* t) noexcept;
  void answer(Client& c);
  // A short error answer written now (the socket is fresh or idle), then close.
  void refuse(Client& c, int status, const char* reason, const std::string& body);
  void drop(Client* c);

  const Engine& s_;
  size_t live_ = 0;  // Clients not closing.
  uint64_t refused_ = 0;
  uint64_t refused_logged_ms_ = 0;
  UvHandlePtr<uv_tcp_t> listener_;
  std::unordered_map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace llmq::daemon
