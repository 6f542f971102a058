// ipc::Server: the Unix stream socket of llmqd. It accepts connections, splits
// their input into frames (LineFramer), and owns each connection's output buffer
// with the bound from ipc/PROTOCOL.md: a peer that stops reading is cut off once its
// pending output passes max_pending_output_bytes, so the daemon's memory stays flat.
// "Stops reading" means no write progress for stall_timeout_ms: a peer that reads,
// only slower than a burst of events arrives, may fall behind up to
// max_pending_output_hard_bytes before it is cut off too.
//
// Output is buffered per connection during a loop turn and written by flush(), so
// many responses to one connection leave in one write(2).
//
// Loop thread only. The Server must outlive its connections: call closeAll() and
// let the loop run until their close callbacks have fired before destroying it.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/descriptors.h"
#include "common/result.h"
#include "common/uv_handle.h"
#include "common/uv_timer.h"
#include "ipc/framing.h"
#include "ipc/peer.h"

namespace llmq::ipc {

class Server;

// The output side of an in-process peer (the HTTP front, daemon/api/http_front.h):
// what the daemon would write to a socket is handed over here instead, whole
// lines at a time, when the Server flushes. onOutput must not dispatch frames or
// close the connection it is called for; it may queue work for later.
class LocalPeer {
 public:
  virtual ~LocalPeer() = default;
  virtual void onOutput(uint64_t conn_id, std::string_view bytes) = 0;
};

// One accepted connection, or an in-process one (Server::openLocal). Owned by the Server; closed via close(), freed
// in the uv_close callback of its pipe, never while its callback is running.
class Connection {
 public:
  uint64_t id() const { return id_; }
  const PeerCred& peer() const { return peer_; }
  bool closing() const { return closing_; }
  // An in-process connection (Server::openLocal), not a socket.
  bool local() const { return local_ != nullptr; }
  // Stops reading, drops pending output and closes the socket. Idempotent.
  void close();
  // Stops reading and closes once the output queued so far has been written
  // (used to deliver a final error, e.g. for an oversize frame).
  void closeAfterFlush();
  size_t pendingOutput() const { return out_.size() + inflight_; }
  // When the peer last took bytes, or had nothing pending (uv_now milliseconds).
  uint64_t lastProgressMs() const { return last_progress_ms_; }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

 private:
  friend class Server;
  Connection(Server* server, uint64_t id, size_t max_frame_bytes);
  ~Connection() = default;

  void flush();
  void releaseBuffer();
  void closeIfDoneAtEof();
  static void onUvAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) noexcept;
  static void onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onUvWrite(uv_write_t* req, int status) noexcept;
  static void onUvClose(uv_handle_t* h) noexcept;

  uv_pipe_t pipe_{};  // Unused by a local connection.
  LocalPeer* local_ = nullptr;
  Server* server_;
  uint64_t id_;
  PeerCred peer_;
  LineFramer framer_;
  std::string out_;      // Not yet handed to libuv.
  size_t inflight_ = 0;  // Bytes in the uv_write in progress.
  bool writing_ = false;
  bool dirty_ = false;  // Listed in Server::dirty_.
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool eof_ = false;              // The peer shut down its sending side.
  bool counted_ = false;          // Counted in Server::socket_conns_ and per_uid_.
  size_t partial_ = 0;            // Bytes of an unfinished line, as counted in Server::partial_total_.
  uint64_t line_started_ms_ = 0;  // When the unfinished line's first byte arrived.
  int holds_ = 0;                 // Unanswered requests and live subscriptions.
  uint64_t last_progress_ms_ = 0;
};

class ServerHandler {
 public:
  virtual ~ServerHandler() = default;
  // One complete frame (without its newline). The connection may be closed from here.
  virtual void onFrame(Connection& conn, std::string_view frame) = 0;
  // A connection is gone; called from its close callback, a safe point in the loop.
  virtual void onClosed(uint64_t conn_id) = 0;
};

struct ServerOptions {
  size_t max_frame_bytes = 4u << 20;
  size_t max_pending_output_bytes = 8u << 20;
  size_t max_pending_output_hard_bytes = 64u << 20;
  uint64_t stall_timeout_ms = 3000;
  int backlog = 1024;
  // Socket connections in all, and per peer uid: one more is answered with a
  // -32005 error line and closed. `uncapped` peers (administrators) are exempt
  // from the per-uid bound, not from the total.
  size_t max_connections = 1024;
  size_t max_connections_per_uid = 256;
  std::function<bool(const PeerCred&)> uncapped;
  // A line must be finished (its newline) within line_timeout_ms of its first
  // byte, and unfinished lines over all connections may hold at most
  // max_partial_bytes_total; past either, the connection gets an error and closes.
  uint64_t line_timeout_ms = 30'000;
  size_t max_partial_bytes_total = 64u << 20;
};

class Server {
 public:
  Server(uv_loop_t* loop, ServerHandler* handler, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds `path` (replacing a stale socket file, refusing if a daemon answers on
  // it), sets `mode` and, when given, the file's `group`, and only then listens:
  // nobody can connect while the permissions are still those of bind(). The
  // file is removed by stopListening().
  Result<void> listenPath(const std::string& path, int mode, std::optional<gid_t> group = std::nullopt);
  // Listens on an already bound socket (systemd socket activation).
  Result<void> listenFd(int fd);
  void stopListening();
  void closeAll();

  // Queues bytes for a connection; dropped if it is unknown or closing. Closes the
  // connection if its pending output would pass the bound.
  void send(uint64_t conn_id, std::string_view a, std::string_view b = {});
  // Whether `bytes` more can be queued for a connection without passing its
  // hard output bound (send() would cut it off instead). Local ones always fit.
  bool fits(uint64_t conn_id, size_t bytes);
  // Starts writes for every connection that has queued output.
  void flush();

  // What keeps a half-closed connection open: a peer that shuts down its sending
  // side still gets every answer and event it asked for. Each unanswered request
  // and each live subscription holds the connection; at EOF it closes (after
  // flushing) once nothing holds it.
  void hold(uint64_t conn_id);
  void release(uint64_t conn_id);

  // In-process connections: frames come from dispatchLocal() instead of a socket
  // and output goes to `peer` at flush(), never cut off (the peer bounds its own
  // buffers). The handler sees them like any other connection; closeLocal() ends
  // one, calling onClosed at once, so call it only where a socket's close
  // callback could run (not from inside onFrame or onOutput).
  uint64_t openLocal(LocalPeer* peer, PeerCred cred);
  void dispatchLocal(uint64_t conn_id, std::string_view frame);
  void closeLocal(uint64_t conn_id);
  // Hands a local connection's buffered output to its peer now, not at flush():
  // for a peer that receives something by another path (the daemon's events as
  // values) and must first read the answers sent before it.
  void flushLocal(uint64_t conn_id);

  Connection* find(uint64_t conn_id);
  size_t connectionCount() const { return conns_.size(); }
  // Bytes of unfinished lines buffered over all connections.
  size_t partialBytesTotal() const { return partial_total_; }
  // Output queued or being written, summed over every connection. Each
  // connection is bounded on its own; the scheduler holds back new work while
  // this total is high, so a burst to many slow readers cannot grow memory
  // without bound.
  size_t pendingOutputTotal() const { return pending_total_; }
  bool listening() const { return listener_ != nullptr; }
  const ServerOptions& options() const { return options_; }

 private:
  friend class Connection;
  static void onUvConnection(uv_stream_t* listener, int status) noexcept;
  // Takes the connection libuv accepted on `listener` (or notes why it failed).
  void acceptConnection(uv_stream_t* listener, int status);
  // Whether a newly accepted connection may stay; else why not.
  std::string refusal(const PeerCred& peer) const;
  void refuse(Connection* c, const std::string& why);
  // After a read: the connection's unfinished line, counted and timed.
  void notePartial(Connection* c, uint64_t frames_before);
  void sweepLines();
  void markDirty(Connection* c);
  void forget(Connection* c);

  uv_loop_t* loop_;
  ServerHandler* handler_;
  ServerOptions options_;
  UvHandlePtr<uv_pipe_t> listener_;
  std::string bound_path_;  // Non-empty when we created the socket file.
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Connection*> conns_;
  std::vector<Connection*> dirty_;
  size_t pending_total_ = 0;
  size_t pending_peak_ = 0;  // Since the last time the output drained.
  size_t socket_conns_ = 0;  // Accepted socket connections within the bounds.
  std::unordered_map<uid_t, size_t> per_uid_;
  size_t partial_total_ = 0;
  std::unordered_set<Connection*> partial_conns_;  // With an unfinished line.
  UvTimer line_timer_;                             // Sweeps partial_conns_ while it is not empty.
  uint64_t refused_ = 0;                           // Connections refused since the last log line.
  uint64_t refused_logged_ms_ = 0;                 // When that line was written (rate limit).
  uint64_t accept_errors_ = 0;                     // Failed accepts since the last log line.
  uint64_t accept_logged_ms_ = 0;
  DescriptorRefusals descriptor_refusals_{"the Unix socket", "raise LimitNOFILE= or lower [ipc] max_connections"};
  char read_buf_[64 * 1024];  // Shared: frames are handled synchronously in onUvRead.
};

}  // namespace llmq::ipc
