// MetricsServer: the /metrics route and the fixed bounds of its HttpServer.
#include "daemon/api/metrics_server.h"

#include <string_view>

#include "common/log.h"
#include "daemon/api/metrics_page.h"
#include "daemon/engine.h"

namespace llmq::daemon {

http::HttpServerOptions MetricsServer::options(uint64_t timeout_ms) {
  http::HttpServerOptions o;
  o.name = "metrics listener";
  o.settings.clear();  // Its bounds are fixed: no setting to name.
  o.limits.max_header_bytes = kMaxRequestBytes;
  o.limits.max_body_bytes = kMaxRequestBytes;  // A scrape has none; a small one is read and ignored.
  o.header_timeout_ms = timeout_ms;
  o.idle_timeout_ms = timeout_ms;
  o.write_stall_timeout_ms = timeout_ms;
  o.max_connections = kMaxConnections;
  o.evict_unauthenticated = false;
  o.max_pending_output_bytes = kMaxPendingBytes;
  o.backlog = 16;
  return o;
}

MetricsServer::MetricsServer(const Engine& engine, uint64_t timeout_ms)
    : s_(engine), http_(engine.loop, this, options(timeout_ms)) {}

Result<int> MetricsServer::listen(const std::string& host, int port) {
  auto bound = http_.listen(host, port);
  if (!bound) {
    return bound.takeError();
  }
  const bool v6 = host.find(':') != std::string::npos;
  LOG_NOTICE("metrics on http://%s%s%s:%d/metrics", v6 ? "[" : "", host.c_str(), v6 ? "]" : "", *bound);
  return *bound;
}

void MetricsServer::close() {
  http_.stopListening();
  http_.closeAll();
}

void MetricsServer::onRequest(uint64_t conn_id, uint64_t exchange, http::HttpRequest&& request) {
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  if (request.path != "/metrics") {
    http_.respond(conn_id, exchange, 404, kText, {}, "not found: try GET /metrics\n");
  } else if (request.method != "GET" && request.method != "HEAD") {
    http_.respond(conn_id, exchange, 405, kText, "Allow: GET, HEAD\r\n", "/metrics takes GET or HEAD\n");
  } else {
    http_.respond(conn_id, exchange, 200, "text/plain; version=0.0.4; charset=utf-8", {}, metricsPage(s_));
  }
}

}  // namespace llmq::daemon
