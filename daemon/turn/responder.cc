// Responder: ordering through CommitCycle, batch assembly, request accounting.
#include "daemon/turn/responder.h"

#include "daemon/turn/commit_cycle.h"
#include "ipc/server.h"

namespace llmq::daemon {

Responder::Responder(ipc::Server& server, CommitCycle& cycle, uint64_t conn_id, std::string id_raw,
                     std::shared_ptr<BatchReply> batch, size_t slot)
    : state_(std::make_shared<State>(
          State{server, cycle, conn_id, std::move(id_raw), std::move(batch), slot, false})) {}

namespace {

// An answer the connection could not hold would be cut off with the connection
// (ipc::Server::send): the client would see nothing. It gets this error instead.
std::string tooLarge(ipc::Server& server, uint64_t conn_id, size_t bytes) {
  return "the answer is " + std::to_string(bytes) + " bytes, more than connection " + std::to_string(conn_id) +
         " may hold (" + std::to_string(server.options().max_pending_output_hard_bytes) +
         ", [ipc] max_pending_output_hard_bytes); ask for less (a smaller limit, a narrower filter)";
}

}  // namespace

void Responder::send(State& s, const std::string& line_or_object) {
  if (s.answered) {
    return;
  }
  const uint64_t conn = s.batch ? s.batch->conn_id : s.conn_id;
  if (!s.id_raw.empty() && !s.server.fits(conn, line_or_object.size())) {
    std::string body;
    const ipc::RpcError err{ipc::rpc::kOverloaded, tooLarge(s.server, conn, line_or_object.size()), {}};
    s.batch ? ipc::appendErrorObject(body, s.id_raw, err) : ipc::appendError(body, s.id_raw, err);
    deliver(s, body);
    return;
  }
  deliver(s, line_or_object);
}

void Responder::deliver(State& s, const std::string& line_or_object) {
  s.answered = true;
  if (s.batch) {
    BatchReply& b = *s.batch;
    b.parts[s.slot] = line_or_object;
    if (--b.remaining == 0) {
      std::string out = "[";
      bool first = true;
      for (const std::string& p : b.parts) {
        if (p.empty()) {
          continue;
        }
        if (!first) {
          out.push_back(',');
        }
        first = false;
        out += p;
      }
      out += "]\n";
      if (!first && !s.server.fits(b.conn_id, out.size())) {
        std::string err;
        ipc::appendError(err, "null", {ipc::rpc::kOverloaded, tooLarge(s.server, b.conn_id, out.size()), {}});
        out = std::move(err);
      }
      if (!first) {
        s.server.send(b.conn_id, out);
      }
      s.server.release(b.conn_id);
    }
    return;
  }
  if (!s.id_raw.empty()) {
    s.server.send(s.conn_id, line_or_object);
    s.server.release(s.conn_id);
  }
}

void Responder::sendError(State& s, const ipc::RpcError& err) {
  std::string body;
  if (s.batch) {
    if (!s.id_raw.empty()) {
      ipc::appendErrorObject(body, s.id_raw, err);
    }
  } else if (!s.id_raw.empty()) {
    ipc::appendError(body, s.id_raw, err);
  }
  send(s, body);
}

void Responder::ok(std::string result_json) const {
  auto deliver = [st = state_, r = std::move(result_json)](bool) {
    std::string body;
    if (!st->id_raw.empty()) {
      st->batch ? ipc::appendResultObject(body, st->id_raw, r) : ipc::appendResult(body, st->id_raw, r);
    }
    send(*st, body);
  };
  state_->cycle.afterCommit(std::move(deliver));
}

void Responder::okAfterCommit(std::string result_json) const {
  auto deliver = [st = state_, r = std::move(result_json)](bool committed) {
    if (!committed) {
      sendError(*st, {ipc::rpc::kStorageFailure,
                      "the database could not commit this change (is the disk full?); nothing was "
                      "stored, try again",
                      {}});
      return;
    }
    std::string body;
    if (!st->id_raw.empty()) {
      st->batch ? ipc::appendResultObject(body, st->id_raw, r) : ipc::appendResult(body, st->id_raw, r);
    }
    send(*st, body);
  };
  state_->cycle.afterCommit(std::move(deliver));
}

void Responder::fail(int code, std::string message, std::string symbol) const {
  ipc::RpcError err{code, std::move(message), std::move(symbol)};
  state_->cycle.afterCommit([st = state_, err = std::move(err)](bool) { sendError(*st, err); });
}

}  // namespace llmq::daemon
