// upstream::CurlLoop drives a libcurl multi handle from the libuv loop with
// curl_multi_socket_action (after curl's docs/examples/multi-uv.c with
// its known bugs fixed): one uv_poll_t per curl socket, one timer for curl's
// timeout, completions drained with curl_multi_info_read after every action. No
// thread per request, never curl_easy_perform.
//
// Loop thread only. close() must run before the loop is closed; the destructor
// calls it. Shutdown order: remove every easy handle, curl_multi_cleanup (which may
// still call onCurlSocket), then close the timer; poll handles are freed in their
// close callbacks.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "common/uv_timer.h"

namespace llmq::upstream {

template <auto Fn>
struct CurlDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlDeleter<curl_easy_cleanup>>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlDeleter<curl_slist_free_all>>;

// The owner of an easy handle added to the loop. Set as CURLOPT_PRIVATE by add().
class CurlTransfer {
 public:
  virtual ~CurlTransfer() = default;
  // The transfer ended (result CURLE_OK or an error). The easy handle has been
  // removed from the multi handle already; the owner may free it now.
  virtual void onCurlDone(CURLcode result) = 0;
};

struct CurlLoopOptions {
  long max_host_connections = 64;  // Bounded connection pool per host.
  long max_total_connections = 256;
  // Response bytes all transfers together may hold while collecting answers
  // (each transfer has its own, smaller cap): a hostile upstream answering every
  // attempt at once cannot make llmqd hold max_inflight times one answer's cap.
  size_t max_buffered_bytes = size_t{256} << 20;
};

class CurlLoop {
 public:
  CurlLoop(uv_loop_t* loop, CurlLoopOptions options);
  ~CurlLoop();
  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

  // Starts `easy`; `owner->onCurlDone` is called exactly once later, unless
  // remove() comes first. Fails synchronously (and never calls back) otherwise.
  Result<void> add(CURL* easy, CurlTransfer* owner);
  // Stops a transfer; no callback follows. The loop takes the easy handle and its
  // header list and frees them once removed. Safe from inside curl callbacks: the
  // removal is then deferred to the end of the current socket action.
  void remove(CurlEasyPtr easy, CurlSlistPtr headers);
  // True while curl is running one of our callbacks (write, header, socket, timer).
  bool inCurlCallback() const { return depth_ > 0; }
  // Lets curl start the transfers added since its last action now, instead of on
  // its 0 ms timer in the next loop iteration. Call from a safe point of the loop
  // (not from a curl callback); completions may run from here.
  void kick();
  size_t active() const { return easies_.size(); }
  // The bound of CurlLoopOptions::max_buffered_bytes: a transfer claims bytes
  // before it keeps them (false: the bound would be passed, keep nothing) and
  // gives them back when it frees them.
  bool claimBuffered(size_t bytes);
  void releaseBuffered(size_t bytes) { buffered_ -= std::min(bytes, buffered_); }
  size_t buffered() const { return buffered_; }
  void close();

 private:
  struct SocketContext;
  static int onCurlSocket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp) noexcept;
  static int onCurlTimer(CURLM* multi, long timeout_ms, void* userp) noexcept;
  static void onUvSocket(uv_poll_t* handle, int status, int events) noexcept;
  void socketAction(curl_socket_t fd, int ev_bitmask);
  void drainCompletions();
  void removeNow(CURL* easy);

  uv_loop_t* loop_;
  size_t max_buffered_bytes_;
  size_t buffered_ = 0;
  CURLM* multi_ = nullptr;
  UvTimer timer_;                     // curl's timeout: a socket action on CURL_SOCKET_TIMEOUT.
  std::unordered_set<CURL*> easies_;  // Added and not yet removed.
  int depth_ = 0;
  bool closing_ = false;
  bool added_ = false;  // Transfers were added since the last socket action.
  struct Deferred {
    CurlEasyPtr easy;
    CurlSlistPtr headers;
  };
  std::vector<Deferred> deferred_removals_;
};

// curl_global_init, once per process, before any thread exists (main/tests).
void curlGlobalInit();

// Only http:// and https:// URLs, and no redirects: an API answer never needs
// one, and following it would send the request (and its Authorization header)
// wherever the upstream says, file:// and gopher:// included.
void restrictToHttp(CURL* easy);

}  // namespace llmq::upstream
