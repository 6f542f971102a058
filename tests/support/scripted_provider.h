// ScriptedProvider: an upstream::Provider whose answers a test writes down in
// advance, for the engine's unit tests (tests/support/engine_fixture.h). Each
// start() takes the next scripted Answer (a default success when none is
// left), records what it was asked (model, key, body, stream), and delivers
// the answer from a uv_idle_t on a later loop iteration, never from inside
// start() or cancel(), as the Provider contract requires. An answer marked
// `hold` waits until the test calls release(), so a test can see a job while
// it runs, cancel it, or fill every slot. Header-only; loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/uv_handle.h"
#include "upstream/provider.h"

namespace llmq::testing {

class ScriptedProvider final : public upstream::Provider {
 public:
  struct Answer {
    // Success: the assistant's text, split into these streamed deltas when the
    // attempt streams; the usage the upstream reports.
    std::vector<std::string> deltas = {"Hello", " there"};
    upstream::Usage usage = {10, 2, 12, 0, 0, 0, 0.0, false};
    // Set: the attempt fails with it instead.
    std::optional<upstream::Failure> failure;
    bool hold = false;  // Wait for release().
  };
  // What one start() was asked.
  struct Seen {
    std::string job_id;
    int attempt = 0;
    std::string model;
    std::string api_key;
    std::string body;
    bool stream = false;
    uint64_t handle = 0;
  };

  explicit ScriptedProvider(uv_loop_t* loop) : idle_(makeUvHandle<uv_idle_t>(loop, this, uv_idle_init)) {}

  static Answer fails(std::string code, int status, bool retryable) {
    Answer a;
    a.failure = upstream::Failure{};
    a.failure->code = std::move(code);
    a.failure->message = "scripted failure";
    a.failure->upstream_status = status;
    a.failure->retryable = retryable;
    return a;
  }
  static Answer costs(double usd) {
    Answer a;
    a.usage.cost_usd = usd;
    a.usage.cost_reported = true;
    return a;
  }
  static Answer held() {
    Answer a;
    a.hold = true;
    return a;
  }

  void push(Answer a) { script_.push_back(std::move(a)); }
  const std::vector<Seen>& seen() const { return seen_; }
  size_t cancelled() const { return cancelled_; }
  size_t holding() const {
    size_t n = 0;
    for (const auto& [h, t] : live_) {
      n += t.answer.hold ? 1 : 0;
    }
    return n;
  }
  // Lets every held attempt answer (on the next loop iteration).
  void release() {
    for (auto& [h, t] : live_) {
      t.answer.hold = false;
    }
    uv_idle_start(idle_.get(), &ScriptedProvider::onUvIdle);
  }

  std::string_view name() const override { return "scripted"; }
  Result<uint64_t> start(const upstream::AttemptRequest& r, upstream::TransferSink* sink) override {
    const uint64_t handle = ++last_handle_;
    seen_.push_back(
        Seen{r.job_id, r.attempt, r.model, std::string(r.api_key), std::string(r.request_json), r.stream, handle});
    Answer answer;
    if (!script_.empty()) {
      answer = std::move(script_.front());
      script_.pop_front();
    }
    live_.emplace(handle, Transfer{sink, r.model, r.stream, std::move(answer)});
    uv_idle_start(idle_.get(), &ScriptedProvider::onUvIdle);
    return handle;
  }
  void cancel(uint64_t handle) override { cancelled_ += live_.erase(handle); }
  size_t active() const override { return live_.size(); }

 private:
  struct Transfer {
    upstream::TransferSink* sink;
    std::string model;
    bool stream;
    Answer answer;
  };

  static std::string escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    return out;
  }

  // Called by libuv once per loop iteration while answers are due.
  static void onUvIdle(uv_idle_t* h) noexcept {
    auto* self = static_cast<ScriptedProvider*>(h->data);
    std::vector<uint64_t> due;
    for (const auto& [handle, t] : self->live_) {
      if (!t.answer.hold) {
        due.push_back(handle);
      }
    }
    if (due.empty()) {
      uv_idle_stop(h);
    }
    for (uint64_t handle : due) {
      auto it = self->live_.find(handle);
      if (it == self->live_.end()) {
        continue;  // Cancelled by an earlier answer's sink.
      }
      Transfer t = std::move(it->second);
      self->live_.erase(it);
      self->deliver(t);
    }
  }

  void deliver(Transfer& t) {
    if (t.answer.failure) {
      t.sink->onFailure(std::move(*t.answer.failure));
      return;
    }
    std::string text;
    for (const std::string& d : t.answer.deltas) {
      if (t.stream) {
        upstream::StreamDelta delta;
        delta.content = d;
        t.sink->onDelta(delta);
      }
      text += d;
    }
    upstream::Completion c;
    c.content = text;
    c.finish_reason = "stop";
    c.model = t.model;
    c.provider = "scripted";
    c.generation_id = "gen-scripted";
    c.usage = t.answer.usage;
    c.result_json =
        "{\"id\":\"gen-scripted\",\"object\":\"chat.completion\",\"model\":\"" + escaped(t.model) +
        "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + escaped(text) +
        "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":" + std::to_string(c.usage.prompt_tokens) +
        ",\"completion_tokens\":" + std::to_string(c.usage.completion_tokens) +
        ",\"total_tokens\":" + std::to_string(c.usage.total_tokens) + "}}";
    t.sink->onComplete(std::move(c));
  }

  UvHandlePtr<uv_idle_t> idle_;
  std::deque<Answer> script_;
  std::map<uint64_t, Transfer> live_;
  std::vector<Seen> seen_;
  uint64_t last_handle_ = 0;
  size_t cancelled_ = 0;
};

}  // namespace llmq::testing
