// RouteSignals: a per-second ring of routed jobs and a ring of the last
// attempts per model; figures are computed when a route asks (a few dozen
// entries).
#include "daemon/policy/route_signals.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

namespace llmq::daemon {

RouteSignals::RouteSignals(const Clock& clock) : clock_(clock) {}

RouteSignals::Model* RouteSignals::follow(std::string_view model) {
  if (auto it = models_.find(model); it != models_.end()) {
    return &it->second;
  }
  if (models_.size() >= kMaxModels) {
    return nullptr;  // Any user may name any mock/ model: the map stays bounded.
  }
  return &models_.emplace(std::string(model), Model{}).first->second;
}

void RouteSignals::advance(Model& m, int64_t second) {
  if (second <= m.routed_second) {
    return;
  }
  const int64_t gap = std::min<int64_t>(second - m.routed_second, static_cast<int64_t>(m.routed_per_second.size()));
  for (int64_t s = 1; s <= gap; ++s) {
    m.routed_per_second[static_cast<size_t>((m.routed_second + s) % 60)] = 0;
  }
  m.routed_second = second;
}

void RouteSignals::routed(std::string_view model) {
  Model* m = follow(model);
  if (m == nullptr) {
    return;
  }
  const int64_t second = clock_.monoMs() / 1000;
  advance(*m, second);
  ++m->routed_per_second[static_cast<size_t>(second % 60)];
}

void RouteSignals::attemptEnded(std::string_view model, bool succeeded, int64_t latency_ms) {
  Model* m = follow(model);
  if (m == nullptr) {
    return;
  }
  m->outcomes[m->next_outcome] = Outcome{clock_.monoMs(), std::max<int64_t>(0, latency_ms), succeeded};
  m->next_outcome = (m->next_outcome + 1) % kOutcomes;
  m->outcome_count = std::min(m->outcome_count + 1, kOutcomes);
}

RouteSignals::Figures RouteSignals::figures(std::string_view model) const {
  Figures f;
  auto it = models_.find(model);
  if (it == models_.end()) {
    return f;
  }
  const Model& m = it->second;
  const int64_t now = clock_.monoMs();
  const int64_t second = now / 1000;
  if (second - m.routed_second < 60) {
    // The slots of the last 60 s that the ring still holds (none before second 0:
    // the monotonic clock starts near it at boot, and a slot index is never negative).
    for (int64_t s = std::max<int64_t>({second - 59, m.routed_second - 59, 0}); s <= m.routed_second; ++s) {
      f.routed_last_minute += m.routed_per_second[static_cast<size_t>(s % 60)];
    }
  }
  std::vector<int64_t> latencies;
  int64_t succeeded = 0;
  for (size_t i = 0; i < m.outcome_count; ++i) {
    const Outcome& o = m.outcomes[i];
    if (now - o.at_ms > kWindowMs) {
      continue;
    }
    latencies.push_back(o.latency_ms);
    succeeded += o.succeeded ? 1 : 0;
  }
  f.outcomes = static_cast<int64_t>(latencies.size());
  if (!latencies.empty()) {
    f.success_rate = static_cast<double>(succeeded) / static_cast<double>(latencies.size());
    std::nth_element(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>((latencies.size() - 1) / 2),
                     latencies.end());
    f.median_latency_ms = latencies[(latencies.size() - 1) / 2];
  }
  return f;
}

uint64_t RouteSignals::nextTurn(std::string_view route) {
  auto it = turns_.find(route);
  if (it == turns_.end()) {
    it = turns_.emplace(std::string(route), 0).first;
  }
  return it->second++;
}

uint32_t RouteSignals::draw(uint32_t n) { return draw_ ? draw_(n) % n : randombytes_uniform(n); }

}  // namespace llmq::daemon
