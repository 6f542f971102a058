// CannedUpstream: an nginx in its own temp dir, on a free 127.0.0.1 port, that
// answers OpenAI-compatible chat completions with canned bodies, so bench_upstream
// can measure llmqd's HTTP path against a server that does no work:
//   POST /json/chat/completions  an OpenRouter-shaped chat.completion with
//                                usage.cost (`return 200 '...'`, application/json);
//   POST /sse/chat/completions   a static text/event-stream body: a comment line,
//                                `chunks` chunks of one word of delta.content each,
//                                a finish chunk, a usage chunk (choices [], cost)
//                                and `data: [DONE]`. nginx refuses POST to a static
//                                file (405); `error_page 405 =200 $uri` serves it.
// It runs with its own prefix, config, pid and logs (`-g 'daemon off;'`), in its
// own process group. Destroying it stops that group (SIGTERM, then SIGKILL after
// a bounded wait), reaps the master and removes the directory; the system nginx
// service is never touched.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {

struct CannedUpstreamOptions {
  int sse_chunks = 200;
  int worker_processes = 1;
};

class CannedUpstream {
 public:
  // Writes the config and the SSE body, starts nginx on a free port, waits (bounded)
  // until it accepts connections, then checks both locations with a real POST.
  static Result<std::unique_ptr<CannedUpstream>> start(const CannedUpstreamOptions& opts);
  ~CannedUpstream();
  CannedUpstream(const CannedUpstream&) = delete;
  CannedUpstream& operator=(const CannedUpstream&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_.path(); }
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path) const;

  // The assistant text of the canned chat.completion.
  static const char* jsonContent();
  // The delta.content of SSE chunk `i` (a distinct word and a space), and the text
  // of the whole stream (every delta, in order).
  static std::string sseDelta(int i);
  std::string sseContent() const;
  const std::string& jsonBody() const { return json_body_; }
  const std::string& sseBody() const { return sse_body_; }

  // SIGTERM to the process group and a bounded wait for the master's exit.
  Result<void> stop();

 private:
  explicit CannedUpstream(const CannedUpstreamOptions& opts);
  Result<void> launch(int port);
  Result<void> waitReady(int timeout_ms);
  Result<void> verify();
  std::string logTail() const;

  testing::TempDir dir_;
  CannedUpstreamOptions opts_;
  std::string json_body_;
  std::string sse_body_;
  int port_ = 0;
  pid_t pid_ = -1;  // The nginx master, leader of its own process group.
};

}  // namespace llmq::bench
