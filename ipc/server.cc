// Server and Connection. Reads are handled synchronously in onUvRead; writes are
// coalesced per loop turn and tried with uv_try_write first, so the common case
// (the peer is reading) needs no allocation per response.
#include "ipc/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include "common/callback_guard.h"
#include "common/descriptors.h"
#include "common/log.h"
#include "common/memory.h"
#include "ipc/jsonrpc.h"

namespace llmq::ipc {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

std::string uvError(const char* what, const std::string& on, int rc) {
  return std::string(what) + ": " + on + ": " + uv_strerror(rc);
}

// Probes a socket path: true if something accepts connections there.
bool somebodyListens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// ---- Connection -------------------------------------------------------------

Connection::Connection(Server* server, uint64_t id, size_t max_frame_bytes)
    : server_(server), id_(id), framer_(max_frame_bytes) {}

void Connection::close() {
  if (closing_) {
    return;
  }
  if (local_ != nullptr) {
    return;  // Only its owner ends a local connection (Server::closeLocal).
  }
  closing_ = true;
  server_->pending_total_ -= out_.size();  // inflight_ comes off in onUvWrite (cancelled).
  out_.clear();
  out_.shrink_to_fit();
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), &Connection::onUvClose);
}

void Connection::closeAfterFlush() {
  if (closing_) {
    return;
  }
  close_after_flush_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
  if (out_.empty() && !writing_) {
    close();
  } else {
    server_->markDirty(this);
  }
}

void Connection::flush() {
  if (closing_ || writing_) {
    return;
  }
  if (out_.empty()) {
    if (close_after_flush_) {
      close();
    }
    return;
  }
  if (local_ != nullptr) {
    std::string out;
    out.swap(out_);
    server_->pending_total_ -= out.size();
    last_progress_ms_ = uv_now(server_->loop_);
    local_->onOutput(id_, out);
    return;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&pipe_);
  uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int n = uv_try_write(stream, &buf, 1);
  if (n > 0) {
    last_progress_ms_ = uv_now(server_->loop_);
  }
  if (n == static_cast<int>(out_.size())) {
    server_->pending_total_ -= out_.size();
    releaseBuffer();
    if (close_after_flush_) {
      close();
    }
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    LOG_DEBUG("connection %llu: write failed: %s", static_cast<unsigned long long>(id_), uv_strerror(n));
    close();
    return;
  }
  size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  server_->pending_total_ -= written;
  auto* req = new WriteReq;
  req->req.data = this;
  req->data.assign(out_, written, std::string::npos);
  releaseBuffer();
  inflight_ = req->data.size();
  writing_ = true;
  buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  int rc = uv_write(&req->req, stream, &buf, 1, &Connection::onUvWrite);
  if (rc != 0) {
    delete req;
    writing_ = false;
    server_->pending_total_ -= inflight_;
    inflight_ = 0;
    close();
  }
}

void Connection::releaseBuffer() {
  // A burst may have grown the buffer a lot; keep a small one, not the peak, for
  // each of what may be thousands of connections.
  constexpr size_t kKeepCapacity = size_t{64} * 1024;
  if (out_.capacity() > kKeepCapacity) {
    std::string().swap(out_);
  } else {
    out_.clear();
  }
}

void Connection::closeIfDoneAtEof() {
  if (eof_ && holds_ == 0) {
    closeAfterFlush();
  }
}

// Called by libuv before each read on this connection's pipe.
void Connection::onUvAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(h->data);
  *buf = uv_buf_init(c->server_->read_buf_, sizeof c->server_->read_buf_);
}

// Called by libuv with bytes read from the peer, or EOF/an error.
void Connection::onUvRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(s->data);
  if (nread < 0) {
    if (nread != UV_EOF) {
      LOG_DEBUG("connection %llu: read failed: %s", static_cast<unsigned long long>(c->id_),
                uv_strerror(static_cast<int>(nread)));
      c->close();
      return;
    }
    // EOF. If the peer closed the socket entirely (POLLHUP: both directions are
    // shut), nobody can read what we would send. If it only shut down its sending
    // side, it may still read the answers and events it asked for.
    uv_os_fd_t fd;
    pollfd p{};
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(s), &fd) == 0) {
      p.fd = fd;
      ::poll(&p, 1, 0);
    }
    if ((p.revents & POLLHUP) != 0) {
      c->close();
      return;
    }
    c->eof_ = true;
    uv_read_stop(s);
    c->closeIfDoneAtEof();
    return;
  }
  if (nread == 0) {
    return;
  }
  try {
    const uint64_t frames_before = c->framer_.frames();
    auto status =
        c->framer_.feed(std::string_view(buf->base, static_cast<size_t>(nread)), [c](std::string_view frame) {
          if (!frame.empty()) {
            c->server_->handler_->onFrame(*c, frame);
          }
          return !c->closing_ && !c->close_after_flush_;
        });
    if (status == LineFramer::Status::kOversize && !c->closing_) {
      std::string err;
      appendError(err, "null",
                  RpcError{rpc::kInvalidRequest,
                           "frame longer than " + std::to_string(c->server_->options_.max_frame_bytes) +
                               " bytes; closing the connection",
                           {}});
      c->server_->send(c->id_, err);
      c->closeAfterFlush();
    }
    if (!c->closing_) {
      c->server_->notePartial(c, frames_before);
    }
  } catch (const std::exception& e) {
    LOG_ERROR("connection %llu: %s; closing it", static_cast<unsigned long long>(c->id_), e.what());
    c->close();
  }
}

// Called by libuv when a queued write finished (or was cancelled by close).
void Connection::onUvWrite(uv_write_t* req, int status) noexcept {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<Connection*>(req->data);
  delete w;
  c->writing_ = false;
  c->server_->pending_total_ -= c->inflight_;
  c->inflight_ = 0;
  if (status < 0) {
    c->close();
    return;
  }
  c->last_progress_ms_ = uv_now(c->server_->loop_);
  c->flush();
}

// Called by libuv once the pipe is closed: the only place a Connection is freed.
void Connection::onUvClose(uv_handle_t* h) noexcept {
  auto* c = static_cast<Connection*>(h->data);
  Server* server = c->server_;
  uint64_t id = c->id_;
  server->forget(c);
  delete c;
  server->handler_->onClosed(id);
}

// ---- Server -----------------------------------------------------------------

Server::Server(uv_loop_t* loop, ServerHandler* handler, ServerOptions options)
    : loop_(loop), handler_(handler), options_(std::move(options)) {
  // A peer that closes while we write must cost an EPIPE, not the process:
  // libuv writes with write(2), which raises SIGPIPE by default.
  ::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() {
  // Connections must have been closed and their callbacks run (see class comment).
  listener_.reset();
}

Result<void> Server::listenPath(const std::string& path, int mode, std::optional<gid_t> group) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return makeError(ErrorKind::kInvalidArgument,
                     "socket path is too long (" + std::to_string(path.size()) + " bytes): " + path);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return makeError(ErrorKind::kIo, "binding unix socket: " + path + ": exists and is not a socket");
    }
    if (somebodyListens(path)) {
      return makeError(ErrorKind::kIo,
                       "binding unix socket: " + path + ": another llmqd is already listening there");
    }
    ::unlink(path.c_str());  // Stale: left by a daemon that died.
  }
  listener_ = makeUvHandle<uv_pipe_t>(loop_, this, uv_pipe_init, 0);
  if (!listener_) {
    return makeError(ErrorKind::kIo, "creating the listening pipe");
  }
  if (int rc = uv_pipe_bind(listener_.get(), path.c_str()); rc != 0) {
    listener_.reset();
    return makeError(ErrorKind::kIo, uvError("binding unix socket", path, rc));
  }
  bound_path_ = path;
  // Permissions are set before listen(), so no one can connect while the mode is wider.
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    stopListening();
    return makeError(ErrorKind::kIo, "setting mode of unix socket: " + path + ": " + std::strerror(err));
  }
  if (group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    int err = errno;
    stopListening();
    return makeError(ErrorKind::kIo, "giving unix socket " + path + " to group " + std::to_string(*group) + ": " +
                                         std::strerror(err));
  }
  if (int rc =
          uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), options_.backlog, &Server::onUvConnection);
      rc != 0) {
    stopListening();
    return makeError(ErrorKind::kIo, uvError("listening on unix socket", path, rc));
  }
  return {};
}

Result<void> Server::listenFd(int fd) {
  listener_ = makeUvHandle<uv_pipe_t>(loop_, this, uv_pipe_init, 0);
  if (!listener_) {
    return makeError(ErrorKind::kIo, "creating the listening pipe");
  }
  if (int rc = uv_pipe_open(listener_.get(), fd); rc != 0) {
    listener_.reset();
    return makeError(ErrorKind::kIo, uvError("adopting socket fd", std::to_string(fd), rc));
  }
  if (int rc =
          uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), options_.backlog, &Server::onUvConnection);
      rc != 0) {
    listener_.reset();
    return makeError(ErrorKind::kIo, uvError("listening on socket fd", std::to_string(fd), rc));
  }
  return {};
}

void Server::stopListening() {
  listener_.reset();
  if (!bound_path_.empty()) {
    ::unlink(bound_path_.c_str());
    bound_path_.clear();
  }
}

void Server::closeAll() {
  // Collect first: close() does not free, but keep iteration independent of it.
  std::vector<Connection*> all;
  all.reserve(conns_.size());
  for (auto& [id, c] : conns_) {
    if (c->local_ == nullptr) {  // Their owners close local ones.
      all.push_back(c);
    }
  }
  for (Connection* c : all) {
    c->close();
  }
  line_timer_.close();
}

// Called by libuv when the listener has a connection to accept.
// A connection libuv took from the backlog but half-registered here cannot be
// unwound, and one not taken stalls the listener: an exception stops the
// process (common/callback_guard.h).
void Server::onUvConnection(uv_stream_t* listener, int status) noexcept {
  guardCallbackOrAbort("accepting a socket connection", [listener, status] {
    static_cast<Server*>(listener->data)->acceptConnection(listener, status);
  });
}

void Server::acceptConnection(uv_stream_t* listener, int status) {
  if (status < 0) {
    // Not out of descriptors in the usual case: a connection is refused while
    // descriptorHeadroom() remain (below), so accept(2) does not meet EMFILE.
    // If something else took them, libuv closes its own reserve descriptor,
    // accepts and closes what waits in the backlog (the peers see EOF, not a
    // line) and reopens it without calling here; this runs only when libuv had
    // no reserve left. The log line is rate-limited as the callback may repeat.
    ++accept_errors_;
    const uint64_t now = uv_now(loop_);
    if (accept_logged_ms_ == 0 || now - accept_logged_ms_ >= 10'000) {
      LOG_WARN(
          "accepting a connection: %s (%llu failed accepts since the last report; "
          "raise LimitNOFILE= or [ipc] max_connections)",
          uv_strerror(status), static_cast<unsigned long long>(accept_errors_));
      accept_logged_ms_ = now;
      accept_errors_ = 0;
    }
    return;
  }
  auto* c = new Connection(this, next_id_++, options_.max_frame_bytes);
  if (uv_pipe_init(loop_, &c->pipe_, 0) != 0) {
    delete c;
    return;
  }
  c->pipe_.data = c;
  c->last_progress_ms_ = uv_now(loop_);
  conns_.emplace(c->id_, c);
  int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->pipe_));
  if (rc != 0) {
    LOG_WARN("accepting a connection: %s", uv_strerror(rc));
    c->close();
    return;
  }
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->pipe_), &fd) == 0 && descriptorsLow(fd)) {
    // Written and closed here, not after the loop turn: libuv goes on accepting
    // in this callback, and each refusal must give its descriptor back first.
    descriptor_refusals_.note(uv_now(loop_));
    std::string err;
    appendError(err, "null", RpcError{rpc::kOverloaded, descriptorsLowReason(), {}});
    uv_buf_t buf = uv_buf_init(err.data(), static_cast<unsigned>(err.size()));
    uv_try_write(reinterpret_cast<uv_stream_t*>(&c->pipe_), &buf, 1);  // A fresh socket: it fits.
    drainReadable(fd);
    c->close();  // uv_close closes the descriptor now; the Connection goes in its callback.
    return;
  }
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->pipe_), &fd) != 0 || !readPeerCred(fd, &c->peer_)) {
    LOG_WARN("connection %llu: cannot read peer credentials; closing it", static_cast<unsigned long long>(c->id_));
    c->close();
    return;
  }
  if (std::string why = refusal(c->peer_); !why.empty()) {
    refuse(c, why);
    return;
  }
  c->counted_ = true;
  ++socket_conns_;
  ++per_uid_[c->peer_.uid];
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->pipe_), &Connection::onUvAlloc, &Connection::onUvRead);
  if (rc != 0) {
    c->close();
  }
}

std::string Server::refusal(const PeerCred& peer) const {
  if (socket_conns_ >= options_.max_connections) {
    return "llmqd has " + std::to_string(socket_conns_) +
           " connections open ([ipc] max_connections); try again later";
  }
  auto it = per_uid_.find(peer.uid);
  if (it != per_uid_.end() && it->second >= options_.max_connections_per_uid &&
      !(options_.uncapped && options_.uncapped(peer))) {
    return "user " + peer.user + " has " + std::to_string(it->second) +
           " connections open ([ipc] max_connections_per_uid); close some first";
  }
  return {};
}

void Server::refuse(Connection* c, const std::string& why) {
  ++refused_;
  const uint64_t now = uv_now(loop_);
  if (refused_logged_ms_ == 0 || now - refused_logged_ms_ >= 10'000) {
    LOG_WARN("refusing connections (%llu since the last report); this one from pid %d (%s): %s",
             static_cast<unsigned long long>(refused_), static_cast<int>(c->peer_.pid), c->peer_.user.c_str(),
             why.c_str());
    refused_logged_ms_ = now;
    refused_ = 0;
  }
  std::string err;
  appendError(err, "null", RpcError{rpc::kOverloaded, why, {}});
  send(c->id_, err);
  c->closeAfterFlush();
}

void Server::notePartial(Connection* c, uint64_t frames_before) {
  const size_t now_partial = c->framer_.buffered();
  partial_total_ = partial_total_ - c->partial_ + now_partial;
  const bool new_line = c->partial_ == 0 || c->framer_.frames() != frames_before;
  c->partial_ = now_partial;
  if (now_partial == 0) {
    partial_conns_.erase(c);
    return;
  }
  if (new_line) {
    c->line_started_ms_ = uv_now(loop_);
  }
  partial_conns_.insert(c);
  if (partial_total_ > options_.max_partial_bytes_total) {
    std::string err;
    appendError(err, "null",
                RpcError{rpc::kOverloaded,
                         "llmqd holds " + std::to_string(partial_total_) +
                             " bytes of unfinished lines over all connections ([ipc] "
                             "max_partial_bytes_total); closing this connection, send again later",
                         {}});
    LOG_WARN(
        "connection %llu (pid %d, %s): unfinished lines over all connections passed %zu bytes; "
        "closing it",
        static_cast<unsigned long long>(c->id_), static_cast<int>(c->peer_.pid), c->peer_.user.c_str(),
        options_.max_partial_bytes_total);
    send(c->id_, err);
    c->closeAfterFlush();
    return;
  }
  if (!line_timer_) {
    line_timer_ = UvTimer(loop_, [this] { sweepLines(); });
  }
  if (!line_timer_.pending()) {
    const uint64_t every = std::clamp<uint64_t>(options_.line_timeout_ms / 4, 10, 1000);
    line_timer_.start(every, every);
  }
}

void Server::sweepLines() {
  const uint64_t now = uv_now(loop_);
  std::vector<Connection*> late;
  for (Connection* c : partial_conns_) {
    if (!c->closing_ && !c->close_after_flush_ && now - c->line_started_ms_ >= options_.line_timeout_ms) {
      late.push_back(c);
    }
  }
  for (Connection* c : late) {
    LOG_DEBUG("connection %llu: a line unfinished for %llu ms; closing it", static_cast<unsigned long long>(c->id_),
              static_cast<unsigned long long>(now - c->line_started_ms_));
    std::string err;
    appendError(err, "null",
                RpcError{rpc::kInvalidRequest,
                         "a line was not finished (no newline) within " + std::to_string(options_.line_timeout_ms) +
                             " ms ([ipc] line_timeout_s); closing the connection",
                         {}});
    send(c->id_, err);
    c->closeAfterFlush();
  }
  if (partial_conns_.empty()) {
    line_timer_.stop();
  }
}

void Server::send(uint64_t conn_id, std::string_view a, std::string_view b) {
  auto it = conns_.find(conn_id);
  if (it == conns_.end()) {
    return;
  }
  Connection* c = it->second;
  if (c->closing_) {
    return;
  }
  if (c->local_ != nullptr) {
    c->out_.append(a);
    c->out_.append(b);
    pending_total_ += a.size() + b.size();
    markDirty(c);
    return;
  }
  const uint64_t now = uv_now(loop_);
  const size_t pending = c->pendingOutput();
  if (pending == 0) {
    c->last_progress_ms_ = now;  // The peer owed us nothing until now.
  }
  const size_t after = pending + a.size() + b.size();
  if (after > options_.max_pending_output_bytes &&
      (now - c->last_progress_ms_ >= options_.stall_timeout_ms || after > options_.max_pending_output_hard_bytes)) {
    LOG_WARN(
        "connection %llu (pid %d, %s) is not reading: %zu bytes pending, nothing taken for "
        "%llu ms; cutting it off",
        static_cast<unsigned long long>(c->id_), static_cast<int>(c->peer_.pid), c->peer_.user.c_str(), pending,
        static_cast<unsigned long long>(now - c->last_progress_ms_));
    c->close();
    return;
  }
  c->out_.append(a);
  c->out_.append(b);
  pending_total_ += a.size() + b.size();
  markDirty(c);
}

bool Server::fits(uint64_t conn_id, size_t bytes) {
  Connection* c = find(conn_id);
  return c == nullptr || c->local_ != nullptr ||
         c->pendingOutput() + bytes <= options_.max_pending_output_hard_bytes;
}

void Server::markDirty(Connection* c) {
  if (!c->dirty_) {
    c->dirty_ = true;
    dirty_.push_back(c);
  }
}

void Server::flush() {
  // flush() can close connections (write errors) but never frees them here.
  std::vector<Connection*> batch;
  batch.swap(dirty_);
  for (Connection* c : batch) {
    c->dirty_ = false;
    c->flush();
  }
  // After a burst to many subscribers has drained, give the memory back: the
  // buffers were freed, but malloc keeps freed memory for itself unless asked.
  constexpr size_t kTrimAfter = 64u << 20;
  pending_peak_ = std::max(pending_peak_, pending_total_);
  if (pending_total_ == 0 && pending_peak_ > kTrimAfter) {
    pending_peak_ = 0;
    releaseFreeMemory();
  }
}

void Server::hold(uint64_t conn_id) {
  if (Connection* c = find(conn_id)) {
    ++c->holds_;
  }
}

void Server::release(uint64_t conn_id) {
  if (Connection* c = find(conn_id)) {
    --c->holds_;
    c->closeIfDoneAtEof();
  }
}

uint64_t Server::openLocal(LocalPeer* peer, PeerCred cred) {
  auto* c = new Connection(this, next_id_++, options_.max_frame_bytes);
  c->local_ = peer;
  c->peer_ = std::move(cred);
  c->last_progress_ms_ = uv_now(loop_);
  conns_.emplace(c->id_, c);
  return c->id_;
}

void Server::dispatchLocal(uint64_t conn_id, std::string_view frame) {
  Connection* c = find(conn_id);
  if (c != nullptr && c->local_ != nullptr && !c->closing_) {
    handler_->onFrame(*c, frame);
  }
}

void Server::closeLocal(uint64_t conn_id) {
  Connection* c = find(conn_id);
  if (c == nullptr || c->local_ == nullptr) {
    return;
  }
  c->closing_ = true;
  pending_total_ -= c->out_.size();
  forget(c);
  delete c;
  handler_->onClosed(conn_id);
}

void Server::flushLocal(uint64_t conn_id) {
  Connection* c = find(conn_id);
  if (c != nullptr && c->local_ != nullptr) {
    c->flush();  // It may stay on dirty_: flush() of an empty buffer does nothing.
  }
}

Connection* Server::find(uint64_t conn_id) {
  auto it = conns_.find(conn_id);
  return it == conns_.end() ? nullptr : it->second;
}

void Server::forget(Connection* c) {
  conns_.erase(c->id_);
  if (c->counted_) {
    --socket_conns_;
    if (auto it = per_uid_.find(c->peer_.uid); it != per_uid_.end() && --it->second == 0) {
      per_uid_.erase(it);
    }
  }
  partial_total_ -= c->partial_;
  c->partial_ = 0;
  partial_conns_.erase(c);
  if (c->dirty_) {
    dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), c), dirty_.end());
  }
}

}  // namespace llmq::ipc
