// bench_json_build: ns per JSON text llmqd builds, written with JsonWriter
// (common/json_writer.h), beside a frozen copy of the hand-appended code each
// replaced, interleaved run by run in the same process:
//   - a job object (job.get, job.list, `wait`): a succeeded job with its result
//     and usage, and a failed one with an upstream error; the daemon's own
//     appendJobJson (daemon/jobs/job_json.cc) beside the former hand-appends;
//   - event notifications as the runner and the EventBus write them for every
//     event: the data object (daemon/jobs/event_data.h) and the line's tail
//     (daemon/turn/event_line.h), for a message_chunk with a plain token, one
//     with a delta to escape (op d of docs/json.md), and the usage and
//     final_response pair that ends a job; and a subscription's line prefix,
//     which the former code wrote for every event and the EventBus now writes
//     once per subscription;
//   - a usage.report row, formerly std::to_string concatenation;
//   - a models.list entry, formerly RapidJSON's Writer into a StringBuffer.
// Each pair's outputs are compared byte for byte first, and the benchmark fails
// on any difference. No daemon. Figures are medians of --runs runs.
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/support/report.h"
#include "common/json.h"
#include "common/json_writer.h"
#include "common/text.h"
#include "common/time.h"
#include "daemon/jobs/event_data.h"
#include "daemon/jobs/job_json.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/model_router.h"
#include "daemon/turn/event_line.h"
#include "ipc/protocol.h"
#include "upstream/provider.h"

namespace llmq::bench {
namespace {

// appendJobJson by hand-appends, as daemon/jobs/job_json.cc wrote it before
// JsonWriter (one function here), the baseline.
void appendTime(std::string& out, const std::optional<int64_t>& ms) {
  if (ms) {
    out.push_back('"');
    appendRfc3339(out, *ms);
    out.push_back('"');
  } else {
    out.append("null");
  }
}

void formerAppendJobJson(std::string& out, const store::JobRecord& j) {
  out.append("{\"job_id\":\"");
  out.append(ipc::formatJobId(j.id));
  out.append("\",\"state\":\"");
  out.append(ipc::jobStateName(static_cast<int>(j.state)));
  out.append("\",\"priority\":");
  out.append(std::to_string(j.priority));
  out.append(",\"client\":");
  json::appendString(out, j.client);
  out.append(",\"tags\":");
  out.append(j.tags_json);
  out.append(",\"model\":");
  json::appendString(out, j.model);
  out.append(",\"model_used\":");
  if (j.model_used.empty()) {
    out.append("null");
  } else {
    json::appendString(out, j.model_used);
  }
  out.append(",\"routing\":");
  if (j.options.routing) {
    appendRoutingJson(out, *j.options.routing);
  } else {
    out.append("null");
  }
  out.append(j.options.byok ? ",\"key_source\":\"user\"" : ",\"key_source\":\"server\"");
  out.append(",\"kind\":\"");
  out.append(jobKindName(j.kind));
  out.append(j.stream ? "\",\"stream\":true" : "\",\"stream\":false");
  out.append(",\"attempts\":");
  out.append(std::to_string(j.attempts));
  out.append(",\"max_attempts\":");
  out.append(std::to_string(j.max_attempts));
  out.append(",\"idempotency_key\":");
  if (j.idempotency_key) {
    json::appendString(out, *j.idempotency_key);
  } else {
    out.append("null");
  }
  out.append(",\"created_at\":");
  appendTime(out, j.created_at);
  out.append(",\"started_at\":");
  appendTime(out, j.started_at);
  out.append(",\"finished_at\":");
  appendTime(out, j.finished_at);
  out.append(",\"next_attempt_at\":");
  appendTime(out, j.next_attempt_at);
  out.append(",\"result\":");
  out.append(j.result_json.empty() ? std::string_view("null") : std::string_view(j.result_json));
  if (j.request_json.empty()) {
    out.append(",\"pruned\":true");
  }
  out.append(",\"error\":");
  if (j.error.code.empty()) {
    out.append("null");
  } else {
    out.append("{\"code\":");
    json::appendString(out, j.error.code);
    out.append(",\"message\":");
    json::appendString(out, j.error.message);
    out.append(",\"upstream_status\":");
    out.append(j.error.upstream_status != 0 ? std::to_string(j.error.upstream_status) : "null");
    out.append(",\"source\":");
    json::appendString(out, j.error.source.empty() ? "local" : j.error.source);
    if (!j.error.detail_json.empty()) {
      out.append(",\"upstream\":");
      out.append(j.error.detail_json);
    }
    if (j.error.retry_after_ms > 0) {
      out.append(",\"retry_after_ms\":");
      out.append(std::to_string(j.error.retry_after_ms));
    }
    out.push_back('}');
  }
  out.append(",\"usage\":");
  if (j.usage) {
    out.append("{\"prompt_tokens\":");
    out.append(std::to_string(j.usage->prompt_tokens));
    out.append(",\"completion_tokens\":");
    out.append(std::to_string(j.usage->completion_tokens));
    out.append(",\"total_tokens\":");
    out.append(std::to_string(j.usage->total_tokens));
    out.append(",\"cost_usd\":");
    out.append(decimal(j.usage->cost_usd));
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.push_back('}');
}

store::JobRecord succeededJob() {
  store::JobRecord j;
  j.id = 123456;
  j.state = store::JobState::kSucceeded;
  j.priority = 5;
  j.client = "bench-client";
  j.tags_json = R"(["bench","nightly"])";
  j.model = "openai/gpt-4o-mini";
  j.model_used = "openai/gpt-4o-mini";
  j.request_json = R"({"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
  j.idempotency_key = "run-42/item-7";
  j.stream = true;
  j.attempts = 1;
  j.created_at = 1764000000123;
  j.started_at = 1764000000456;
  j.finished_at = 1764000002789;
  j.result_json =
      R"({"id":"gen-1733558400-AbCdEfGhIjKlMnOpQrSt","object":"chat.completion","created":1733558400,)"
      R"("model":"openai/gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":)"
      R"("The quick brown fox jumps over the lazy dog. \"Quoted\", with a newline\nand caf\u00e9."},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":194,"completion_tokens":37,"total_tokens":231,)"
      R"("cost":0.000123}})";
  j.usage = store::Usage{194, 37, 231, 0.000123};
  return j;
}

store::JobRecord failedJob() {
  store::JobRecord j = succeededJob();
  j.state = store::JobState::kFailed;
  j.result_json.clear();
  j.usage.reset();
  j.attempts = 4;
  j.idempotency_key.reset();
  j.error.code = "UPSTREAM_ERROR";
  j.error.message = "upstream answered 502: \"Bad Gateway\"\n(provider: OpenAI)";
  j.error.upstream_status = 502;
  j.error.source = "upstream";
  j.error.detail_json = R"({"error":{"message":"Bad Gateway","code":502}})";
  return j;
}

// The event lines by hand-appends, as daemon/jobs/job_runner.cc and
// daemon/turn/event_bus.cc wrote them before JsonWriter, the baseline.
std::string formerTail(std::string_view job_id, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                       int64_t ts_ms) {
  std::string t;
  t.reserve(96 + job_id.size() + data_json.size());
  t.append(",\"job_id\":\"");
  t.append(job_id);
  t.append("\",\"seq\":");
  t.append(std::to_string(seq));
  t.append(",\"event\":\"");
  t.append(ipc::eventName(kind));
  t.append("\",\"ts\":\"");
  appendRfc3339(t, ts_ms);
  t.append("\",\"data\":");
  t.append(data_json.empty() ? std::string_view("{}") : data_json);
  t.append("}}\n");
  return t;
}

std::string formerPrefix(uint64_t subscription) {
  return "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"subscription\":\"s" +
         std::to_string(subscription) + "\"";
}

std::string formerChunkData(const upstream::StreamDelta& delta) {
  std::string d = "{\"delta\":";
  json::appendString(d, delta.content);
  d += ",\"index\":" + std::to_string(delta.index);
  if (!delta.reasoning.empty()) {
    d += ",\"reasoning\":";
    json::appendString(d, delta.reasoning);
  }
  if (!delta.tool_calls_json.empty()) {
    d += ",\"tool_calls\":";
    d += delta.tool_calls_json;
  }
  if (!delta.reasoning_details_json.empty()) {
    d += ",\"reasoning_details\":";
    d += delta.reasoning_details_json;
  }
  if (!delta.logprobs_json.empty()) {
    d += ",\"logprobs\":";
    d += delta.logprobs_json;
  }
  d += "}";
  return d;
}

std::string formerUsageData(const upstream::Completion& c, bool cached) {
  const char* tail = cached ? ",\"cached\":true}" : "}";
  std::string d = "{\"usage\":{\"prompt_tokens\":" + std::to_string(c.usage.prompt_tokens) +
                  ",\"completion_tokens\":" + std::to_string(c.usage.completion_tokens) +
                  ",\"total_tokens\":" + std::to_string(c.usage.total_tokens) +
                  ",\"cache_read\":" + std::to_string(c.usage.cache_read) +
                  ",\"cache_write\":" + std::to_string(c.usage.cache_write) +
                  ",\"reasoning_tokens\":" + std::to_string(c.usage.reasoning_tokens) +
                  "},\"cost_usd\":" + decimal(c.usage.cost_usd) + ",\"model\":";
  json::appendString(d, c.model);
  d += ",\"provider\":";
  json::appendString(d, c.provider);
  d += ",\"id\":";
  json::appendString(d, c.generation_id);
  return d + tail;
}

std::string formerFinalData(const upstream::Completion& c, bool cached) {
  const char* tail = cached ? ",\"cached\":true}" : "}";
  std::string d = "{\"content\":";
  json::appendString(d, c.content);
  d += ",\"finish_reason\":";
  json::appendString(d, c.finish_reason);
  d += ",\"model\":";
  json::appendString(d, c.model);
  if (!c.choice_finishes_json.empty()) {
    d += ",\"choices\":" + c.choice_finishes_json;
  }
  return d + tail;
}

std::string formerErrorData(const upstream::Failure& f, bool will_retry) {
  std::string d = "{\"code\":";
  json::appendString(d, f.code);
  d += ",\"message\":";
  json::appendString(d, f.message);
  d += ",\"upstream_status\":";
  d += f.upstream_status != 0 ? std::to_string(f.upstream_status) : "null";
  d += ",\"retryable\":";
  d += will_retry ? "true" : "false";
  d += ",\"source\":";
  json::appendString(d, f.source);
  if (f.code == "COOLING_DOWN" && f.retry_after_ms > 0) {
    d += ",\"retry_after_ms\":" + std::to_string(f.retry_after_ms);
  }
  d += "}";
  return d;
}

// What the events are about: job j00000001e240, seq 7, at a fixed time.
constexpr std::string_view kJobId = "j00000001e240";
constexpr int64_t kTs = 1764000000123;

// A streamed token, the commonest event of all.
upstream::StreamDelta plainChunk() {
  upstream::StreamDelta d;
  d.content = " quick";
  return d;
}

// The delta of op d: '"', '\n', '\t', '\\', UTF-8 and \x01 to escape.
const std::string kDelta = " quick \"brown\"\n\tfox\\ caf\xc3\xa9 \x01";

upstream::StreamDelta escapedChunk() {
  upstream::StreamDelta d;
  d.content = kDelta;
  return d;
}

upstream::Completion completion() {
  upstream::Completion c;
  c.content = "The quick brown fox jumps over the lazy dog. \"Quoted\", with a newline\nand caf\xc3\xa9.";
  c.finish_reason = "stop";
  c.model = "openai/gpt-4o-mini";
  c.provider = "openrouter";
  c.generation_id = "gen-1733558400-AbCdEfGhIjKlMnOpQrSt";
  c.usage = upstream::Usage{194, 37, 231, 0, 0, 0, 0.000123, true};
  return c;
}

// A usage.report row grouped by model and client.
void formerUsageRow(std::string& o) {
  o += "{\"model\":";
  json::appendString(o, "openai/gpt-4o-mini");
  o += ",\"client\":";
  json::appendString(o, "bench-client");
  o += ",";
  o += "\"requests\":" + std::to_string(1234) + ",\"prompt_tokens\":" + std::to_string(987654) +
       ",\"completion_tokens\":" + std::to_string(123456) + ",\"cached_tokens\":" + std::to_string(0) +
       ",\"reasoning_tokens\":" + std::to_string(4567) + ",\"cost_usd\":" + decimal(1.2345678);
  o += "}";
}

void writerUsageRow(std::string& o) {
  JsonWriter w(o);
  w.beginObject().key("model").string("openai/gpt-4o-mini").key("client").string("bench-client");
  w.key("requests").int64(1234).key("prompt_tokens").int64(987654).key("completion_tokens").int64(123456);
  w.key("cached_tokens").int64(0).key("reasoning_tokens").int64(4567).key("cost_usd").decimal(1.2345678);
  w.endObject();
}

// A models.list entry with known prices.
constexpr double kPrices[] = {1.5e-7, 6e-7, 0.0, 0.001, 7.5e-8, 0.0};
constexpr const char* kPriceNames[] = {"prompt", "completion", "request", "image", "cache_read", "cache_write"};

void formerModelEntry(std::string& out) {
  json::Buffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("id");
  json::writeString(w, "openai/gpt-4o-mini");
  w.Key("name");
  json::writeString(w, "OpenAI: GPT-4o-mini");
  w.Key("provider");
  json::writeString(w, "openrouter");
  w.Key("context_length");
  w.Int64(128000);
  w.Key("max_completion_tokens");
  w.Int64(16384);
  w.Key("pricing");
  w.StartObject();
  for (int i = 0; i < 6; ++i) {
    w.Key(kPriceNames[i]);
    w.Double(kPrices[i]);
  }
  w.EndObject();
  w.Key("source");
  w.String("fetched");
  w.EndObject();
  out.append(buf.GetString(), buf.GetSize());
}

void writerModelEntry(std::string& out) {
  JsonWriter w(out);
  w.beginObject().key("id").string("openai/gpt-4o-mini").key("name").string("OpenAI: GPT-4o-mini");
  w.key("provider").string("openrouter").key("context_length").int64(128000);
  w.key("max_completion_tokens").int64(16384).key("pricing").beginObject();
  for (int i = 0; i < 6; ++i) {
    w.key(kPriceNames[i]).roundTrip(kPrices[i]);
  }
  w.endObject().key("source").string("fetched").endObject();
}

using BuildFn = std::function<void(std::string&)>;

// ns per build over `iterations` builds into one reused string, as the callers
// reuse a page's or a connection's buffer.
double nsPerBuild(const BuildFn& fn, int64_t iterations) {
  std::string out;
  const double start = nowSeconds();
  for (int64_t i = 0; i < iterations; ++i) {
    out.clear();
    fn(out);
  }
  return (nowSeconds() - start) * 1e9 / static_cast<double>(iterations);
}

struct Case {
  const char* name;
  BuildFn former;
  BuildFn writer;
  int64_t iterations;
};

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) {
  using namespace llmq::bench;
  using llmq::store::JobRecord;
  int64_t runs = 5;
  int64_t scale = 1;
  if (!parseFlags(argc, argv, "bench_json_build",
                  {{"runs", &runs, 1, "runs per figure (the median is printed)"},
                   {"scale", &scale, 1, "multiplies the builds per run"}})) {
    return 2;
  }
  using llmq::ipc::EventKind;
  namespace daemon = llmq::daemon;
  namespace event_data = llmq::daemon::event_data;
  const JobRecord ok_job = succeededJob();
  const JobRecord failed_job = failedJob();
  const llmq::upstream::StreamDelta plain = plainChunk();
  const llmq::upstream::StreamDelta escaped = escapedChunk();
  const llmq::upstream::Completion done = completion();
  llmq::upstream::Failure failure;
  failure.code = "UPSTREAM_ERROR";
  failure.message = "upstream answered 502: \"Bad Gateway\"\n(provider: OpenAI)";
  failure.upstream_status = 502;
  std::vector<Case> cases = {
      {"job object, succeeded", [&](std::string& o) { formerAppendJobJson(o, ok_job); },
       [&](std::string& o) { daemon::appendJobJson(o, ok_job); }, 300000 * scale},
      {"job object, failed", [&](std::string& o) { formerAppendJobJson(o, failed_job); },
       [&](std::string& o) { daemon::appendJobJson(o, failed_job); }, 300000 * scale},
      {"message_chunk event, a plain token (data + tail)",
       [&](std::string& o) { o = formerTail(kJobId, 7, EventKind::kMessageChunk, formerChunkData(plain), kTs); },
       [&](std::string& o) {
         o = daemon::eventTail(kJobId, 7, EventKind::kMessageChunk, event_data::messageChunk(plain), kTs);
       },
       1000000 * scale},
      {"message_chunk event, op d's delta to escape (data + tail)",
       [&](std::string& o) { o = formerTail(kJobId, 7, EventKind::kMessageChunk, formerChunkData(escaped), kTs); },
       [&](std::string& o) {
         o = daemon::eventTail(kJobId, 7, EventKind::kMessageChunk, event_data::messageChunk(escaped), kTs);
       },
       1000000 * scale},
      {"usage + final_response events (data + tail)",
       [&](std::string& o) {
         o = formerTail(kJobId, 8, EventKind::kUsage, formerUsageData(done, false), kTs);
         o += formerTail(kJobId, 9, EventKind::kFinalResponse, formerFinalData(done, false), kTs);
       },
       [&](std::string& o) {
         o = daemon::eventTail(kJobId, 8, EventKind::kUsage, event_data::usage(done, false), kTs);
         o += daemon::eventTail(kJobId, 9, EventKind::kFinalResponse, event_data::finalResponse(done, false), kTs);
       },
       300000 * scale},
      {"error event (data + tail)",
       [&](std::string& o) { o = formerTail(kJobId, 4, EventKind::kError, formerErrorData(failure, true), kTs); },
       [&](std::string& o) {
         o = daemon::eventTail(kJobId, 4, EventKind::kError, event_data::error(failure, true), kTs);
       },
       1000000 * scale},
      {"event line prefix (former: every event; now: once per subscription)",
       [&](std::string& o) { o = formerPrefix(7); }, [&](std::string& o) { o = daemon::eventPrefix(7); },
       1000000 * scale},
      {"usage.report row", formerUsageRow, writerUsageRow, 1000000 * scale},
      {"models.list entry", formerModelEntry, writerModelEntry, 500000 * scale},
  };
  for (const Case& c : cases) {
    std::string a;
    std::string b;
    c.former(a);
    c.writer(b);
    if (a != b) {
      std::fprintf(stderr, "FAILED %s: the outputs differ\n  former: %s\n  JsonWriter: %s\n", c.name, a.c_str(),
                   b.c_str());
      return 1;
    }
  }
  for (const Case& c : cases) {
    std::vector<double> former;
    std::vector<double> writer;
    nsPerBuild(c.former, c.iterations / 10 + 1);  // Warm up.
    nsPerBuild(c.writer, c.iterations / 10 + 1);
    for (int64_t r = 0; r < runs; ++r) {
      former.push_back(nsPerBuild(c.former, c.iterations));
      writer.push_back(nsPerBuild(c.writer, c.iterations));
    }
    std::string text;
    c.writer(text);
    std::printf("%s (%zu bytes)\n", c.name, text.size());
    printLine("former, ns/build", median(former), runsList(former));
    printLine("JsonWriter, ns/build", median(writer), runsList(writer));
    std::printf("  JsonWriter / former: %s\n", fixed(median(writer) / median(former), 3).c_str());
  }
  return 0;
}
