// llmq::client: the C++ client library of llmqd (ipc/PROTOCOL.md). A blocking
// connection over the daemon's Unix socket with typed calls for jobs, pipelined
// submits for throughput, and events delivered to a handler. The `llmq` CLI is
// built on it. Self-contained: C++17 standard library only, JSON as text.
//
//   auto client = llmq::client::Client::connect();  // socket per README.md, Where files live
//   if (!client) { std::cerr << client.error().message << "\n"; return 1; }
//   llmq::client::SubmitRequest req;
//   req.request_json = R"({"model":"mock/demo","messages":[{"role":"user","content":"hi"}]})";
//   auto ack = (*client)->submit(req);
//   auto job = (*client)->wait(ack->job_id, 60000);
//   std::cout << job->result_json << "\n";
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmq::client {

// Why a call did not produce a result.
enum class ErrorKind {
  kConnect,          // The socket could not be reached (llmqd not running, no permission).
  kTransport,        // The connection failed or was closed while in use.
  kTimeout,          // The answer (or the job's end, for wait()) did not come in time.
  kRpc,              // llmqd answered with a JSON-RPC error: see code and symbol.
  kProtocol,         // llmqd sent something that is not valid JSON-RPC.
  kInvalidArgument,  // The request was refused before sending: params not a JSON object
                     // (or not valid UTF-8, which llmqd requires).
};

struct Error {
  ErrorKind kind = ErrorKind::kTransport;
  // kRpc: the JSON-RPC code (-32602, -32001, ...); 0 for the other kinds.
  int code = 0;
  // What went wrong, with what we were doing: "connecting to /run/llmq/llmqd.sock:
  // No such file or directory (is llmqd running?)", or llmqd's own message for kRpc.
  std::string message;
  // kRpc: error.data.code, e.g. "NOT_FOUND", "INVALID_PARAMS", "NO_API_KEY".
  std::string symbol;
};

// A value or an Error. No exception ever leaves this library.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design.
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design.

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design.
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// The socket path a client uses when none is given (README.md, Where files live): LLMQ_SOCKET, else
// $XDG_RUNTIME_DIR/llmq/llmqd.sock, else /run/llmq/llmqd.sock.
std::string defaultSocketPath();

// True for succeeded, failed, cancelled and expired: states a job leaves only by job.retry.
bool isTerminalState(std::string_view state);
// True for the eight job state names (queued ... expired).
bool isJobState(std::string_view state);
// True for the event names of the protocol (queued, started, message_chunk, ...).
bool isEventName(std::string_view name);

// A job object (ipc/PROTOCOL.md, job.get), its common members typed. `json` is
// the whole object as llmqd sent it, for everything else (routing, timestamps of
// newer daemons, ...).
struct JobError {
  std::string code;  // INVALID_REQUEST, UPSTREAM_ERROR, TIMEOUT, CANCELLED, ...
  std::string message;
  int upstream_status = 0;  // The provider's HTTP status; 0 when none.
  std::string source;       // "local" (llmqd decided) or "upstream".
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  double cost_usd = 0;
};

struct Job {
  std::string job_id;
  std::string state;
  int priority = 0;
  std::string client;
  std::vector<std::string> tags;
  std::string model;          // As requested.
  std::string model_used;     // What answered; empty until an attempt did.
  std::string kind = "chat";  // "chat" or "embedding".
  int attempts = 0;
  std::string idempotency_key;  // Empty when none was given.
  std::string created_at;       // RFC 3339 UTC; started_at/finished_at empty until then.
  std::string started_at;
  std::string finished_at;
  std::string result_json;  // The chat.completion object; empty until the job succeeded
                            // (and in job.list items without include_result).
  std::optional<JobError> error;
  std::optional<Usage> usage;
  std::string json;  // The whole job object, compact.

  bool finished() const { return isTerminalState(state); }
};

// One event notification's params (ipc/PROTOCOL.md, "Events").
struct Event {
  std::string subscription;
  std::string job_id;
  int64_t seq = 0;
  std::string name;         // "message_chunk", "final_response", "error", ...
  std::string ts;           // RFC 3339 UTC.
  std::string data_json;    // The event's data object, compact.
  std::string params_json;  // The whole params object, compact.
  // message_chunk: the text delta; final_response: the whole content.
  std::string text;
  // usage: the attempt's cost.
  double cost_usd = 0;
  // The job ended with this event (final_response, a non-retryable error, cancelled,
  // expired): nothing more comes for it, and job-scoped subscriptions end.
  bool terminal = false;
};

// Receives events from Client::readEvents(). Called on the thread that reads.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // Return false to make readEvents() return after this event.
  virtual bool onEvent(const Event& event) = 0;
};

// job.submit params (ipc/PROTOCOL.md). Unset optionals are left to llmqd's defaults.
struct SubmitRequest {
  // The request body, a JSON object, sent verbatim: chat completions, or with
  // kind "embedding" an embeddings request.
  std::string request_json;
  std::string kind;  // Empty: "chat"; or "embedding".
  std::optional<int> priority;
  std::string client;  // Empty: the peer's user name.
  std::vector<std::string> tags;
  std::string idempotency_key;  // Empty: none.
  std::optional<int> max_attempts;
  std::optional<double> timeout_s;
  std::optional<double> deadline_s;
  std::vector<std::string> fallback_models;
  std::string route;       // Empty: request.model decides.
  std::string on_restart;  // Empty, "requeue" or "fail".
  bool subscribe = false;  // Also subscribe this connection to the job's events.
  // Further members spliced into the params object as they are, e.g.
  // R"("cache":true)"; must be valid JSON members.
  std::string extra_params_json;

  // The params object as JSON text.
  std::string paramsJson() const;
};

struct SubmitAck {
  std::string job_id;
  std::string state;
  bool deduplicated = false;  // An earlier job with the same idempotency_key answered.
  std::string subscription;   // Set when subscribe was asked and the job had not ended.
  std::string json;           // The whole result object.
};

// job.list filter and page.
struct ListQuery {
  std::string state;  // Empty: any.
  std::string client;
  std::string tag;
  int limit = 100;     // 1..1000 jobs per page.
  std::string cursor;  // next_cursor of the previous page; empty for the first.
  bool include_result = false;
};

struct JobPage {
  std::vector<Job> jobs;    // Newest first.
  std::string next_cursor;  // Empty on the last page.
};

// events.subscribe scope: exactly one of job_id, client, tag or all.
struct SubscribeRequest {
  std::string job_id;
  std::string client;
  std::string tag;
  bool all = false;
  std::vector<std::string> events;  // Empty: every event.
};

struct SubscribeAck {
  std::string subscription;  // Empty when subscribing to a job that has already ended.
  std::string state;         // Job scope: the job's state when the subscription began.
};

struct DaemonStatus {
  std::string version;
  int protocol_version = 0;
  int64_t pid = 0;
  std::string json;  // The whole daemon.status object.
};

// One answer of a pipelined call.
struct Reply {
  bool ok = false;
  std::string result_json;  // When ok.
  Error error;              // When not ok (kind kRpc).
};

// The protocol version this library speaks; daemon.status reports llmqd's.
inline constexpr int kProtocolVersion = 1;
// How many requests callPipelined() keeps unanswered by default.
inline constexpr size_t kDefaultWindow = 256;

// A blocking connection to llmqd. Answers come back in the order requests were
// sent; event notifications that arrive while a call waits are kept, in order,
// for readEvents()/nextEvent(). Not thread-safe: use one Client per thread.
class Client {
 public:
  // Connects to `socket_path`, or to defaultSocketPath() when it is empty.
  static Result<std::unique_ptr<Client>> connect(const std::string& socket_path = "");
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& socketPath() const;

  // Calls `method` with a params object (JSON text) and waits up to timeout_ms
  // (-1: forever) for its result, returned as compact JSON text.
  Result<std::string> call(std::string_view method, std::string_view params_json = "{}", int timeout_ms = -1);

  // Sends one request per element of params_list, keeping at most `window`
  // unanswered, and returns the answers in the same order. on_reply, when set,
  // sees each answer as it arrives (index into params_list); returning false
  // stops sending: the requests already sent are still answered (on_reply is
  // not called again) and the result holds the answers to every request sent,
  // params_list[0 .. size()). A transport failure returns its Error:
  // which requests llmqd acted on is then unknown, so pipelines that must not
  // act twice use idempotency keys.
  Result<std::vector<Reply>> callPipelined(
      std::string_view method, const std::vector<std::string>& params_list, size_t window = kDefaultWindow,
      const std::function<bool(size_t index, const Reply& reply)>& on_reply = {});

  // job.submit, job.get, job.cancel, job.retry, job.list.
  Result<SubmitAck> submit(const SubmitRequest& request);
  // Pipelined submits: the acks (or each refusal) in request order.
  Result<std::vector<Result<SubmitAck>>> submitMany(const std::vector<SubmitRequest>& requests,
                                                    size_t window = kDefaultWindow);
  Result<Job> get(std::string_view job_id);
  Result<Job> cancel(std::string_view job_id);
  Result<Job> retry(std::string_view job_id);
  Result<JobPage> list(const ListQuery& query);

  // Waits until the job has ended (up to timeout_ms, -1: forever) and returns it.
  // Follows the job's events rather than polling; other events that arrive
  // meanwhile are kept for readEvents().
  Result<Job> wait(std::string_view job_id, int timeout_ms = -1);

  Result<DaemonStatus> status();

  // Events: subscribe, then read them with readEvents() or nextEvent().
  Result<SubscribeAck> subscribe(const SubscribeRequest& request);
  Result<void> unsubscribe(std::string_view subscription);
  // The next event, waiting up to timeout_ms (-1: forever, 0: only what has
  // arrived); nullopt when none came in time.
  Result<std::optional<Event>> nextEvent(int timeout_ms = -1);
  // An event that has already arrived, without reading from the socket: safe
  // inside callPipelined()'s on_reply, where nextEvent() must not be used (it
  // would read, and drop, answers the pipeline is waiting for).
  std::optional<Event> takeEvent();
  // Hands events to `handler` until it returns false or timeout_ms passes (-1:
  // no limit). Returns how many it handed over.
  Result<size_t> readEvents(EventHandler& handler, int timeout_ms = -1);
  Result<size_t> readEvents(const std::function<bool(const Event&)>& handler, int timeout_ms = -1);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmq::client
