// The job every benchmark submits: a realistic small chat-completions request
// (model "mock/bench" unless set, one system and one ~200-byte user message), a client
// name and a tag. The SQLite baseline stores exactly these bytes.
#pragma once

#include <cstdint>
#include <string>

namespace llmq::bench {

inline constexpr char kModel[] = "mock/bench";
inline constexpr char kClient[] = "bench-client";
inline constexpr char kTag[] = "bench";
inline constexpr char kTagsJson[] = "[\"bench\"]";

struct Workload {
  // End-to-end runs add "stream": true and the mock knobs (no delays, N tokens).
  bool execute = false;
  int mock_tokens = 16;
  // The request's model (bench_upstream routes "bench/json..." and "bench/sse..."
  // to its canned HTTP upstream), and "stream": true without the mock knobs.
  const char* model = kModel;
  bool stream = false;
};

// The request body of job `i`, compact JSON, as the daemon stores it.
std::string requestJson(const Workload& w, int64_t i);

// The job.submit params of job `i`.
std::string submitParams(const Workload& w, int64_t i);

}  // namespace llmq::bench
