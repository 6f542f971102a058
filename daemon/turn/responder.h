// daemon::Responder answers one JSON-RPC request exactly once, now or later (a
// `wait: true` submit answers when its job ends). It is a cheap copyable handle.
// Answers queued while the turn's transaction is open leave after it commits, so a
// connection receives answers in the order it sent the requests; okAfterCommit()
// turns into a -32006 storage error if the commit fails. Elements of a batch
// request share one BatchReply and leave together as one array.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ipc/jsonrpc.h"

namespace llmq::ipc {
class Server;
}

namespace llmq::daemon {

class CommitCycle;

struct BatchReply {
  std::vector<std::string> parts;  // One per element; empty for notifications.
  size_t remaining = 0;
  uint64_t conn_id = 0;
};

class Responder {
 public:
  Responder(ipc::Server& server, CommitCycle& cycle, uint64_t conn_id, std::string id_raw,
            std::shared_ptr<BatchReply> batch = nullptr, size_t slot = 0);

  // Answers with `result_json` (compact JSON text).
  void ok(std::string result_json) const;
  // Answers once the turn's writes have committed; with -32006 if they did not.
  void okAfterCommit(std::string result_json) const;
  void fail(int code, std::string message, std::string symbol = {}) const;

  uint64_t connId() const { return state_->conn_id; }
  bool answered() const { return state_->answered; }

 private:
  struct State {
    ipc::Server& server;
    CommitCycle& cycle;
    uint64_t conn_id;
    std::string id_raw;
    std::shared_ptr<BatchReply> batch;
    size_t slot;
    bool answered = false;
  };
  static void send(State& s, const std::string& line_or_object);
  static void deliver(State& s, const std::string& line_or_object);
  static void sendError(State& s, const ipc::RpcError& err);

  std::shared_ptr<State> state_;
};

}  // namespace llmq::daemon
