// MockProvider: one timer, a heap of due steps. With zero pacing a stream is
// emitted in a single step, so its cost is the events themselves.
#include "upstream/mock_provider.h"

#include <algorithm>
#include <cstdio>

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "upstream/mock_embedding.h"
#include "upstream/mock_text.h"

namespace llmq::upstream {
namespace {

// The message and retryability an upstream answer with `status` would have.
Failure failureFor(int status) {
  Failure f;
  f.upstream_status = status;
  f.source = "upstream";
  switch (status) {
    case 400:
      f.code = "INVALID_REQUEST";
      f.message = "mock: bad request";
      break;
    case 401:
      f.code = "UNAUTHORIZED";
      f.message = "mock: invalid API key";
      break;
    case 402:
      f.code = "OPENROUTER_SYSTEM_KEY_EXHAUSTED";
      f.message = "mock: insufficient credits";
      break;
    case 403:
      f.code = "MODERATION";
      f.message = "mock: flagged by moderation";
      break;
    case 408:
      f.code = "TIMEOUT";
      f.message = "mock: request timeout";
      f.retryable = true;
      break;
    case 429:
      f.code = "RATE_LIMITED";
      f.message = "mock: rate limited";
      f.retryable = true;
      break;
    default:
      f.code = "UPSTREAM_ERROR";
      f.message = "mock: upstream error " + std::to_string(status);
      f.retryable = status >= 500;
  }
  return f;
}

int64_t intKnob(const json::Value* mock, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (mock == nullptr) {
    return fallback;
  }
  const json::Value* v = json::member(*mock, name);
  if (v == nullptr || !v->IsInt64()) {
    return fallback;
  }
  return std::clamp(v->GetInt64(), lo, hi);
}

}  // namespace

MockProvider::MockProvider(uv_loop_t* loop, MockOptions options)
    : loop_(loop), options_(options), timer_(loop, [this] { onTimer(); }) {}

MockProvider::~MockProvider() = default;

Result<uint64_t> MockProvider::start(const AttemptRequest& req, TransferSink* sink) {
  if (!handles(req.model)) {
    return makeError(ErrorKind::kInvalidArgument, "mock: not a mock model: " + req.model);
  }
  json::Document doc;
  std::string err;
  if (!json::parse(doc, req.request_json, &err) || !doc.IsObject()) {
    return makeError(ErrorKind::kInvalidArgument, "mock: request is not a JSON object: " + err);
  }
  const bool embedding = req.kind == JobKind::kEmbedding;
  static const json::Value kNoMessages(rapidjson::kArrayType);
  const json::Value* messages = embedding ? &kNoMessages : json::member(doc, "messages");
  if (messages == nullptr || !messages->IsArray()) {
    return makeError(ErrorKind::kInvalidArgument, "mock: request has no messages array");
  }
  const json::Value* mock = json::member(doc, "mock");
  if (mock != nullptr && !mock->IsObject()) {
    mock = nullptr;
  }

  Transfer t;
  t.sink = sink;
  t.job_id = req.job_id;
  t.attempt = req.attempt;
  t.model = req.model;
  t.stream = req.stream && !embedding;
  t.prompt_tokens = mockPromptTokens(*messages);
  t.chunk_delay_ms = intKnob(mock, "chunk_delay_ms", options_.chunk_delay_ms, 0, 60000);
  t.tokens_per_chunk = static_cast<int>(intKnob(mock, "tokens_per_chunk", options_.tokens_per_chunk, 1, 4096));
  int64_t first_delay = intKnob(mock, "first_chunk_delay_ms", options_.first_chunk_delay_ms, 0, 600000);

  std::string_view variant = std::string_view(req.model).substr(5);  // After "mock/".
  int64_t tokens = intKnob(mock, "tokens", options_.default_tokens, 0, 100000);
  if (const json::Value* max = json::member(doc, "max_tokens"); max != nullptr && max->IsInt64()) {
    tokens = std::min<int64_t>(tokens, std::max<int64_t>(max->GetInt64(), 0));
  }
  if (variant == "echo") {
    std::string text = lastUserText(*messages);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t sp = text.find(' ', pos);
      if (sp == std::string::npos) {
        sp = text.size();
      }
      if (sp > pos) {
        t.words.emplace_back(text, pos, sp - pos);
      }
      pos = sp + 1;
    }
  } else if (variant.rfind("fail-", 0) == 0) {
    int status = std::atoi(std::string(variant.substr(5)).c_str());
    t.fail_status = status >= 100 && status <= 599 ? status : 500;
  } else if (variant == "flaky") {
    t.fail_status = req.attempt == 1 ? 503 : 0;
  } else if (variant == "hang") {
    t.hang = true;
  }
  if (embedding) {
    // The answer is made now (its size is bounded) and sent when due.
    Result<MockEmbeddings> e = mockEmbeddings(
        doc, req.model, "gen-mock-" + req.job_id + "-" + std::to_string(req.attempt), options_.prompt_usd_per_mtok);
    if (!e) {
      return e.takeError();
    }
    t.embeddings = std::move(*e);
    t.embedding = true;
  } else if (t.words.empty() && variant != "echo") {
    t.words = mockWords(std::string(req.request_json), static_cast<int>(tokens));
  }
  if (variant == "interrupt" && req.attempt == 1) {
    t.cut_after = std::max<size_t>(1, t.words.size() / 2);
  }

  uint64_t handle = next_handle_++;
  bool hang = t.hang;
  transfers_.emplace(handle, std::move(t));
  if (!hang) {
    schedule(handle, uv_now(loop_) + static_cast<uint64_t>(first_delay));
  }
  return handle;
}

void MockProvider::cancel(uint64_t handle) {
  transfers_.erase(handle);  // Its heap entry is skipped when it comes due.
}

void MockProvider::schedule(uint64_t handle, uint64_t at) {
  due_.push(Due{at, next_seq_++, handle});
  arm();
}

void MockProvider::arm() {
  if (due_.empty() || !timer_) {
    return;
  }
  uint64_t at = due_.top().at;
  if (at == armed_at_ && timer_.pending()) {
    return;
  }
  uint64_t now = uv_now(loop_);
  armed_at_ = at;
  timer_.start(at > now ? at - now : 0);
}

// Called by libuv when the earliest due step has come.
void MockProvider::onTimer() {
  armed_at_ = UINT64_MAX;
  uint64_t now = uv_now(loop_);
  // Steps scheduled while this runs (delay 0) wait for the next timer tick, so
  // one tick never runs unbounded.
  std::vector<uint64_t> ready;
  while (!due_.empty() && due_.top().at <= now) {
    ready.push_back(due_.top().handle);
    due_.pop();
  }
  for (uint64_t h : ready) {
    step(h);
  }
  arm();
}

void MockProvider::step(uint64_t handle) {
  auto it = transfers_.find(handle);
  if (it == transfers_.end()) {
    return;  // Cancelled.
  }
  if (it->second.fail_status != 0) {
    fail(handle);
    return;
  }
  if (!it->second.stream) {
    // A non-streamed answer arrives whole, after the time a stream would have taken.
    Transfer& t = it->second;
    if (t.next_word == 0 && t.chunk_delay_ms > 0 && !t.words.empty()) {
      t.next_word = t.words.size();
      uint64_t chunks =
          (t.words.size() + static_cast<size_t>(t.tokens_per_chunk) - 1) / static_cast<size_t>(t.tokens_per_chunk);
      schedule(handle, uv_now(loop_) + static_cast<uint64_t>(t.chunk_delay_ms) * (chunks - 1));
      return;
    }
    complete(handle);
    return;
  }
  for (;;) {
    it = transfers_.find(handle);
    if (it == transfers_.end()) {
      return;  // Cancelled by the sink.
    }
    Transfer& t = it->second;
    if (t.cut_after != 0 && t.next_word >= t.cut_after) {
      breakStream(handle);
      return;
    }
    if (t.next_word >= t.words.size()) {
      complete(handle);
      return;
    }
    std::string delta;
    size_t end = std::min(t.words.size(), t.next_word + static_cast<size_t>(t.tokens_per_chunk));
    for (size_t i = t.next_word; i < end; ++i) {
      if (i > 0) {
        delta.push_back(' ');
      }
      delta += t.words[i];
    }
    t.next_word = end;
    int64_t delay = t.chunk_delay_ms;
    bool more = t.next_word < t.words.size();
    upstream::StreamDelta d;
    d.content = delta;
    t.sink->onDelta(d);
    if (more && delay > 0) {
      if (transfers_.contains(handle)) {
        schedule(handle, uv_now(loop_) + static_cast<uint64_t>(delay));
      }
      return;
    }
  }
}

std::string MockProvider::streamedText(uint64_t handle) const {
  auto it = transfers_.find(handle);
  if (it == transfers_.end() || !it->second.stream) {
    return {};
  }
  const Transfer& t = it->second;
  std::string text;
  for (size_t i = 0; i < t.next_word && i < t.words.size(); ++i) {
    if (i > 0) {
      text.push_back(' ');
    }
    text += t.words[i];
  }
  return text;
}

void MockProvider::complete(uint64_t handle) {
  auto node = transfers_.extract(handle);
  Transfer& t = node.mapped();
  Completion c;
  if (t.embedding) {
    c.model = t.model;
    c.provider = "mock";
    c.generation_id = "gen-mock-" + t.job_id + "-" + std::to_string(t.attempt);
    c.usage.prompt_tokens = t.embeddings.prompt_tokens;
    c.usage.total_tokens = t.embeddings.prompt_tokens;
    c.usage.cost_usd = t.embeddings.cost_usd;
    c.usage.cost_reported = true;
    c.result_json = std::move(t.embeddings.result_json);
    t.sink->onComplete(std::move(c));
    return;
  }
  for (size_t i = 0; i < t.words.size(); ++i) {
    if (i > 0) {
      c.content.push_back(' ');
    }
    c.content += t.words[i];
  }
  c.finish_reason = "stop";
  c.model = t.model;
  c.provider = "mock";
  c.generation_id = "gen-mock-" + t.job_id + "-" + std::to_string(t.attempt);
  c.usage.prompt_tokens = t.prompt_tokens;
  c.usage.completion_tokens = static_cast<int64_t>(t.words.size());
  c.usage.total_tokens = c.usage.prompt_tokens + c.usage.completion_tokens;
  c.usage.cost_usd = (static_cast<double>(c.usage.prompt_tokens) * options_.prompt_usd_per_mtok +
                      static_cast<double>(c.usage.completion_tokens) * options_.completion_usd_per_mtok) /
                     1e6;
  c.usage.cost_reported = true;

  std::string& r = c.result_json;
  r.reserve(256 + c.content.size());
  r += "{\"id\":";
  json::appendString(r, c.generation_id);
  r += ",\"object\":\"chat.completion\",\"created\":";
  r += std::to_string(wallMs() / 1000);
  r += ",\"model\":";
  json::appendString(r, c.model);
  r += ",\"provider\":\"mock\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  json::appendString(r, c.content);
  r += "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":";
  r += std::to_string(c.usage.prompt_tokens);
  r += ",\"completion_tokens\":";
  r += std::to_string(c.usage.completion_tokens);
  r += ",\"total_tokens\":";
  r += std::to_string(c.usage.total_tokens);
  char cost[40];
  std::snprintf(cost, sizeof cost, "%.10g", c.usage.cost_usd);
  r += ",\"cost\":";
  r += cost;
  r += "}}";
  t.sink->onComplete(std::move(c));
}

void MockProvider::breakStream(uint64_t handle) {
  auto node = transfers_.extract(handle);
  node.mapped().sink->onFailure(
      Failure{"UPSTREAM_ERROR", "mock: the stream ended without [DONE]", 200, true, "upstream"});
}

void MockProvider::fail(uint64_t handle) {
  auto node = transfers_.extract(handle);
  node.mapped().sink->onFailure(failureFor(node.mapped().fail_status));
}

}  // namespace llmq::upstream
