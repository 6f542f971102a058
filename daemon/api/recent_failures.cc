#include "daemon/api/recent_failures.h"

#include <sodium.h>

namespace llmq::daemon {

RecentFailures::Digest RecentFailures::digest(const std::vector<std::string_view>& parts) {
  crypto_generichash_state state;
  Digest out{};
  crypto_generichash_init(&state, nullptr, 0, out.size());
  for (std::string_view p : parts) {
    const uint64_t n = p.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) {
      len[i] = static_cast<unsigned char>(n >> (8 * i));
    }
    crypto_generichash_update(&state, len, sizeof len);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(p.data()), p.size());
  }
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

void RecentFailures::expire(int64_t now_ms) {
  while (!order_.empty() && (order_.front().first <= now_ms || order_.size() > kMaxEntries)) {
    auto it = entries_.find(order_.front().second);
    // Only the entry this record made: a later remember() of the same digest
    // pushed a record of its own, with a later expiry.
    if (it != entries_.end() && it->second.expires_ms == order_.front().first) {
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

void RecentFailures::remember(const Digest& d, Answer answer, int64_t now_ms) {
  if (!enabled() || answer.headers.size() + answer.body.size() > kMaxAnswerBytes) {
    return;
  }
  const int64_t expires = now_ms + window_ms_;
  entries_[d] = Entry{std::move(answer), expires};
  order_.emplace_back(expires, d);
  expire(now_ms);
}

std::optional<RecentFailures::Answer> RecentFailures::find(const Digest& d, int64_t now_ms) {
  expire(now_ms);
  auto it = entries_.find(d);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second.answer;
}

}  // namespace llmq::daemon
