// daemon::RecentFailures: the HTTP front's memory of requests whose jobs llmqd
// gave up on, so that an SDK's own retry of the very same request is answered
// with the same failure instead of running it again. llmqd is meant to be the one
// retry layer: a job already spent its attempts (with backoff, fallbacks and
// breakers) before it failed, and SDKs such as LangChain's retry 5xx answers on
// their own whatever the answer's X-Should-Retry says: a persistent upstream
// failure would cost (SDK attempts) x (llmq attempts) upstream requests. A job
// an operator cancelled stays cancelled the same way.
//
// A request is identified by a BLAKE2b digest of its path, its body and the
// headers that change what runs (docs/http-api.md, "Retries"); nothing of it is
// kept in clear. Entries live `window_ms` on the monotonic clock; at most
// kMaxEntries are kept (the oldest goes first), each answer at most
// kMaxAnswerBytes. Loop thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::daemon {

class RecentFailures {
 public:
  static constexpr size_t kMaxEntries = 1024;
  static constexpr size_t kMaxAnswerBytes = size_t{16} * 1024;

  using Digest = std::array<unsigned char, 32>;

  // What was answered: replayed as it was.
  struct Answer {
    int status = 0;
    std::string headers;  // "Name: value\r\n" lines.
    std::string body;
  };

  explicit RecentFailures(int64_t window_ms) : window_ms_(window_ms) {}
  void setWindow(int64_t window_ms) { window_ms_ = window_ms; }
  bool enabled() const { return window_ms_ > 0; }

  // The digest of a request: `parts` (path, body, header values) in order, each
  // length-prefixed so that no two different lists digest alike.
  static Digest digest(const std::vector<std::string_view>& parts);

  // Remembers `answer` for `d` until now_ms + window. An answer longer than
  // kMaxAnswerBytes is not kept (such a request simply runs again).
  void remember(const Digest& d, Answer answer, int64_t now_ms);
  // The remembered answer for `d`, if its window has not passed.
  std::optional<Answer> find(const Digest& d, int64_t now_ms);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Answer answer;
    int64_t expires_ms = 0;
  };
  void expire(int64_t now_ms);

  int64_t window_ms_;
  std::map<Digest, Entry> entries_;
  std::deque<std::pair<int64_t, Digest>> order_;  // (expiry, digest), oldest first.
};

}  // namespace llmq::daemon
