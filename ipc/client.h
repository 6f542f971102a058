// ipc::Client: a blocking connection to llmqd for the CLI, tests and benchmarks.
// One request/response at a time via call(), or pipelined with send() and
// readLine(). Notifications that arrive while call() waits are queued and handed
// out by nextNotification(). Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "ipc/jsonrpc.h"

namespace llmq::ipc {

struct Response {
  std::unique_ptr<json::Document> doc;  // The whole response line, parsed.
  const json::Value* result = nullptr;  // Set on success.
  RpcError error;                       // Set on failure (error.code != 0).
  bool ok() const { return result != nullptr; }
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> connect(const std::string& socket_path);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a request and waits (up to timeout_ms, -1 = forever) for its response.
  Result<Response> call(std::string_view method, std::string_view params_json, int timeout_ms = -1);

  // Pipelining: send() writes a request and returns its id; readLine() returns the
  // next line from the daemon (a response or a notification), or nullopt on timeout.
  Result<int64_t> send(std::string_view method, std::string_view params_json);
  Result<void> sendRaw(std::string_view bytes);
  Result<std::optional<std::string>> readLine(int timeout_ms);

  // A notification queued while call() was waiting, or read now (up to timeout_ms).
  Result<std::optional<std::string>> nextNotification(int timeout_ms);

  int fd() const { return fd_; }
  void shutdownWrite();

 private:
  explicit Client(int fd) : fd_(fd) {}
  Result<bool> fill(int timeout_ms);

  int fd_;
  int64_t next_id_ = 1;
  std::string buf_;
  size_t buf_pos_ = 0;
  std::deque<std::string> notifications_;
};

// Parses a response line. Fails if the line is not a JSON-RPC response.
Result<Response> parseResponse(std::string_view line);

}  // namespace llmq::ipc
