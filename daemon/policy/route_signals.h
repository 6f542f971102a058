// daemon::RouteSignals: what the balancing strategies of a route read of recent
// traffic (daemon/policy/model_router.h, docs/configuration.md "Aliases and
// routing"). For each model: the jobs routed to it in the last minute
// (least-used), and over its last kOutcomes attempts of the last kWindowMs, the
// success rate (most-reliable) and the median latency (fastest). For each route:
// whose turn is next (round-robin). And a uniform draw (random, weighted).
//
// Fed by admission (a job was routed) and by the runner (an attempt ended).
// Bounded: at most kMaxModels models are followed (the first ones seen; any
// further model has no figures), each with a fixed-size history. In memory
// only: a restart begins with none. Loop thread only; times are monotonic.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"

namespace llmq::daemon {

class RouteSignals {
 public:
  static constexpr size_t kMaxModels = 1000;
  static constexpr size_t kOutcomes = 50;                     // Attempts kept per model.
  static constexpr int64_t kWindowMs = int64_t{15} * 60'000;  // Older attempts do not count.

  struct Figures {
    int64_t routed_last_minute = 0;
    int64_t outcomes = 0;                // Attempts within the window, at most kOutcomes.
    std::optional<double> success_rate;  // Unset without outcomes.
    std::optional<int64_t> median_latency_ms;
  };

  explicit RouteSignals(const Clock& clock);

  // A job was routed to `model` (its first model).
  void routed(std::string_view model);
  // An attempt on `model` that reached the upstream ended.
  void attemptEnded(std::string_view model, bool succeeded, int64_t latency_ms);
  // The figures of `model` now; zeros when it is not followed.
  Figures figures(std::string_view model) const;

  // The round-robin turn of `route`: 0, 1, 2, ... one per call.
  uint64_t nextTurn(std::string_view route);
  // Uniform in [0, n), n > 0: libsodium's, unless a test set its own.
  uint32_t draw(uint32_t n);
  void setDrawForTests(std::function<uint32_t(uint32_t)> draw) { draw_ = std::move(draw); }

 private:
  struct Outcome {
    int64_t at_ms = 0;
    int64_t latency_ms = 0;
    bool succeeded = false;
  };
  struct Model {
    std::array<int64_t, 60> routed_per_second{};  // By second, a ring.
    int64_t routed_second = 0;                    // The second of the ring's newest slot.
    std::array<Outcome, kOutcomes> outcomes{};
    size_t next_outcome = 0;
    size_t outcome_count = 0;
  };
  // The model's entry, made if there is room; nullptr past kMaxModels.
  Model* follow(std::string_view model);
  // Empties the slots of the seconds that passed since the ring's newest.
  static void advance(Model& m, int64_t second);

  const Clock& clock_;
  std::map<std::string, Model, std::less<>> models_;
  std::map<std::string, uint64_t, std::less<>> turns_;
  std::function<uint32_t(uint32_t)> draw_;
};

}  // namespace llmq::daemon
