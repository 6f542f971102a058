// bench_json_build: ns per JSON text llmqd builds, written with JsonWriter
// (common/json_writer.h) beside the way each was built before, interleaved run
// by run in the same process:
//   - a job object (what job.get, job.list and every state event carry): a
//     succeeded job with its result and usage, and a failed one with an
//     upstream error; daemon/jobs/job_json.cc's hand-appends beside the same
//     object written with JsonWriter (both copied below; the daemon's own
//     appendJobJson is checked to write the same bytes);
//   - an event notification with a delta to escape (op d of docs/json.md), by
//     hand-appended strings and json::appendString;
//   - a usage.report row, formerly std::to_string concatenation;
//   - a models.list entry, formerly RapidJSON's Writer into a StringBuffer.
// Each pair's outputs are compared byte for byte first, and the benchmark fails
// on any difference. No daemon. Figures are medians of --runs runs.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench/support/report.h"
#include "common/json.h"
#include "common/json_writer.h"
#include "common/text.h"
#include "common/time.h"
#include "daemon/jobs/job_json.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/model_router.h"
#include "ipc/protocol.h"

namespace llmq::bench {
namespace {

// appendJobJson by hand-appends, as daemon/jobs/job_json.cc writes it (one function
// here), the baseline.
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

// The job object written with JsonWriter, which daemon/jobs/job_json.cc does not
// use for the cost measured here (docs/json.md).
// A time as an RFC 3339 string, or null when it has not happened.
void writeTime(JsonWriter& w, const std::optional<int64_t>& ms) {
  if (!ms) {
    w.null();
    return;
  }
  std::string& out = w.rawValue();
  out.push_back('"');
  appendRfc3339(out, *ms);
  out.push_back('"');
}

// What the job is and asks for: id, state, owner, model and how it was chosen.
void writeIdentity(JsonWriter& w, const store::JobRecord& j) {
  w.key("job_id").string(ipc::formatJobId(j.id));
  w.key("state").string(ipc::jobStateName(static_cast<int>(j.state)));
  w.key("priority").int64(j.priority);
  w.key("client").string(j.client);
  w.key("tags").raw(j.tags_json);
  w.key("model").string(j.model);
  w.key("model_used").stringOrNull(j.model_used);
  // How an alias or a route chose the model (daemon/policy/model_router.h); null when
  // the job named its model directly.
  w.key("routing");
  if (j.options.routing) {
    appendRoutingJson(w.rawValue(), *j.options.routing);
  } else {
    w.null();
  }
  // "user" when the job brought its own api_key (BYOK), which goes before the
  // server's keys; "server" otherwise (the daemon's keys, none for mock models).
  w.key("key_source").string(j.options.byok ? "user" : "server");
  w.key("kind").string(jobKindName(j.kind));
  w.key("stream").boolean(j.stream);
}

// How far it got: attempts, the idempotency key and the times of its states.
void writeProgress(JsonWriter& w, const store::JobRecord& j) {
  w.key("attempts").int64(j.attempts);
  w.key("max_attempts").int64(j.max_attempts);
  w.key("idempotency_key");
  if (j.idempotency_key) {
    w.string(*j.idempotency_key);
  } else {
    w.null();
  }
  w.key("created_at");
  writeTime(w, j.created_at);
  w.key("started_at");
  writeTime(w, j.started_at);
  w.key("finished_at");
  writeTime(w, j.finished_at);
  w.key("next_attempt_at");
  writeTime(w, j.next_attempt_at);
}

// The last error object, or null when the job has none.
void writeError(JsonWriter& w, const store::JobError& e) {
  if (e.code.empty()) {
    w.null();
    return;
  }
  w.beginObject();
  w.key("code").string(e.code);
  w.key("message").string(e.message);
  w.key("upstream_status");
  if (e.upstream_status != 0) {
    w.int64(e.upstream_status);
  } else {
    w.null();
  }
  w.key("source").string(e.source.empty() ? "local" : e.source);
  if (!e.detail_json.empty()) {
    w.key("upstream").raw(e.detail_json);
  }
  if (e.retry_after_ms > 0) {
    w.key("retry_after_ms").int64(e.retry_after_ms);
  }
  w.endObject();
}

// What it came to: the result (or that retention pruned it), error and usage.
void writeOutcome(JsonWriter& w, const store::JobRecord& j) {
  w.key("result").raw(j.result_json.empty() ? std::string_view("null") : std::string_view(j.result_json));
  if (j.request_json.empty()) {
    w.key("pruned").boolean(true);  // [retention] dropped its request and result.
  }
  w.key("error");
  writeError(w, j.error);
  w.key("usage");
  if (j.usage) {
    w.beginObject();
    w.key("prompt_tokens").int64(j.usage->prompt_tokens);
    w.key("completion_tokens").int64(j.usage->completion_tokens);
    w.key("total_tokens").int64(j.usage->total_tokens);
    w.key("cost_usd").decimal(j.usage->cost_usd);
    w.endObject();
  } else {
    w.null();
  }
}

void writerAppendJobJson(std::string& out, const store::JobRecord& j) {
  JsonWriter w(out);
  w.beginObject();
  writeIdentity(w, j);
  writeProgress(w, j);
  writeOutcome(w, j);
  w.endObject();
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

// The event notification of docs/json.md (op d).
const std::string kDelta = " quick \"brown\"\n\tfox\\ caf\xc3\xa9 \x01";

void formerEvent(std::string& out) {
  out += R"({"jsonrpc":"2.0","method":"event","params":{"subscription":)";
  json::appendString(out, "s1");
  out += R"(,"job_id":)";
  json::appendString(out, "j000000000001");
  out += R"(,"seq":)";
  out += std::to_string(7);
  out += R"(,"event":)";
  json::appendString(out, "message_chunk");
  out += R"(,"ts":)";
  json::appendString(out, "2026-11-24T02:46:07.123Z");
  out += R"(,"data":{"delta":)";
  json::appendString(out, kDelta);
  out += R"(,"index":)";
  out += std::to_string(0);
  out += "}}}";
}

void writerEvent(std::string& out) {
  JsonWriter w(out);
  w.beginObject().key("jsonrpc").string("2.0").key("method").string("event").key("params").beginObject();
  w.key("subscription").string("s1").key("job_id").string("j000000000001").key("seq").int64(7);
  w.key("event").string("message_chunk").key("ts").string("2026-11-24T02:46:07.123Z");
  w.key("data").beginObject().key("delta").string(kDelta).key("index").int64(0).endObject();
  w.endObject().endObject();
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
  const JobRecord ok_job = succeededJob();
  const JobRecord failed_job = failedJob();
  std::vector<Case> cases = {
      {"job object, succeeded", [&](std::string& o) { formerAppendJobJson(o, ok_job); },
       [&](std::string& o) { writerAppendJobJson(o, ok_job); }, 300000 * scale},
      {"job object, failed", [&](std::string& o) { formerAppendJobJson(o, failed_job); },
       [&](std::string& o) { writerAppendJobJson(o, failed_job); }, 300000 * scale},
      {"event notification", formerEvent, writerEvent, 1000000 * scale},
      {"usage.report row", formerUsageRow, writerUsageRow, 1000000 * scale},
      {"models.list entry", formerModelEntry, writerModelEntry, 500000 * scale},
  };
  for (const JobRecord* j : {&ok_job, &failed_job}) {
    std::string daemon_text;
    std::string copy;
    llmq::daemon::appendJobJson(daemon_text, *j);
    formerAppendJobJson(copy, *j);
    if (daemon_text != copy) {
      std::fprintf(stderr, "FAILED the copy of appendJobJson differs from daemon/jobs/job_json.cc's\n");
      return 1;
    }
  }
  for (const Case& c : cases) {
    std::string a;
    std::string b;
    c.former(a);
    c.writer(b);
    if (a != b) {
      std::fprintf(stderr, "FAILED %s: the outputs differ\n  former: %s\n  writer: %s\n", c.name, a.c_str(),
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
