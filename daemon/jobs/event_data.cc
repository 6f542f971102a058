// Event data with literal keys (JsonWriter::key<"...">()): one constant append
// per key, as hand-merged literals cost, on the path of every streamed chunk
// (bench/json_build.cc measures both; docs/json.md).
#include "daemon/jobs/event_data.h"

#include "common/json_writer.h"

namespace llmq::daemon::event_data {

std::string started(int64_t attempt, std::string_view model, std::string_view key_source) {
  std::string d;
  JsonWriter w(d);
  w.beginObject().key<"attempt">().int64(attempt).key<"model">().string(model);
  w.key<"key_source">().string(key_source).endObject();
  return d;
}

std::string retrying(int64_t attempt, int64_t delay_ms, std::string_view why, int upstream_status,
                     std::string_view fallback_model) {
  std::string d;
  JsonWriter w(d);
  w.beginObject().key<"attempt">().int64(attempt).key<"delay_ms">().int64(delay_ms);
  w.key<"reason">().string(why).key<"upstream_status">();
  if (upstream_status != 0) {
    w.int64(upstream_status);
  } else {
    w.null();
  }
  if (!fallback_model.empty()) {
    w.key<"model">().string(fallback_model);
  }
  w.endObject();
  return d;
}

std::string messageChunk(const upstream::StreamDelta& delta) {
  std::string d;
  d.reserve(32 + delta.content.size() + delta.reasoning.size() + delta.tool_calls_json.size());
  JsonWriter w(d);
  w.beginObject().key<"delta">().string(delta.content).key<"index">().int64(delta.index);
  if (!delta.reasoning.empty()) {
    w.key<"reasoning">().string(delta.reasoning);
  }
  if (!delta.tool_calls_json.empty()) {
    w.key<"tool_calls">().raw(delta.tool_calls_json);
  }
  if (!delta.reasoning_details_json.empty()) {
    w.key<"reasoning_details">().raw(delta.reasoning_details_json);
  }
  if (!delta.logprobs_json.empty()) {
    w.key<"logprobs">().raw(delta.logprobs_json);
  }
  w.endObject();
  return d;
}

std::string usage(const upstream::Completion& c, bool cached) {
  const upstream::Usage& u = c.usage;
  std::string d;
  JsonWriter w(d);
  w.beginObject().key<"usage">().beginObject();
  w.key<"prompt_tokens">().int64(u.prompt_tokens).key<"completion_tokens">().int64(u.completion_tokens);
  w.key<"total_tokens">().int64(u.total_tokens).key<"cache_read">().int64(u.cache_read);
  w.key<"cache_write">().int64(u.cache_write).key<"reasoning_tokens">().int64(u.reasoning_tokens);
  w.endObject().key<"cost_usd">().decimal(u.cost_usd);
  w.key<"model">().string(c.model).key<"provider">().string(c.provider).key<"id">().string(c.generation_id);
  if (cached) {
    w.key<"cached">().boolean(true);
  }
  w.endObject();
  return d;
}

std::string finalResponse(const upstream::Completion& c, bool cached) {
  std::string d;
  d.reserve(64 + c.content.size() + c.choice_finishes_json.size());
  JsonWriter w(d);
  w.beginObject().key<"content">().string(c.content).key<"finish_reason">().string(c.finish_reason);
  w.key<"model">().string(c.model);
  if (!c.choice_finishes_json.empty()) {
    w.key<"choices">().raw(c.choice_finishes_json);
  }
  if (cached) {
    w.key<"cached">().boolean(true);
  }
  w.endObject();
  return d;
}

std::string error(const upstream::Failure& f, bool will_retry) {
  std::string d;
  JsonWriter w(d);
  w.beginObject().key<"code">().string(f.code).key<"message">().string(f.message).key<"upstream_status">();
  if (f.upstream_status != 0) {
    w.int64(f.upstream_status);
  } else {
    w.null();
  }
  w.key<"retryable">().boolean(will_retry).key<"source">().string(f.source);
  if (f.code == "COOLING_DOWN" && f.retry_after_ms > 0) {
    w.key<"retry_after_ms">().int64(f.retry_after_ms);
  }
  w.endObject();
  return d;
}

std::string budgetAlert(const BudgetAlert& alert) {
  std::string d;
  JsonWriter w(d);
  w.beginObject().key<"scope">().string(alert.scope).key<"period">().string(alert.period);
  w.key<"spent_usd">().decimal(alert.spent_usd).key<"limit_usd">().decimal(alert.limit_usd);
  w.key<"fraction">().decimal(alert.fraction).endObject();
  return d;
}

std::string reason(std::string_view text) {
  std::string d;
  JsonWriter(d).beginObject().key<"reason">().string(text).endObject();
  return d;
}

}  // namespace llmq::daemon::event_data
