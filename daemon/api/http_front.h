// daemon::HttpFront: the OpenAI-compatible HTTP API on the daemon's
// loop. Point any OpenAI SDK at http://127.0.0.1:PORT/v1 and its requests
// become jobs in the one queue, with priority, rate limits, budgets, retries
// and the ledger.
//
// It is a translator, not a second implementation: each HTTP connection is an
// in-process connection of the IPC server (ipc::Server::openLocal), and each
// request becomes the same submit a socket client makes: a typed
// ipc::SubmitParams, checked by the rules of job.submit's params and admitted by
// the same code (daemon/api/job_admission.h), without JSON-RPC text. So every
// rule of ipc/PROTOCOL.md and docs/upstream.md applies unchanged. The answers
// come back as the JSON-RPC answers a socket client would read; the events of
// its streams as values (an EventSink on the bus, daemon/turn/event_bus.h), a
// streamed piece without any JSON between the upstream and the chunk written
// here. This class turns both into OpenAI's shapes (daemon/api/openai_format.h).
//
//   POST /v1/chat/completions  job.submit; non-streaming: `wait`, the answer is
//                              the job's result; streaming: `subscribe`, events
//                              become chat.completion.chunk SSE, then [DONE].
//   POST /v1/embeddings        job.submit of kind "embedding", with `wait`; the
//                              answer is the job's result (an embeddings list).
//   POST /v1/responses         translated to chat completions
//                              (daemon/jobs/responses_format.h)
//   GET  /v1/models            models.list
//   GET  /healthz              no token needed
//   GET  /metrics              Prometheus text (daemon/turn/metrics.h)
//
// Auth: `Authorization: Bearer <token>` (daemon/api/api_token.h); else 401.
// Extensions: X-OpenRouter-Key (BYOK), X-Llmq-Priority, X-Llmq-Client,
// X-Llmq-Tags (comma-separated), Idempotency-Key, X-Llmq-Detach: true (keep the
// job when the client disconnects; by default a client that goes away cancels
// its job, unless it sent an Idempotency-Key: it will retry). Header values that
// become JSON strings must be UTF-8 (else 400). Answers carry X-Llmq-Job-Id.
//
// HTTP clients act as the daemon's own user (they hold its token): their jobs
// are labelled with X-Llmq-Client, or "http".
//
// Loop thread only. Owned by the Daemon.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/job_kind.h"
#include "common/json.h"
#include "common/result.h"
#include "common/string_map.h"
#include "common/uv_handle.h"
#include "common/uv_timer.h"
#include "daemon/api/openai_format.h"
#include "daemon/api/recent_failures.h"
#include "daemon/api/responses_stream.h"
#include "daemon/turn/event_bus.h"
#include "http/server.h"
#include "ipc/peer.h"
#include "ipc/protocol.h"
#include "ipc/server.h"

namespace llmq::daemon {

struct Engine;

struct HttpFrontOptions {
  http::HttpServerOptions http;
  std::string token;
  int64_t retry_memory_ms = 0;            // [api] retry_memory_s (daemon/api/recent_failures.h).
  int64_t stream_head_after_ms = 10'000;  // [api] stream_head_after_s
  int64_t keepalive_ms = 15'000;          // [api] keepalive_s
};

class HttpFront final : public http::HttpHandler, public ipc::LocalPeer, public EventSink {
 public:
  HttpFront(Engine& engine, HttpFrontOptions options);
  ~HttpFront() override;
  HttpFront(const HttpFront&) = delete;
  HttpFront& operator=(const HttpFront&) = delete;

  Result<int> listen(const std::string& host, int port);
  // Shutdown begins: no new connections; open ones still get their answers.
  void stopListening() { http_.stopListening(); }
  // Stops accepting and closes every connection (their jobs are cancelled unless
  // detached, like any disconnect). Let the loop run to finish the closes.
  void close();
  // Writes what this turn produced; after ipc::Server::flush().
  void flush();
  size_t connectionCount() const { return http_.connectionCount(); }

  // http::HttpHandler
  void onRequest(uint64_t conn_id, uint64_t exchange, http::HttpRequest&& request) override;
  // The token is checked here, before a body is read: without it, 401 and close.
  http::HttpHeadVerdict onHeaders(uint64_t conn_id, const http::HttpRequest& head) override;
  void onClosed(uint64_t conn_id) override;
  // ipc::LocalPeer: JSON-RPC answers for an HTTP connection.
  void onOutput(uint64_t rpc_conn, std::string_view bytes) override;
  // EventSink: the events of the streams' subscriptions, as values.
  void onEvent(const BusEvent& event) override;

 private:
  enum class Kind { kComplete, kStream, kModels, kModel, kReplay, kPrevious };
  // One HTTP request waiting for its JSON-RPC answer or its job's events.
  struct Pending {
    Kind kind;
    uint64_t http_conn;
    uint64_t exchange;
    std::string job_id;
    uint64_t subscription = 0;  // A stream's, from job.submit's answer; 0: none.
    std::string chunk_id;       // "chatcmpl-<job_id>", the id of every chunk of a stream.
    std::string model;          // As requested; then the model that answers.
    bool include_usage = false;
    bool head_sent = false;  // SSE headers are out (only once there is content).
    bool content_sent = false;
    std::vector<int> choices;  // The choice indices streamed so far (each got its role).
    std::string usage_json;    // From the usage event, for include_usage.
    int64_t created = 0;
    // The request's identity for RecentFailures; unset when it is not kept
    // (an Idempotency-Key request, or the memory is off).
    std::optional<RecentFailures::Digest> digest;
    std::string request_id;     // X-Request-Id of every answer to it.
    int64_t since_ms = 0;       // Monotonic: when it was submitted...
    int64_t last_write_ms = 0;  // ... and when its stream last sent something.
    // A Responses API call (POST /v1/responses): answered with the job's Response
    // object, or its events (daemon/api/responses_stream.h).
    bool responses = false;
    std::unique_ptr<responses::EventStream> events;
    // kPrevious: the request that waits for its previous response's job.
    std::optional<http::HttpRequest> held;
  };
  struct Conn {
    uint64_t rpc_conn = 0;
    std::vector<uint64_t> requests;  // Ids of its Pending entries.
  };

  void route(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request);
  // POST /v1/chat/completions. With kind kEmbedding, POST /v1/embeddings; with
  // kind kResponses, a Responses request (r.body, its previous response's items
  // already in its input) whose answer is a Response: the same job.submit of
  // another kind. `request_id` is the answers' X-Request-Id, worked out once by
  // route().
  void chatCompletions(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request,
                       const std::string& request_id, JobKind kind = JobKind::kChat);
  // What identifies a request for the failure memory (daemon/api/recent_failures.h).
  static RecentFailures::Digest failureDigest(const http::HttpRequest& r, JobKind kind);
  // The submit an HTTP request becomes, typed: its parsed body as the request,
  // and what its headers ask. False when X-Llmq-Priority is not a valid priority.
  static bool submitParams(const http::HttpRequest& r, const std::string& request_id, JobKind kind, bool streaming,
                           ipc::SubmitParams* out);
  // Admits `params` through the admission code job.submit uses
  // (daemon/api/job_admission.h) on the connection's in-process RPC connection;
  // its answer comes back to onResponse like a JSON-RPC call's.
  void submit(uint64_t conn_id, const ipc::SubmitParams& params, Pending pending);
  // The connection's in-process RPC connection, opened on first use.
  uint64_t rpcConn(uint64_t conn_id);
  // GET /v1/models and /v1/models/{id}; false when `request` is neither.
  bool serveModels(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request, const std::string& request_id);
  // POST /v1/chat/completions and POST /v1/embeddings (route()'s table).
  void chatCompletionsCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request,
                             const std::string& request_id);
  void embeddingsCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request,
                        const std::string& request_id);
  // POST /v1/responses: a job of kind responses (after fetching the previous
  // response's job when previous_response_id names one).
  void responsesCreate(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request,
                       const std::string& request_id);
  void responsesSubmit(uint64_t conn_id, uint64_t exchange, http::HttpRequest& request,
                       const std::string& request_id, std::string_view previous_items_json);
  // Sends a JSON-RPC request for `pending` on the connection's local RPC conn.
  void call(uint64_t conn_id, std::string_view method, std::string_view params_json, Pending pending);
  void onResponse(uint64_t rpc_id, const json::Value& message);
  // A stream's event other than message_chunk, its data read.
  void onJobEvent(uint64_t rpc_id, Pending& p, ipc::EventKind event, const json::Value& data);
  // final_response: each streamed choice's finish, or the stored answer replayed.
  void finalResponse(uint64_t rpc_id, Pending& p, const json::Value& data);
  // A chat stream's message_chunk as a chat.completion.chunk delta of its choice.
  void streamChunk(Pending& p, const upstream::StreamDelta& chunk);
  void answerComplete(Pending& p, const json::Value& job);
  void replayFinished(Pending& p, const json::Value& job);
  void streamHead(Pending& p);
  void streamText(Pending& p, int index, std::string_view delta_json, std::string_view logprobs_json = {});
  // SSE text as it is (a Responses stream's events).
  void streamRaw(Pending& p, std::string_view sse);
  // A Responses stream's event builder, made on first use.
  static responses::EventStream& eventsOf(Pending& p);
  // The finish chunk of each choice that streamed (all with `finish_reason`, or
  // the given ones), the usage chunk when asked for, and [DONE].
  void streamEnd(Pending& p, std::string_view finish_reason);
  void streamEnd(Pending& p, const std::vector<std::pair<int, std::string>>& finishes);
  // Streams the stored answer of p.job_id (job.get): a replay, or a job that
  // ended before anything was streamed.
  void replay(uint64_t rpc_id, Pending& p);
  void streamError(Pending& p, const openai::ApiError& e);
  void streamError(Pending& p, int status, std::string type, std::string code, std::string message);
  void finish(uint64_t rpc_id);
  // An error answer: OpenAI's error body, X-Llmq-Job-Id, X-Should-Retry, Retry-After.
  void respondError(uint64_t conn_id, uint64_t exchange, const openai::ApiError& e, std::string_view job_id = {},
                    std::string_view request_id = {});
  void respondError(uint64_t conn_id, uint64_t exchange, int status, std::string type, std::string code,
                    std::string message, std::string_view job_id = {}, std::string_view request_id = {});
  // A job that ended without success, answered to `p`: as an HTTP status when
  // nothing was streamed yet (and then remembered for the SDK's retry of it),
  // else as an error event.
  void jobFailed(Pending& p, const openai::ApiError& e);
  void runDeferred();
  static void onUvIdle(uv_idle_t* h) noexcept;
  // Streams waiting for their job: headers after stream_head_after_ms, then an
  // SSE comment every keepalive_ms of silence.
  void keepStreamsAlive();

  Engine& s_;
  std::string token_;
  http::HttpServer http_;
  ipc::PeerCred self_;
  std::unordered_map<uint64_t, Conn> conns_;
  std::unordered_map<uint64_t, Pending> pending_;  // By JSON-RPC id.
  // Streams: subscription id -> JSON-RPC id; looked up per event. By
  // subscription, not job: two requests with one Idempotency-Key stream the same
  // job, each on its own subscription.
  std::unordered_map<uint64_t, uint64_t> by_sub_;
  // Frames to dispatch from the idle callback: onOutput may not dispatch.
  std::vector<std::pair<uint64_t, std::string>> deferred_;
  // Responses requests whose previous response has been read, to submit from
  // the idle callback.
  struct DeferredSubmit {
    uint64_t conn_id;
    uint64_t exchange;
    http::HttpRequest request;
    std::string request_id;
    std::string previous_items_json;
  };
  std::vector<DeferredSubmit> deferred_submits_;
  UvHandlePtr<uv_idle_t> idle_;
  UvTimer tick_;
  uint64_t next_rpc_id_ = 1;
  RecentFailures recent_failures_;
  int64_t stream_head_after_ms_;
  int64_t keepalive_ms_;
  size_t max_body_bytes_;
};

}  // namespace llmq::daemon
