// daemon::RpcDispatcher turns frames from the IPC server into handler calls: it
// parses the JSON (one request or a batch array), checks the JSON-RPC envelope,
// finds the handler by method name, and makes the Responder each answer goes through.
//
// Loop thread only. Owned by the Daemon; registered as the Server's handler.
#pragma once

#include <string_view>

#include "common/json.h"
#include "ipc/server.h"

namespace llmq::daemon {

struct Engine;
class Responder;

class RpcDispatcher final : public ipc::ServerHandler {
 public:
  explicit RpcDispatcher(Engine& services) : s_(services) {}

  void onFrame(ipc::Connection& conn, std::string_view frame) override;
  void onClosed(uint64_t conn_id) override;

 private:
  void dispatchOne(ipc::Connection& conn, const json::Value& request, Responder& reply);

  Engine& s_;
};

}  // namespace llmq::daemon
