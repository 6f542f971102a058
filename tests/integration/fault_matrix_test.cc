// Integration: the fault matrix. Every fault the fake upstream
// can inject (tests/fake_upstream/README.md), alone and combined with a cancel, a
// restart (SIGKILL) and a subscriber that disconnects, against the end state,
// error code and event sequence ipc/PROTOCOL.md and docs/upstream.md document.
//
// One row per {fault, combination}; each runs for a plain and/or a streamed job
// (`modes`). A test starts its own llmqd (keys set aside by a 401/402, cooldowns
// and breakers must not leak between rows) against one fake upstream per suite.
// An observer connection subscribed to every event records the job's events from
// its `queued` on. The combination acts when the row's trigger event arrives:
//   cancel      job.cancel on another connection. A job that already ended is
//               an invalid state (-32004) and keeps its end.
//   restart     queue.pause (so nothing runs unobserved), SIGKILL, start again,
//               subscribe again, queue.resume. Events before the kill and after
//               the restart are matched separately ("|" in the pattern).
//   disconnect  the submitting connection, subscribed to its job, goes away; the
//               job must not notice: the observer sees the same events as alone.
// Rows whose cancel or restart must find the job still at work put a
// `delay-300` in front of the fault: the next attempt then sits in that delay.
//
// Event patterns: names separated by spaces; `chunk` is message_chunk, `error!`
// an error event with retryable false (the job's last), `error` one that is
// retried; `text` means `chunk+` for a streamed job and nothing for a plain one;
// a suffix `?`, `*` or `+` repeats; `[key>=N]` / `[key=V]` checks the event's data.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "store/database.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-testfa017c0ffee0123456789abcdef0123456789ab";
// Retries go quickly; breakers stay closed (a row retries the same model a few
// times); idle transfers are not what this matrix is about.
constexpr char kConfig[] =
    "[retry]\nbase_ms = 5\ncap_ms = 20\n"
    "[circuit]\nfailures = 1000\n";

enum class Combo { kAlone, kCancel, kRestart, kDisconnect };
enum Modes { kPlain = 1, kStream = 2, kBoth = 3 };
enum class Trigger { kNone, kStarted, kText, kError };  // kText: first chunk if streamed, else started.
enum class Setup { kNone, kRateLimited };               // kRateLimited: the key's window is used up.

struct FaultRow {
  const char* name;   // Test name part.
  const char* fault;  // The fake's fault spec; the job's model is fake/fault-<fault>.
  int modes;
  Combo combo;
  Trigger trigger;
  const char* state;       // The job's end state.
  const char* code;        // error.code of every error event, and of the job when it failed.
  int status;              // upstream_status of those (0: null).
  const char* events;      // Pattern (see the header).
  const char* extra = "";  // More job.submit params.
  Setup setup = Setup::kNone;
  int max_attempts = 2;
};

using C = Combo;
using T = Trigger;

// Retried faults fail after max_attempts = 2 (every row submits with it).
constexpr char kTwice[] = "queued started error retrying started error!";
constexpr char kTwiceText[] = "queued started text error retrying started text error!";
constexpr char kOnce[] = "queued started error!";
constexpr char kOk[] = "queued started text usage final_response";
constexpr char kCancelledInRetry[] = "queued started error retrying started? cancelled";
constexpr char kCancelledInRetryText[] = "queued started text error retrying started? cancelled";
// An RST discards what the client had not read yet: on a busy machine the chunks
// sent before it may never reach llmqd, so a reset attempt has `text?` (chunk*).
constexpr char kTwiceResetText[] = "queued started text? error retrying started text? error!";
constexpr char kCancelledInRetryResetText[] = "queued started text? error retrying started? cancelled";

const FaultRow kRows[] = {
    // --- No fault, slow first byte, slow body: success. --------------------------------
    {"ok_alone", "ok", kBoth, C::kAlone, T::kNone, "succeeded", "", 0, kOk},
    {"ok_disconnect", "ok", kBoth, C::kDisconnect, T::kStarted, "succeeded", "", 0, kOk},
    {"delay_alone", "delay-300", kBoth, C::kAlone, T::kNone, "succeeded", "", 0, kOk},
    {"delay_cancel", "delay-300", kBoth, C::kCancel, T::kStarted, "cancelled", "", 0, "queued started cancelled"},
    {"delay_restart", "delay-300", kBoth, C::kRestart, T::kStarted, "succeeded", "", 0,
     "queued started | started text usage final_response"},
    {"delay_disconnect", "delay-300", kBoth, C::kDisconnect, T::kStarted, "succeeded", "", 0, kOk},
    {"drip_alone", "drip-40", kBoth, C::kAlone, T::kNone, "succeeded", "", 0, kOk},
    {"drip_cancel", "drip-100", kBoth, C::kCancel, T::kText, "cancelled", "", 0, "queued started chunk* cancelled"},
    {"drip_restart", "drip-100", kBoth, C::kRestart, T::kText, "succeeded", "", 0,
     "queued started chunk* | started text usage final_response"},
    {"drip_disconnect", "drip-40", kBoth, C::kDisconnect, T::kText, "succeeded", "", 0, kOk},

    // --- 4xx the upstream will answer the same way again: fail at once. -----------------
    // A cancel after the failure is refused; a restart leaves the failure as it is.
    {"s400_alone", "400", kBoth, C::kAlone, T::kNone, "failed", "INVALID_REQUEST", 400, kOnce},
    {"s400_cancel", "400", kBoth, C::kCancel, T::kError, "failed", "INVALID_REQUEST", 400, kOnce},
    {"s400_restart", "400", kBoth, C::kRestart, T::kError, "failed", "INVALID_REQUEST", 400,
     "queued started error! |"},
    {"s400_disconnect", "400", kBoth, C::kDisconnect, T::kStarted, "failed", "INVALID_REQUEST", 400, kOnce},
    {"s401_alone", "401", kBoth, C::kAlone, T::kNone, "failed", "UNAUTHORIZED", 401, kOnce},
    {"s401_cancel", "401", kPlain, C::kCancel, T::kError, "failed", "UNAUTHORIZED", 401, kOnce},
    {"s401_restart", "401", kPlain, C::kRestart, T::kError, "failed", "UNAUTHORIZED", 401,
     "queued started error! |"},
    {"s401_disconnect", "401", kPlain, C::kDisconnect, T::kStarted, "failed", "UNAUTHORIZED", 401, kOnce},
    // 402: the only server key is exhausted and none is left (docs/upstream.md).
    {"s402_alone", "402", kBoth, C::kAlone, T::kNone, "failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", 402, kOnce},
    {"s402_cancel", "402", kPlain, C::kCancel, T::kError, "failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", 402, kOnce},
    {"s402_restart", "402", kPlain, C::kRestart, T::kError, "failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", 402,
     "queued started error! |"},
    {"s402_disconnect", "402", kPlain, C::kDisconnect, T::kStarted, "failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED",
     402, kOnce},
    {"s403_alone", "403", kBoth, C::kAlone, T::kNone, "failed", "MODERATION", 403, kOnce},
    {"s403_cancel", "403", kPlain, C::kCancel, T::kError, "failed", "MODERATION", 403, kOnce},
    {"s403_restart", "403", kPlain, C::kRestart, T::kError, "failed", "MODERATION", 403, "queued started error! |"},
    {"s403_disconnect", "403", kPlain, C::kDisconnect, T::kStarted, "failed", "MODERATION", 403, kOnce},
    {"s404_alone", "404", kBoth, C::kAlone, T::kNone, "failed", "INVALID_REQUEST", 404, kOnce},
    {"s404_cancel", "404", kPlain, C::kCancel, T::kError, "failed", "INVALID_REQUEST", 404, kOnce},
    {"s404_restart", "404", kPlain, C::kRestart, T::kError, "failed", "INVALID_REQUEST", 404,
     "queued started error! |"},
    {"s404_disconnect", "404", kPlain, C::kDisconnect, T::kStarted, "failed", "INVALID_REQUEST", 404, kOnce},
    {"s422_alone", "422", kBoth, C::kAlone, T::kNone, "failed", "INVALID_REQUEST", 422, kOnce},

    // --- Retried (408, 429, 5xx, timeouts, network, cut streams), then failed. ----------
    {"s408_alone", "408", kBoth, C::kAlone, T::kNone, "failed", "TIMEOUT", 408, kTwice},
    {"s408_cancel", "delay-300+408", kPlain, C::kCancel, T::kError, "cancelled", "TIMEOUT", 408, kCancelledInRetry},
    {"s408_restart", "delay-300+408", kPlain, C::kRestart, T::kError, "failed", "TIMEOUT", 408,
     "queued started error retrying started? | started error!"},
    {"s408_disconnect", "408", kPlain, C::kDisconnect, T::kStarted, "failed", "TIMEOUT", 408, kTwice},
    // 429: the key cools down (at least 1 s without Retry-After) before the retry.
    {"s429_alone", "429-0", kBoth, C::kAlone, T::kNone, "failed", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started error!"},
    {"s429_cancel", "429-0", kPlain, C::kCancel, T::kError, "cancelled", "RATE_LIMITED", 429,
     "queued started error retrying cancelled"},
    {"s429_restart", "429-0", kPlain, C::kRestart, T::kError, "failed", "RATE_LIMITED", 429,
     "queued started error retrying | started error!"},
    {"s429_disconnect", "429-0", kPlain, C::kDisconnect, T::kStarted, "failed", "RATE_LIMITED", 429,
     "queued started error retrying started error!"},
    {"s429_upstream_alone", "429-0+upstream", kBoth, C::kAlone, T::kNone, "failed", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started error!"},
    // Retry-After and OpenRouter's reset header are floors under the backoff.
    {"s429_date_alone", "429-date", kPlain, C::kAlone, T::kNone, "failed", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started error!"},
    {"s429_reset_alone", "429-reset", kPlain, C::kAlone, T::kNone, "failed", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=1500] started error!"},
    {"s429_bare_alone", "429-bare", kPlain, C::kAlone, T::kNone, "failed", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started error!"},
    {"s500_alone", "500", kBoth, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 500, kTwice},
    {"s500_cancel", "delay-300+500", kBoth, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 500,
     kCancelledInRetry},
    {"s500_restart", "delay-300+500", kBoth, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR", 500,
     "queued started error retrying started? | started error!"},
    {"s500_disconnect", "500", kBoth, C::kDisconnect, T::kStarted, "failed", "UPSTREAM_ERROR", 500, kTwice},
    {"s502_alone", "502", kBoth, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 502, kTwice},
    {"s502_cancel", "delay-300+502", kPlain, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 502,
     kCancelledInRetry},
    {"s502_restart", "delay-300+502", kPlain, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR", 502,
     "queued started error retrying started? | started error!"},
    {"s502_disconnect", "502", kPlain, C::kDisconnect, T::kStarted, "failed", "UPSTREAM_ERROR", 502, kTwice},
    {"s503_alone", "503-0", kBoth, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 503, kTwice},
    {"s503_retry_after_alone", "503-1", kPlain, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 503,
     "queued started error retrying[delay_ms>=1000] started error!"},
    {"s503_cancel", "delay-300+503-0", kPlain, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 503,
     kCancelledInRetry},
    {"s503_restart", "delay-300+503-0", kPlain, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR", 503,
     "queued started error retrying started? | started error!"},
    {"s503_disconnect", "503-0", kPlain, C::kDisconnect, T::kStarted, "failed", "UPSTREAM_ERROR", 503, kTwice},
    // hang: no answer at all; the attempt's timeout_s ends it.
    {"hang_alone", "hang", kBoth, C::kAlone, T::kNone, "failed", "TIMEOUT", 0, kTwice, R"(,"timeout_s":0.4)"},
    {"hang_cancel", "hang", kBoth, C::kCancel, T::kStarted, "cancelled", "", 0, "queued started cancelled",
     R"(,"timeout_s":0.4)"},
    {"hang_restart", "hang", kBoth, C::kRestart, T::kError, "failed", "TIMEOUT", 0,
     "queued started error retrying started? | started error!", R"(,"timeout_s":0.4)"},
    {"hang_disconnect", "hang", kBoth, C::kDisconnect, T::kStarted, "failed", "TIMEOUT", 0, kTwice,
     R"(,"timeout_s":0.4)"},
    // drop (RST) and close (FIN) before any byte of the response.
    {"drop_alone", "drop", kBoth, C::kAlone, T::kNone, "failed", "NETWORK", 0, kTwice},
    {"drop_cancel", "delay-300+drop", kBoth, C::kCancel, T::kError, "cancelled", "NETWORK", 0, kCancelledInRetry},
    {"drop_restart", "delay-300+drop", kBoth, C::kRestart, T::kError, "failed", "NETWORK", 0,
     "queued started error retrying started? | started error!"},
    {"drop_disconnect", "drop", kBoth, C::kDisconnect, T::kStarted, "failed", "NETWORK", 0, kTwice},
    {"close_alone", "close", kBoth, C::kAlone, T::kNone, "failed", "NETWORK", 0, kTwice},
    {"close_cancel", "delay-300+close", kPlain, C::kCancel, T::kError, "cancelled", "NETWORK", 0,
     kCancelledInRetry},
    {"close_restart", "delay-300+close", kPlain, C::kRestart, T::kError, "failed", "NETWORK", 0,
     "queued started error retrying started? | started error!"},
    {"close_disconnect", "close", kPlain, C::kDisconnect, T::kStarted, "failed", "NETWORK", 0, kTwice},
    // reset: RST mid-body (plain) or after two chunks (stream).
    {"reset_alone", "reset", kBoth, C::kAlone, T::kNone, "failed", "NETWORK", 0, kTwiceResetText},
    {"reset_cancel", "delay-300+reset", kBoth, C::kCancel, T::kError, "cancelled", "NETWORK", 0,
     kCancelledInRetryResetText},
    {"reset_restart", "delay-300+reset", kBoth, C::kRestart, T::kError, "failed", "NETWORK", 0,
     "queued started text? error retrying started? | started text? error!"},
    // Disconnects at `started`: a chunk to trigger on may be lost to the RST.
    {"reset_disconnect", "reset", kBoth, C::kDisconnect, T::kStarted, "failed", "NETWORK", 0, kTwiceResetText},
    // no-done: a stream that ends cleanly but without data: [DONE] is cut, never a success.
    {"nodone_alone", "no-done", kStream, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 200,
     "queued started chunk+ error retrying[reason=stream_interrupted] started chunk+ error!"},
    {"nodone_cancel", "delay-300+no-done", kStream, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 200,
     kCancelledInRetryText},
    {"nodone_restart", "delay-300+no-done", kStream, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR", 200,
     "queued started text error retrying started? | started text error!"},
    {"nodone_disconnect", "no-done", kStream, C::kDisconnect, T::kText, "failed", "UPSTREAM_ERROR", 200,
     kTwiceText},
    // malformed: truncated JSON body (plain), a broken data: event (stream).
    {"malformed_alone", "malformed", kBoth, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 200, kTwiceText},
    {"malformed_cancel", "delay-300+malformed", kBoth, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 200,
     kCancelledInRetryText},
    {"malformed_restart", "delay-300+malformed", kBoth, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR", 200,
     "queued started text error retrying started? | started text error!"},
    {"malformed_disconnect", "malformed", kBoth, C::kDisconnect, T::kText, "failed", "UPSTREAM_ERROR", 200,
     kTwiceText},
    // midstream-error: HTTP 200, then an error object with code 502 (OpenRouter's way).
    {"midstream_alone", "midstream-error", kBoth, C::kAlone, T::kNone, "failed", "UPSTREAM_ERROR", 502, kTwiceText},
    {"midstream_cancel", "delay-300+midstream-error", kBoth, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR",
     502, kCancelledInRetryText},
    {"midstream_restart", "delay-300+midstream-error", kBoth, C::kRestart, T::kError, "failed", "UPSTREAM_ERROR",
     502, "queued started text error retrying started? | started text error!"},
    {"midstream_disconnect", "midstream-error", kBoth, C::kDisconnect, T::kText, "failed", "UPSTREAM_ERROR", 502,
     kTwiceText},

    // --- Faults that pass: the retry succeeds. -------------------------------------------
    {"once500_alone", "fail-once-500", kBoth, C::kAlone, T::kNone, "succeeded", "UPSTREAM_ERROR", 500,
     "queued started error retrying started text usage final_response"},
    {"once500_cancel", "delay-300+fail-once-500", kBoth, C::kCancel, T::kError, "cancelled", "UPSTREAM_ERROR", 500,
     kCancelledInRetry},
    {"once500_restart", "delay-300+fail-once-500", kBoth, C::kRestart, T::kError, "succeeded", "UPSTREAM_ERROR",
     500, "queued started error retrying started? | started text usage final_response"},
    {"once500_disconnect", "fail-once-500", kBoth, C::kDisconnect, T::kStarted, "succeeded", "UPSTREAM_ERROR", 500,
     "queued started error retrying started text usage final_response"},
    {"once429_alone", "fail-once-429-0", kBoth, C::kAlone, T::kNone, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started text usage final_response"},
    {"once429_cancel", "fail-once-429-0", kPlain, C::kCancel, T::kError, "cancelled", "RATE_LIMITED", 429,
     "queued started error retrying cancelled"},
    {"once429_restart", "fail-once-429-0", kPlain, C::kRestart, T::kError, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying | started text usage final_response"},
    {"once429_disconnect", "fail-once-429-0", kPlain, C::kDisconnect, T::kStarted, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying started text usage final_response"},
    {"oncereset_alone", "fail-once-reset", kBoth, C::kAlone, T::kNone, "succeeded", "NETWORK", 0,
     "queued started text error retrying started text usage final_response"},
    {"oncereset_cancel", "delay-300+fail-once-reset", kBoth, C::kCancel, T::kError, "cancelled", "NETWORK", 0,
     kCancelledInRetryResetText},
    {"oncereset_restart", "delay-300+fail-once-reset", kBoth, C::kRestart, T::kError, "succeeded", "NETWORK", 0,
     "queued started text? error retrying started? | started text usage final_response"},
    {"oncereset_disconnect", "fail-once-reset", kBoth, C::kDisconnect, T::kStarted, "succeeded", "NETWORK", 0,
     "queued started text? error retrying started text usage final_response"},
    {"oncehang_alone", "fail-once-hang", kPlain, C::kAlone, T::kNone, "succeeded", "TIMEOUT", 0,
     "queued started error retrying started usage final_response", R"(,"timeout_s":0.4)"},
    {"twice503_alone", "fail-2-503-0", kPlain, C::kAlone, T::kNone, "succeeded", "UPSTREAM_ERROR", 503,
     "queued started error retrying started error retrying started usage final_response", "", Setup::kNone, 3},
    // The fake's own limiter (a 429 storm on the key): the key's window is spent
    // before the job's request, which gets a 429 and succeeds after Retry-After.
    {"ratelimit_alone", "ok", kBoth, C::kAlone, T::kNone, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying[delay_ms>=900] started text usage final_response", "", Setup::kRateLimited},
    {"ratelimit_cancel", "ok", kPlain, C::kCancel, T::kError, "cancelled", "RATE_LIMITED", 429,
     "queued started error retrying cancelled", "", Setup::kRateLimited},
    {"ratelimit_restart", "ok", kPlain, C::kRestart, T::kError, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying | started text usage final_response", "", Setup::kRateLimited},
    {"ratelimit_disconnect", "ok", kPlain, C::kDisconnect, T::kStarted, "succeeded", "RATE_LIMITED", 429,
     "queued started error retrying started text usage final_response", "", Setup::kRateLimited},
};

struct Case {
  const FaultRow* row;
  bool stream;
};

std::vector<Case> allCases() {
  std::vector<Case> out;
  for (const FaultRow& r : kRows) {
    if ((r.modes & kPlain) != 0) {
      out.push_back({&r, false});
    }
    if ((r.modes & kStream) != 0) {
      out.push_back({&r, true});
    }
  }
  return out;
}

// ---- Events and patterns -------------------------------------------------------------

struct SeenEvent {
  std::string token;  // "queued", "chunk", "error!", ...
  int64_t seq = 0;
  std::string data;  // Compact JSON.
};

struct PatternItem {
  std::string token;
  int min = 1;
  int max = 1;                 // -1: unbounded.
  std::string key, op, value;  // Optional data check: key op value, op "=" or ">=".
};

std::vector<PatternItem> parsePattern(const std::string& text, bool stream) {
  std::vector<PatternItem> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    PatternItem item;
    if (word == "text" || word == "text?") {
      if (stream) {
        out.push_back({"chunk", word == "text" ? 1 : 0, -1});
      }
      continue;
    }
    const size_t bracket = word.find('[');
    std::string check;
    if (bracket != std::string::npos) {
      check = word.substr(bracket + 1, word.size() - bracket - 2);
      word = word.substr(0, bracket);
    }
    if (!word.empty() && (word.back() == '?' || word.back() == '*' || word.back() == '+')) {
      const char q = word.back();
      word.pop_back();
      item.min = q == '+' ? 1 : 0;
      item.max = q == '?' ? 1 : -1;
    }
    item.token = word;
    if (!check.empty()) {
      const size_t ge = check.find(">=");
      const size_t eq = check.find('=');
      if (ge != std::string::npos) {
        item.key = check.substr(0, ge);
        item.op = ">=";
        item.value = check.substr(ge + 2);
      } else {
        item.key = check.substr(0, eq);
        item.op = "=";
        item.value = check.substr(eq + 1);
      }
    }
    out.push_back(item);
  }
  return out;
}

bool dataMatches(const PatternItem& p, const std::string& data) {
  if (p.key.empty()) {
    return true;
  }
  json::Document d;
  if (!json::parse(d, data, nullptr) || !d.IsObject() || !d.HasMember(p.key.c_str())) {
    return false;
  }
  const json::Value& v = d[p.key.c_str()];
  if (p.op == ">=") {
    return v.IsNumber() && v.GetDouble() >= std::stod(p.value);
  }
  return v.IsString() ? v.GetString() == p.value : json::toString(v) == p.value;
}

bool matchFrom(const std::vector<PatternItem>& pat, size_t pi, const std::vector<SeenEvent>& ev, size_t ei) {
  if (pi == pat.size()) {
    return ei == ev.size();
  }
  const PatternItem& p = pat[pi];
  // Take n events for this item, fewest first.
  for (int n = 0;; ++n) {
    if (n >= p.min && matchFrom(pat, pi + 1, ev, ei + static_cast<size_t>(n))) {
      return true;
    }
    if ((p.max >= 0 && n >= p.max) || ei + static_cast<size_t>(n) >= ev.size() ||
        ev[ei + static_cast<size_t>(n)].token != p.token || !dataMatches(p, ev[ei + static_cast<size_t>(n)].data)) {
      return false;
    }
  }
}

std::string describe(const std::vector<SeenEvent>& ev) {
  std::string out;
  for (const SeenEvent& e : ev) {
    out += (out.empty() ? "" : " ") + e.token + "#" + std::to_string(e.seq);
  }
  return out.empty() ? "(none)" : out;
}

// ---- The test ---------------------------------------------------------------------------

// The fixture's own fake_ stays idle: one fake serves the whole suite (started once,
// reset per case), which keeps the matrix's many cases cheap.
class FaultMatrixTest : public DaemonFixture, public ::testing::WithParamInterface<Case> {
 protected:
  static void SetUpTestSuite() {
    suite_fake_ = new FakeUpstream();
    ASSERT_TRUE(suite_fake_->start());
  }
  static void TearDownTestSuite() {
    delete suite_fake_;
    suite_fake_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(nullptr, suite_fake_);
    ASSERT_TRUE(suite_fake_->running());
    ASSERT_TRUE(suite_fake_->reset());  // Records, fail-once counts, the limiter.
    launchDaemon({.config_toml = kConfig, .extra_env = openRouterEnv(kKey, suite_fake_->baseUrl())},
                 /*connect=*/false);
    connectAll();
  }

  void TearDown() override {
    observer_.reset();
    control_.reset();
    submitter_.reset();
    DaemonFixture::TearDown();
  }

  void connectAll() {
    observer_ = daemon_->connect();
    control_ = daemon_->connect();
    ASSERT_NE(nullptr, observer_);
    ASSERT_NE(nullptr, control_);
    callOk(*observer_, "events.subscribe", R"({"all":true})");
  }

  // Reads the observer's events for job_id_ into *out until `stop(event)` is true
  // or the timeout passes (false), or the connection ends (false, *eof set).
  bool readUntil(std::vector<SeenEvent>* out, const std::function<bool(const SeenEvent&)>& stop, int timeout_ms,
                 bool* eof = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      if (left <= 0) {
        return false;
      }
      auto line = observer_->nextNotification(left);
      if (!line) {
        if (eof != nullptr) {
          *eof = true;
        }
        return false;
      }
      if (!line->has_value()) {
        continue;
      }
      json::Document d;
      if (!json::parse(d, **line, nullptr) || !d.HasMember("params") || !d["params"].HasMember("job_id") ||
          job_id_ != d["params"]["job_id"].GetString()) {
        continue;
      }
      const json::Value& p = d["params"];
      SeenEvent e{p["event"].GetString(), p["seq"].GetInt64(), json::toString(p["data"])};
      if (e.token == "message_chunk") {
        e.token = "chunk";
      } else if (e.token == "error" && e.data.find("\"retryable\":false") != std::string::npos) {
        e.token = "error!";
      }
      out->push_back(e);
      if (stop(e)) {
        return true;
      }
    }
  }

  static bool terminal(const SeenEvent& e) {
    return e.token == "final_response" || e.token == "error!" || e.token == "cancelled" || e.token == "expired";
  }

  json::Document job() { return callOk(*control_, "job.get", "{\"job_id\":\"" + job_id_ + "\"}"); }

  static FakeUpstream* suite_fake_;
  std::unique_ptr<ipc::Client> observer_;   // Subscribed to every event.
  std::unique_ptr<ipc::Client> control_;    // job.get, job.cancel, queue.pause/resume.
  std::unique_ptr<ipc::Client> submitter_;  // Submits, subscribed to its job.
  std::string job_id_;
};

FakeUpstream* FaultMatrixTest::suite_fake_ = nullptr;

TEST_P(FaultMatrixTest, EndsInTheDocumentedStateWithTheDocumentedEvents) {
  const FaultRow& row = *GetParam().row;
  const bool stream = GetParam().stream;
  const std::string marker = std::string("fault matrix ") + row.name + (stream ? " stream" : " plain");

  if (row.setup == Setup::kRateLimited) {
    // One request per second per key, and this one spends the window.
    ASSERT_TRUE(suite_fake_->setRateLimit(1, 1000));
    HttpResponse spent = suite_fake_->post(suite_fake_->path("/chat/completions"),
                                           R"({"model":"fake/ok","messages":[{"role":"user","content":"spend"}]})",
                                           {{"Authorization", std::string("Bearer ") + kKey}});
    ASSERT_EQ(200, spent.status);
  }

  submitter_ = daemon_->connect();
  ASSERT_NE(nullptr, submitter_);
  json::Document ack =
      callOk(*submitter_, "job.submit",
             std::string(R"({"request":{"model":"fake/fault-)") + row.fault + R"(","max_tokens":4,"stream":)" +
                 (stream ? "true" : "false") + R"(,"messages":[{"role":"user","content":")" + marker +
                 R"("}]},"subscribe":true,"max_attempts":)" + std::to_string(row.max_attempts) + row.extra + "}");
  ASSERT_TRUE(ack.IsObject() && ack.HasMember("job_id"));
  job_id_ = ack["job_id"].GetString();

  Trigger trigger = row.trigger;
  if (trigger == Trigger::kText) {
    trigger = stream ? Trigger::kText : Trigger::kStarted;
  }
  const auto isTrigger = [trigger](const SeenEvent& e) {
    switch (trigger) {
      case Trigger::kNone:
        return false;
      case Trigger::kStarted:
        return e.token == "started";
      case Trigger::kText:
        return e.token == "chunk";
      case Trigger::kError:
        return e.token == "error" || e.token == "error!";
    }
    return false;
  };

  std::vector<SeenEvent> before;  // Every event, or those before the kill.
  std::vector<SeenEvent> after;   // After the restart.
  int cancel_code = 0;
  if (row.combo == Combo::kAlone) {
    ASSERT_TRUE(readUntil(&before, terminal, 30000)) << describe(before);
  } else {
    ASSERT_TRUE(readUntil(
        &before, [&](const SeenEvent& e) { return isTrigger(e) || terminal(e); }, 30000))
        << describe(before);
    ASSERT_TRUE(isTrigger(before.back())) << "the job ended before the trigger: " << describe(before);
    switch (row.combo) {
      case Combo::kCancel:
        cancel_code = callError(*control_, "job.cancel", "{\"job_id\":\"" + job_id_ + "\"}");
        if (!terminal(before.back())) {
          ASSERT_TRUE(readUntil(&before, terminal, 30000)) << describe(before);
        }
        break;
      case Combo::kDisconnect:
        submitter_.reset();
        if (!terminal(before.back())) {
          ASSERT_TRUE(readUntil(&before, terminal, 30000)) << describe(before);
        }
        break;
      case Combo::kRestart: {
        callOk(*control_, "queue.pause", "{}");
        daemon_->kill9();
        bool eof = false;
        readUntil(
            &before, [](const SeenEvent&) { return false; }, 2000, &eof);  // What was sent before.
        EXPECT_TRUE(eof);
        observer_.reset();
        control_.reset();
        submitter_.reset();
        ASSERT_TRUE(daemon_->start());
        connectAll();
        json::Document j = job();
        ASSERT_TRUE(j.IsObject());
        const std::string state = j["state"].GetString();
        const bool ended = state == "succeeded" || state == "failed" || state == "cancelled" || state == "expired";
        callOk(*control_, "queue.resume", "{}");
        if (ended) {
          readUntil(
              &after, [](const SeenEvent&) { return false; }, 300);  // Nothing more may come.
        } else {
          ASSERT_TRUE(readUntil(&after, terminal, 30000)) << describe(before) << " | " << describe(after);
        }
        break;
      }
      case Combo::kAlone:
        break;
    }
  }
  const std::string seen = describe(before) + (row.combo == Combo::kRestart ? " | " + describe(after) : "");

  // The end state and the job's error.
  json::Document j = job();
  ASSERT_TRUE(j.IsObject());
  EXPECT_STREQ(row.state, j["state"].GetString()) << seen << "\n" << json::toString(j);
  const std::string state = row.state;
  if (state == "succeeded") {
    EXPECT_TRUE(j["error"].IsNull()) << json::toString(j);
    EXPECT_TRUE(j["result"].IsObject()) << json::toString(j);
  } else if (state == "cancelled") {
    EXPECT_STREQ("CANCELLED", j["error"]["code"].GetString()) << json::toString(j);
  } else {
    EXPECT_STREQ(row.code, j["error"]["code"].GetString()) << json::toString(j);
    if (row.status != 0) {
      EXPECT_EQ(row.status, j["error"]["upstream_status"].GetInt()) << json::toString(j);
      EXPECT_STREQ("upstream", j["error"]["source"].GetString()) << json::toString(j);
    } else {
      EXPECT_TRUE(j["error"]["upstream_status"].IsNull()) << json::toString(j);
    }
  }
  if (row.combo == Combo::kCancel) {
    // A job that already ended cannot be cancelled (-32004); any other is.
    EXPECT_EQ(state == "cancelled" ? 0 : -32004, cancel_code);
  }

  // The events: the sequence, each error's code and status, and seq one by one.
  const std::string pattern = row.events;
  const size_t bar = pattern.find('|');
  EXPECT_TRUE(matchFrom(parsePattern(pattern.substr(0, bar), stream), 0, before, 0))
      << "expected " << pattern << "\n     got " << seen;
  if (bar != std::string::npos) {
    EXPECT_TRUE(matchFrom(parsePattern(pattern.substr(bar + 1), stream), 0, after, 0))
        << "expected " << pattern << "\n     got " << seen;
  }
  for (const auto* list : {&before, &after}) {
    for (const SeenEvent& e : *list) {
      if (e.token != "error" && e.token != "error!") {
        continue;
      }
      json::Document d;
      ASSERT_TRUE(json::parse(d, e.data, nullptr));
      EXPECT_STREQ(row.code, d["code"].GetString()) << e.data;
      if (row.status != 0) {
        EXPECT_EQ(row.status, d["upstream_status"].GetInt()) << e.data;
      } else {
        EXPECT_TRUE(d["upstream_status"].IsNull()) << e.data;
      }
    }
  }
  for (size_t i = 1; i < before.size(); ++i) {
    EXPECT_EQ(before[i - 1].seq + 1, before[i].seq) << "seq goes up by one per event: " << seen;
  }
  if (!before.empty() && !after.empty()) {
    EXPECT_LT(before.back().seq, after.front().seq) << "no seq is used twice across a restart: " << seen;
  }
  for (size_t i = 1; i < after.size(); ++i) {
    EXPECT_EQ(after[i - 1].seq + 1, after[i].seq) << seen;
  }

  // The upstream saw one request per attempt that left (a restart may lose one
  // between its claim and its send), and the ledger holds every attempt.
  int requests = 0;
  for (const FakeRequest& r : suite_fake_->requests()) {
    requests += r.body.find(marker) != std::string::npos;
  }
  int started = 0;
  for (const auto* list : {&before, &after}) {
    for (const SeenEvent& e : *list) {
      started += e.token == "started";
    }
  }
  const int attempts = j["attempts"].GetInt();
  if (row.combo == Combo::kRestart) {
    EXPECT_LE(requests, attempts) << seen;
    EXPECT_GE(attempts, started) << seen;
  } else if (row.combo == Combo::kCancel) {
    EXPECT_EQ(started, attempts) << seen;
    EXPECT_LE(requests, attempts) << seen;  // The cancel can beat the request out.
  } else {
    EXPECT_EQ(started, attempts) << seen;
    EXPECT_EQ(attempts, requests) << seen;
  }

  // The daemon is still well, and holds no subscription for the job that ended
  // nor for a subscriber that left: only the observer's.
  json::Document status = callOk(*control_, "daemon.status", "{}");
  ASSERT_TRUE(status.IsObject());
  EXPECT_EQ(1, status["subscriptions"].GetInt()) << json::toString(status);
  EXPECT_EQ(row.combo == Combo::kDisconnect || row.combo == Combo::kRestart ? 2 : 3, status["connections"].GetInt())
      << json::toString(status);

  // The ledger after a clean stop: nothing left running; an attempt a kill cut is
  // there as interrupted (for certain when the kill came mid-attempt).
  observer_.reset();
  control_.reset();
  submitter_.reset();
  ASSERT_TRUE(daemon_->stop());
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto count = [&db](const char* sql) {
    auto st = (*db)->statement(sql);
    auto row_ok = st.step();
    return row_ok && *row_ok ? st.int64(0) : -1;
  };
  EXPECT_EQ(0, count("SELECT count(*) FROM attempts WHERE outcome = 'running'"));
  EXPECT_EQ(attempts, count("SELECT count(*) FROM attempts"));
  const int64_t interrupted = count("SELECT count(*) FROM attempts WHERE outcome = 'interrupted'");
  if (row.combo != Combo::kRestart) {
    EXPECT_EQ(0, interrupted);
  } else if (row.trigger == Trigger::kStarted || row.trigger == Trigger::kText) {
    EXPECT_EQ(1, interrupted) << seen;
  } else {
    EXPECT_LE(interrupted, 1) << seen;
  }
  EXPECT_EQ(state == "succeeded" ? 1 : 0, count("SELECT count(*) FROM attempts WHERE outcome = 'succeeded'"));
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.row->name << (c.stream ? " (stream)" : " (plain)") << ": fault " << c.row->fault;
}

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  return std::string(info.param.row->name) + (info.param.stream ? "_stream" : "_plain");
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultMatrixTest, ::testing::ValuesIn(allCases()), caseName);

}  // namespace
}  // namespace llmq::testing
