// RpcDispatcher: envelope checks and the method table.
#include "daemon/api/rpc_dispatcher.h"

#include <cstring>

#include "common/log.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/policy/access.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/responder.h"
#include "ipc/jsonrpc.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

struct Method {
  const char* name;
  Handler handler;
  // For administrators only (daemon/policy/access.h); what the denial says they tried.
  const char* admin_only = nullptr;
};

// The whole protocol surface of this daemon (ipc/PROTOCOL.md).
constexpr Method kMethods[] = {
    {"job.submit", handleJobSubmit},
    {"job.get", handleJobGet},
    {"job.list", handleJobList},
    {"job.cancel", handleJobCancel},
    {"job.retry", handleJobRetry},
    {"events.subscribe", handleEventsSubscribe},
    {"events.unsubscribe", handleEventsUnsubscribe},
    {"queue.pause", handleQueuePause},
    {"queue.resume", handleQueueResume},
    {"daemon.status", handleDaemonStatus},
    {"keys.status", handleKeysStatus},
    {"keys.reset", handleKeysReset, "reset server keys"},
    {"breakers.reset", handleBreakersReset, "reset circuit breakers"},
    {"models.list", handleModelsList},
    {"usage.report", handleUsageReport, "read the usage ledger"},
    {"models.stats", handleModelsStats, "read the usage ledger"},
    {"budget.set", handleBudgetSet, "set budgets"},
    {"budget.list", handleBudgetList},
    {"budget.delete", handleBudgetDelete, "delete budgets"},
    {"db.backup", handleDbBackup, "back up the database"},
};

const Method* findMethod(std::string_view method) {
  for (const Method& m : kMethods) {
    if (method == m.name) {
      return &m;
    }
  }
  return nullptr;
}

// A request's id as JSON text, read leniently so even a malformed request can be
// answered with its id when it has a usable one.
std::string peekId(const json::Value& v) {
  const json::Value* id = json::member(v, "id");
  if (id == nullptr) {
    return {};
  }
  if (id->IsString() || id->IsNumber() || id->IsNull()) {
    return json::toString(*id);
  }
  return "null";
}

bool inexactId(const json::Value& request) {
  const json::Value* id = json::member(request, "id");
  // 0 because "-0" parses as the integer 0, and would come back as "0".
  return id != nullptr && id->IsNumber() &&
         (!(id->IsInt64() || id->IsUint64()) || (id->IsInt() && id->GetInt() == 0));
}

// Does a request (or an element of a batch) have a numeric id that did not parse
// as a 64-bit integer (2^64, -2^63-1, 1e3, 1.0), or that may have lost its sign?
bool hasInexactId(const json::Value& doc) {
  if (doc.IsArray()) {
    for (const json::Value& element : doc.GetArray()) {
      if (inexactId(element)) {
        return true;
      }
    }
    return false;
  }
  return inexactId(doc);
}

// The id a request is answered with. "" (no answer) only for a notification:
// a valid request without an id. An object without an id that is not a valid
// request is no notification (JSON-RPC 2.0): its -32600 goes out with id null.
std::string answerId(std::string id, const json::Value& request) {
  if (id.empty()) {
    ipc::RpcRequest req;
    ipc::RpcError err;
    if (!ipc::parseRequest(request, &req, &err)) {
      return "null";
    }
  }
  return id;
}

}  // namespace

void RpcDispatcher::dispatchOne(ipc::Connection& conn, const json::Value& request, Responder& reply) {
  ipc::RpcRequest req;
  ipc::RpcError err;
  if (!ipc::parseRequest(request, &req, &err)) {
    reply.fail(err.code, err.message);
    return;
  }
  const Method* method = findMethod(req.method);
  if (method == nullptr) {
    reply.fail(ipc::rpc::kMethodNotFound, "unknown method \"" + std::string(req.method) + "\"");
    return;
  }
  if (method->admin_only != nullptr && !s_.access->isAdmin(conn.peer())) {
    reply.fail(ipc::rpc::kPermissionDenied, s_.access->denial(conn.peer(), method->admin_only),
               "PERMISSION_DENIED");
    return;
  }
  Call call{s_, conn.id(), conn.peer(), req.params, reply};
  method->handler(call);
}

void RpcDispatcher::onFrame(ipc::Connection& conn, std::string_view frame) {
  // Small frames parse into a stack buffer without touching the heap.
  char value_buffer[16384];
  rapidjson::MemoryPoolAllocator<> allocator(value_buffer, sizeof value_buffer);
  json::Document doc(&allocator);
  std::string parse_error;
  ipc::Server& server = *s_.server;
  bool parsed = json::parse(doc, frame, &parse_error);
  // Numeric ids beyond what a double or a 64-bit integer keeps exactly come back
  // as the client wrote them (ipc/jsonrpc.h, RawId). Looked for only when the
  // frame failed to parse or an id did not parse as an integer.
  std::vector<ipc::RawId> raw_ids;
  if (!parsed || hasInexactId(doc)) {
    raw_ids = ipc::scanNumericIds(frame);
    if (!parsed && !raw_ids.empty()) {
      parsed = json::parse(doc, ipc::withIdsZeroed(frame, raw_ids), &parse_error);
    }
  }
  const auto idOf = [&](const json::Value& request, int element) {
    for (const ipc::RawId& raw : raw_ids) {
      if (raw.element == element) {
        return raw.text;
      }
    }
    return peekId(request);
  };
  if (!parsed) {
    server.hold(conn.id());
    Responder(server, *s_.cycle, conn.id(), "null").fail(ipc::rpc::kParseError, "invalid JSON: " + parse_error);
    return;
  }
  if (doc.IsArray()) {
    if (doc.Empty()) {
      server.hold(conn.id());
      Responder(server, *s_.cycle, conn.id(), "null")
          .fail(ipc::rpc::kInvalidRequest, "an empty batch is not a request");
      return;
    }
    auto batch = std::make_shared<BatchReply>();
    batch->parts.resize(doc.Size());
    batch->remaining = doc.Size();
    batch->conn_id = conn.id();
    server.hold(conn.id());
    for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
      const json::Value& element = doc[i];
      // Elements that are not objects are invalid requests answered with id null.
      std::string id = element.IsObject() ? answerId(idOf(element, static_cast<int>(i)), element) : "null";
      Responder reply(server, *s_.cycle, conn.id(), id, batch, i);
      dispatchOne(conn, element, reply);
    }
    return;
  }
  std::string id = doc.IsObject() ? answerId(idOf(doc, -1), doc) : "null";
  if (!id.empty()) {
    server.hold(conn.id());
  }
  Responder reply(server, *s_.cycle, conn.id(), id);
  dispatchOne(conn, doc, reply);
}

void RpcDispatcher::onClosed(uint64_t conn_id) {
  s_.bus->dropConnection(conn_id);
  s_.lifecycle->dropWaiters(conn_id);
  // cancel_on_disconnect: the jobs of a client that went away end with it. The
  // writes commit at the start of the next loop turn (before it waits for I/O).
  // Not while shutting down: that is llmqd going away, not the client; the jobs
  // stay queued for the next start (an HTTP client retrying with its
  // Idempotency-Key then finds its answer).
  const std::vector<int64_t> bound = s_.lifecycle->takeBound(conn_id);
  if (s_.run.shutting_down) {
    return;
  }
  for (int64_t id : bound) {
    auto job = s_.store->getJob(id);
    if (!job || !job->has_value() || store::isTerminal((*job)->state)) {
      continue;
    }
    if (auto r = cancelJob(s_, std::move(**job), "the client disconnected"); !r) {
      LOG_ERROR("job %s: cancelling after its client disconnected: %s", ipc::formatJobId(id).c_str(),
                r.error().message.c_str());
    } else {
      LOG_INFO("job %s cancelled: its client disconnected", ipc::formatJobId(id).c_str());
    }
  }
}

}  // namespace llmq::daemon
