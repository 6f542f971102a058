// FakeUpstream: runs tests/fake_upstream/fake_upstream.py, a fake OpenRouter that
// misbehaves on command (fault language in tests/fake_upstream/README.md),
// as a child process, and reads back what it recorded. HttpConnection is the tiny
// blocking HTTP/1.1 client (POSIX TCP, no libcurl) used for that and by the tests
// of the fake itself. Every wait is bounded; the destructor kills and reaps.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmq::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One HTTP response as far as it arrived. A response cut by the server (RST, FIN
// mid-body) or by the timeout has complete == false and whatever body was read.
struct HttpResponse {
  int status = 0;                              // 0 when no status line arrived.
  std::map<std::string, std::string> headers;  // Lower-case names; repeats joined by ", ".
  std::string body;                            // De-chunked.
  std::vector<std::string> chunks;             // Payloads of a chunked body, in order.
  bool complete = false;                       // The whole message arrived.
  bool eof = false;                            // The server closed the connection (FIN).
  int error = 0;                               // errno of a failed read or write, e.g. ECONNRESET.
  bool timed_out = false;

  // The header's value, or "" when absent; `name` is matched case-insensitively.
  std::string header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
};

// A blocking HTTP/1.1 client connection to 127.0.0.1. Not thread-safe; one per
// thread. Keeps the connection open between requests (keep-alive), so a test can
// send several requests on it, or stop reading mid-response and close() it.
class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection() { close(); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Connects to 127.0.0.1:port; false (errno in error()) on failure.
  bool connect(int port);
  // Writes one request. A Content-Length header is added for a body or a POST.
  bool sendRequest(std::string_view method, std::string_view path, std::string_view body = "",
                   const HttpHeaders& headers = {});
  // Reads exactly one response (bounded by timeout_ms); bytes after it stay buffered.
  HttpResponse readResponse(int timeout_ms = 10000);
  // sendRequest + readResponse.
  HttpResponse request(std::string_view method, std::string_view path, std::string_view body = "",
                       const HttpHeaders& headers = {}, int timeout_ms = 10000);
  // Reads until `needle` is among the raw bytes received (true), or EOF, an error
  // or the timeout (false). For tests that stop reading mid-stream.
  bool readUntil(std::string_view needle, int timeout_ms);
  // Raw bytes received and not yet consumed by readResponse().
  const std::string& raw() const { return buffer_; }

  void close();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  int error() const { return error_; }

 private:
  // One recv() into buffer_, waiting at most until deadline_ms; false on EOF/error/timeout.
  bool fill(int64_t deadline_ms, bool* timed_out);

  int fd_ = -1;
  int port_ = 0;
  int error_ = 0;
  bool eof_ = false;
  std::string buffer_;
};

// One request as the fake recorded it (GET /_fake/requests). Control requests
// (/_fake/*) are not recorded.
struct FakeRequest {
  int64_t id = 0;  // 1, 2, ... in arrival order (restarts after reset()).
  std::string method;
  std::string path;                            // As sent, with the prefix and query.
  std::map<std::string, std::string> headers;  // Lower-case names, Authorization included.
  std::string body;                            // Raw request body.
  double t = 0;                                // Arrival, CLOCK_MONOTONIC seconds (= steady_clock).
  double t_end = 0;                            // When the handler finished; 0 while in progress.
  int concurrency = 0;                         // Requests in progress at arrival, this one included.
  bool disconnected = false;                   // The client went away before the response ended.
  int status = 0;                              // Status sent; 0 when none was (hang, drop, ...).
  int64_t connection = 0;                      // Server-side connection number (keep-alive checks).
  std::string fault;                           // The fault spec that applied, "" for none.
  std::string model;
  bool stream = false;

  std::string header(const std::string& lower_name) const;
};

struct FakeStats {
  size_t total = 0;  // Recorded requests since start or reset().
  size_t peak_concurrency = 0;
  size_t disconnects = 0;
  size_t in_flight = 0;
  size_t connections = 0;   // TCP connections accepted since start or reset().
  size_t rate_limited = 0;  // 429s from setRateLimit()'s limiter.
};

struct FakeUpstreamOptions {
  std::string prefix = "/api/v1";
  std::vector<std::string> extra_args;  // e.g. {"--require-auth"}, {"--verbose"}, {"--record", f}.
  std::string script = LLMQ_FAKE_UPSTREAM_PY;
  std::string python = "python3";  // Looked up in PATH.
};

// The fake upstream process. Test thread only (the child gets SIGTERM if the
// thread that started it exits). Not restartable once stopped.
class FakeUpstream {
 public:
  explicit FakeUpstream(FakeUpstreamOptions options = {});
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Spawns the fake and waits (bounded) for its {"port": N} line.
  [[nodiscard]] ::testing::AssertionResult start(int timeout_ms = 10000);
  // SIGTERM, then SIGKILL after timeout_ms; succeeds if it exited with status 0.
  [[nodiscard]] ::testing::AssertionResult stop(int timeout_ms = 5000);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/api/v1": what OPENROUTER_BASE_URL should be.
  std::string baseUrl() const;
  // The prefixed path of an endpoint, e.g. path("/chat/completions").
  std::string path(std::string_view endpoint) const { return options_.prefix + std::string(endpoint); }

  // One request on a fresh connection. `target` is absolute (see path()).
  HttpResponse get(std::string_view target, const HttpHeaders& headers = {}, int timeout_ms = 10000);
  HttpResponse post(std::string_view target, std::string_view body, const HttpHeaders& headers = {},
                    int timeout_ms = 10000);

  // Records and counters; on failure they add a test failure and return empty values.
  std::vector<FakeRequest> requests();
  FakeStats stats();
  // Clears records, counters, fail-N state and the default fault.
  [[nodiscard]] ::testing::AssertionResult reset();
  // Sets the fault applied to chat completions that name none themselves, for the
  // next `times` of them (-1: until changed); "" clears it. With `get_route`
  // ("/models", "/key", "/generation") it is that GET route's default instead.
  [[nodiscard]] ::testing::AssertionResult setFault(const std::string& spec, int times = -1,
                                                    const std::string& get_route = "");
  // Each Authorization value may make `per_window` chat completions per sliding
  // `window_ms`; more get a key-level 429. 0 turns it off.
  [[nodiscard]] ::testing::AssertionResult setRateLimit(int per_window, int window_ms = 1000);

  // GET /models lists `extra` synthetic models after its own (fake/extra-000000 ...).
  [[nodiscard]] ::testing::AssertionResult setExtraModels(int extra);

  // Wait until at least n requests were recorded / n clients went away early.
  [[nodiscard]] ::testing::AssertionResult waitForRequests(size_t n, int timeout_ms);
  [[nodiscard]] ::testing::AssertionResult waitForDisconnects(size_t n, int timeout_ms);
  // Wait until no request is in progress. A client can have its whole response
  // a moment before the fake's handler finishes its bookkeeping (t_end, in_flight).
  [[nodiscard]] ::testing::AssertionResult waitForIdle(int timeout_ms);

 private:
  bool fetchStats(FakeStats* out, std::string* error);
  // Polls stats until `done` holds; `what` names the wait in the failure message.
  template <class Pred>
  ::testing::AssertionResult waitForStats(Pred done, const char* what, int timeout_ms);

  FakeUpstreamOptions options_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace llmq::testing
