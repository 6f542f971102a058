// daemon::MetricsServer: Prometheus's scrape endpoint on a loopback TCP port,
// off unless `[metrics] listen = "127.0.0.1:9464"`. A route on an
// http::HttpServer of its own, apart from the HTTP front's (it needs no token,
// and a scraper must not compete with API clients for connections): GET and
// HEAD /metrics answer the page of daemon/api/metrics_page.h, any other method
// on /metrics 405, any other path 404.
//
// The server brings keep-alive, pipelining, the slowloris timeouts and the
// bounds on heads, bodies and unread output (http/server.h); here they are
// fixed (docs/operations.md "Bounds", "The metrics listener"): at most
// kMaxConnections connections (one more gets 503 and is closed; none is
// evicted, since none has credentials), kTimeoutMs for a request's head, a
// body's next bytes, an idle connection and an answer nobody reads, a head and
// a body of at most kMaxRequestBytes each (431, 413), and at most
// kMaxPendingBytes of answers unread per connection (one page larger than that
// still goes out alone). Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "http/server.h"

namespace llmq::daemon {

struct Engine;

class MetricsServer final : public http::HttpHandler {
 public:
  static constexpr size_t kMaxConnections = 8;
  static constexpr uint64_t kTimeoutMs = 10'000;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr size_t kMaxPendingBytes = 1u << 20;

  // `timeout_ms` is kTimeoutMs but in tests, which shorten it.
  explicit MetricsServer(const Engine& engine, uint64_t timeout_ms = kTimeoutMs);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `host:port` (a loopback address). Returns the port bound (useful
  // with port 0 in tests).
  Result<int> listen(const std::string& host, int port);
  // Starts writing the answers made this turn; the Daemon calls it at the end
  // of every turn, as it does the front's.
  void flush() { http_.flush(); }
  // Stops listening and closes every connection; the loop must then run for
  // their close callbacks before this is destroyed.
  void close();
  size_t connectionCount() const { return http_.connectionCount(); }

  void onRequest(uint64_t conn_id, uint64_t exchange, http::HttpRequest&& request) override;
  void onClosed(uint64_t /*conn_id*/) override {}

 private:
  static http::HttpServerOptions options(uint64_t timeout_ms);

  const Engine& s_;
  http::HttpServer http_;
};

}  // namespace llmq::daemon
