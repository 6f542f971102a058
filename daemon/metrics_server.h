// daemon::MetricsServer: Prometheus's scrape endpoint (the production issue) on a
// loopback TCP port, off unless `[metrics] listen = "127.0.0.1:9464"`. It answers
// `GET /metrics` with Metrics::render() and anything else with 404, one request
// per connection (Connection: close), and drops a client that sends more than a
// request header's worth or dawdles. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "common/uv_handle.h"

namespace llmq::daemon {

struct Services;
class Metrics;

class MetricsServer {
 public:
  MetricsServer(Services& services, const Metrics& metrics);
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
  void drop(Client* c);

  Services& s_;
  const Metrics& metrics_;
  UvHandlePtr<uv_tcp_t> listener_;
  std::unordered_map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace llmq::daemon
