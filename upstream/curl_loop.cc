// CurlLoop: the curl <-> libuv glue. The four callbacks are named by direction:
// onCurlSocket/onCurlTimer are called by libcurl, onUvSocket and the timer by libuv.
#include "upstream/curl_loop.h"

#include <algorithm>
#include <mutex>
#include <new>

#include "common/log.h"

namespace llmq::upstream {

// One per curl socket, stored with curl_multi_assign; freed in its close callback.
struct CurlLoop::SocketContext {
  uv_poll_t poll;
  curl_socket_t fd;
  CurlLoop* owner;
};

void curlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void restrictToHttp(CURL* easy) {
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the _STR forms; the older ones are deprecated.
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 0L);
}

CurlLoop::CurlLoop(uv_loop_t* loop, CurlLoopOptions options)
    : loop_(loop),
      max_buffered_bytes_(options.max_buffered_bytes),
      timer_(loop, [this] { socketAction(CURL_SOCKET_TIMEOUT, 0); }) {
  curlGlobalInit();
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::onCurlSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::onCurlTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, options.max_total_connections);
}

CurlLoop::~CurlLoop() { close(); }

bool CurlLoop::claimBuffered(size_t bytes) {
  if (bytes > max_buffered_bytes_ - std::min(buffered_, max_buffered_bytes_)) {
    return false;
  }
  buffered_ += bytes;
  return true;
}

Result<void> CurlLoop::add(CURL* easy, CurlTransfer* owner) {
  if (closing_ || multi_ == nullptr) {
    return makeError(ErrorKind::kInvalidState, "the HTTP client is shutting down");
  }
  CURLMcode rc = curl_multi_add_handle(multi_, easy);
  if (rc != CURLM_OK) {
    return makeError(ErrorKind::kInternal, std::string("adding an HTTP transfer: ") + curl_multi_strerror(rc));
  }
  // Only once it is ours: a refused add (a handle already running, here or in
  // another multi) must not take over the running transfer's callback.
  // curl_multi_add_handle calls only the timer callback, which needs no owner.
  curl_easy_setopt(easy, CURLOPT_PRIVATE, owner);
  easies_.insert(easy);
  added_ = true;
  return {};
}

void CurlLoop::remove(CurlEasyPtr easy, CurlSlistPtr headers) {
  if (!easy) {
    return;
  }
  if (depth_ > 0) {
    // curl_multi_remove_handle must not run inside a libcurl callback. Detach the
    // owner now, so nothing calls it back, and remove at the end of the action.
    curl_easy_setopt(easy.get(), CURLOPT_PRIVATE, nullptr);
    deferred_removals_.push_back(Deferred{std::move(easy), std::move(headers)});
    return;
  }
  removeNow(easy.get());
  // `easy` and `headers` are freed here, in that order of declaration reversed:
  // headers first is fine, curl does not read them once the handle is removed.
}

void CurlLoop::removeNow(CURL* easy) {
  if (easies_.erase(easy) != 0 && multi_ != nullptr) {
    curl_multi_remove_handle(multi_, easy);
  }
}

void CurlLoop::close() {
  if (multi_ == nullptr) {
    return;
  }
  closing_ = true;
  // 1. Remove what is still running (owners must have done so; this is a backstop).
  for (CURL* easy : std::vector<CURL*>(easies_.begin(), easies_.end())) {
    removeNow(easy);
  }
  deferred_removals_.clear();
  // 2. curl_multi_cleanup may still call onCurlSocket to remove sockets.
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  // 3. The timer last.
  timer_.close();
}

// Called by libcurl to say which events it wants on `fd` (or that it is done with it).
int CurlLoop::onCurlSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) noexcept {
  auto* self = static_cast<CurlLoop*>(userp);
  auto* ctx = static_cast<SocketContext*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (ctx != nullptr) {
      // uv_close stops the poll itself; a uv_poll_stop first would cost a
      // second epoll_ctl(DEL) per transfer, which fails with ENOENT.
      uv_close(reinterpret_cast<uv_handle_t*>(&ctx->poll),
               [](uv_handle_t* h) { delete static_cast<SocketContext*>(h->data); });
      if (self->multi_ != nullptr) {
        curl_multi_assign(self->multi_, fd, nullptr);
      }
    }
    return 0;
  }
  if (self->closing_) {
    return 0;  // No new interest while stopping.
  }
  if (ctx == nullptr) {
    // No memory for it is answered as a poll that cannot be set up is: -1.
    ctx = new (std::nothrow) SocketContext{{}, fd, self};
    if (ctx == nullptr) {
      LOG_ERROR("watching a socket of an upstream transfer: out of memory");
      return -1;
    }
    if (uv_poll_init_socket(self->loop_, &ctx->poll, fd) != 0) {
      delete ctx;
      return -1;
    }
    ctx->poll.data = ctx;
    curl_multi_assign(self->multi_, fd, ctx);
  }
  int events = 0;
  if ((what & CURL_POLL_IN) != 0) {
    events |= UV_READABLE;
  }
  if ((what & CURL_POLL_OUT) != 0) {
    events |= UV_WRITABLE;
  }
  return uv_poll_start(&ctx->poll, events, &CurlLoop::onUvSocket) == 0 ? 0 : -1;
}

// Called by libcurl to (re)arm its single timeout: -1 stops it.
int CurlLoop::onCurlTimer(CURLM*, long timeout_ms, void* userp) noexcept {
  auto* self = static_cast<CurlLoop*>(userp);
  if (timeout_ms < 0) {
    self->timer_.stop();
    return 0;
  }
  // A 0 timeout fires in the next loop iteration, never from inside this
  // callback, so curl is not re-entered; no need to round it up to 1 ms.
  self->timer_.start(static_cast<uint64_t>(timeout_ms));
  return 0;
}

// Called by libuv when a curl socket is readable/writable, or failed.
void CurlLoop::onUvSocket(uv_poll_t* handle, int status, int events) noexcept {
  auto* ctx = static_cast<SocketContext*>(handle->data);
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if ((events & UV_READABLE) != 0) {
      flags |= CURL_CSELECT_IN;
    }
    if ((events & UV_WRITABLE) != 0) {
      flags |= CURL_CSELECT_OUT;
    }
  }
  ctx->owner->socketAction(ctx->fd, flags);
}

void CurlLoop::kick() {
  if (added_ && depth_ == 0) {
    socketAction(CURL_SOCKET_TIMEOUT, 0);
  }
}

void CurlLoop::socketAction(curl_socket_t fd, int ev_bitmask) {
  if (multi_ == nullptr) {
    return;
  }
  added_ = false;
  int running = 0;
  ++depth_;
  CURLMcode rc = curl_multi_socket_action(multi_, fd, ev_bitmask, &running);
  --depth_;
  if (rc != CURLM_OK) {
    LOG_ERROR("curl_multi_socket_action: %s", curl_multi_strerror(rc));
  }
  std::vector<Deferred> deferred;
  deferred.swap(deferred_removals_);
  for (Deferred& d : deferred) {
    removeNow(d.easy.get());
  }
  deferred.clear();  // Frees the handles, now that curl no longer holds them.
  drainCompletions();
}

void CurlLoop::drainCompletions() {
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &pending)) {
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    CurlTransfer* owner = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&owner));
    // Remove first, then tell the owner, who may free the easy handle.
    removeNow(easy);
    if (owner != nullptr) {
      owner->onCurlDone(result);
    }
    if (multi_ == nullptr) {
      return;  // An owner closed the loop.
    }
  }
}

}  // namespace llmq::upstream
