// The built-in `mock` provider (docs/mock.md): answers `mock/...` models inside the
// daemon with deterministic text, SSE-like pacing, token counts and a price, and
// can be told to fail. All transfers share one timer and a min-heap of due
// times, so a hundred thousand jobs cost no handle each.
//
// Models:
//   mock/echo          repeats the last user message
//   mock/fail-NNN      fails every attempt as an upstream HTTP NNN would
//   mock/flaky         fails the first attempt with 503, then succeeds
//   mock/interrupt     the first attempt's stream breaks half way, then succeeds
//   mock/hang          never answers (for timeouts and cancel)
//   mock/<anything>    deterministic words seeded by the prompt
// The request may carry "mock": {"tokens", "chunk_delay_ms", "first_chunk_delay_ms",
// "tokens_per_chunk"}; "max_tokens" caps the length. See docs/mock.md.
//
// Loop thread only. Destroying it closes the timer; the loop must run afterwards.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/uv_timer.h"
#include "upstream/mock_embedding.h"
#include "upstream/provider.h"

namespace llmq::upstream {

struct MockOptions {
  int64_t chunk_delay_ms = 25;        // Between chunks of a stream.
  int64_t first_chunk_delay_ms = 80;  // Before the first chunk (time to first token).
  int tokens_per_chunk = 1;
  int default_tokens = 24;  // When neither max_tokens nor mock.tokens says.
  double prompt_usd_per_mtok = 0.50;
  double completion_usd_per_mtok = 1.50;
};

class MockProvider final : public Provider {
 public:
  MockProvider(uv_loop_t* loop, MockOptions options);
  ~MockProvider() override;

  std::string_view name() const override { return "mock"; }
  Result<uint64_t> start(const AttemptRequest& request, TransferSink* sink) override;
  void cancel(uint64_t handle) override;
  size_t active() const override { return transfers_.size(); }
  std::string streamedText(uint64_t handle) const override;

  static bool handles(std::string_view model) { return model.rfind("mock/", 0) == 0; }
  // The mock models a model list shows (every mock/ name is served; these are
  // the ones docs/mock.md describes).
  static constexpr std::string_view kListedModels[] = {
      "mock/demo", "mock/echo", "mock/flaky", "mock/interrupt", "mock/hang", "mock/fail-429", "mock/fail-500"};

 private:
  struct Transfer {
    TransferSink* sink;
    std::string job_id;
    int attempt;
    std::string model;
    bool stream;
    std::vector<std::string> words;
    size_t next_word = 0;
    int64_t prompt_tokens = 0;
    int64_t chunk_delay_ms;
    int tokens_per_chunk;
    int fail_status = 0;   // Non-zero: fail with this status when due.
    size_t cut_after = 0;  // Non-zero: the stream breaks after this many words.
    bool hang = false;
    bool embedding = false;  // An embeddings request: `embeddings` is the answer.
    MockEmbeddings embeddings;
  };
  struct Due {
    uint64_t at;
    uint64_t seq;
    uint64_t handle;
    bool operator>(const Due& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void onTimer();
  void schedule(uint64_t handle, uint64_t at);
  void arm();
  void step(uint64_t handle);
  void complete(uint64_t handle);
  void fail(uint64_t handle);
  void breakStream(uint64_t handle);

  uv_loop_t* loop_;
  MockOptions options_;
  UvTimer timer_;
  uint64_t next_handle_ = 1;
  uint64_t next_seq_ = 0;
  std::unordered_map<uint64_t, Transfer> transfers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  uint64_t armed_at_ = UINT64_MAX;
};

}  // namespace llmq::upstream
