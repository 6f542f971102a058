// daemon::KeyCreditPoller: what each OpenRouter server key has left (the money
// issue, "key credit"). Every [openrouter] credit_check_s it asks OpenRouter's
// GET /key for each pool key in turn (one request at a time; the endpoint is
// cheap, but a pool of keys should not be a burst) and records limit, usage and
// remaining in the KeyPool, where keys.status shows them and the job runner skips
// a key whose remaining credit is below a job's worst case, as if it were
// exhausted. Between checks, what llmqd spends with a key comes off its credit.
// A 401 from /key marks the key invalid; other failures keep the last figures.
//
// Loop thread only. close() before the providers' curl loop closes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/uv_timer.h"
#include "daemon/policy/key_pool.h"
#include "daemon/turn/run_state.h"

namespace llmq {
class Clock;
}  // namespace llmq

namespace llmq::upstream {
class HttpGet;
struct HttpGetResponse;
}  // namespace llmq::upstream

namespace llmq::daemon {

struct Config;
class KeyPool;
class ProviderRegistry;

// Parses a GET /key body ({"data": {"limit", "usage", "limit_remaining", ...}}).
Result<KeyCredit> parseKeyCredit(std::string_view body, int64_t now_ms);

class KeyCreditPoller {
 public:
  // The keys it asks about, and the providers' curl loop it asks on.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    KeyPool& keys;
    ProviderRegistry& providers;
    const RunState& run;
  };
  explicit KeyCreditPoller(Parts parts);
  ~KeyCreditPoller();
  KeyCreditPoller(const KeyCreditPoller&) = delete;
  KeyCreditPoller& operator=(const KeyCreditPoller&) = delete;

  // Arms the first check (soon after startup) when there are keys and an interval.
  void init();
  void close();

 private:
  void checkNext();
  void onChecked(Result<upstream::HttpGetResponse> r);
  void armTimer(int64_t delay_ms);

  Parts p_;
  UvTimer timer_;  // The next key's check is due.
  std::unique_ptr<upstream::HttpGet> get_;
  std::string url_;
  size_t next_key_ = 0;  // The key the running (or next) check is for.
  bool closed_ = false;
};

}  // namespace llmq::daemon
