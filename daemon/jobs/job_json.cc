// Job object rendering with JsonWriter: the stored tags, result and error details
// are JSON text already and are copied in as they are.
#include "daemon/jobs/job_json.h"

#include "common/json.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/model_router.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

// The store's states and the protocol's names are the same list.
static_assert(store::kJobStateCount == ipc::kJobStateCount);
static_assert(static_cast<int>(store::JobState::kSucceeded) == ipc::kFirstTerminalState);

namespace {

// Every key is a literal key (JsonWriter::key<"...">()): the comma, the quoted
// key and the colon are one constant append, as fast as hand-merged literals on
// the path of job.get, job.list and `wait` (bench/json_build.cc, docs/json.md).

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
  w.key<"job_id">().string(ipc::formatJobId(j.id));
  w.key<"state">().string(ipc::jobStateName(static_cast<int>(j.state)));
  w.key<"priority">().int64(j.priority);
  w.key<"client">().string(j.client);
  w.key<"tags">().raw(j.tags_json);
  w.key<"model">().string(j.model);
  w.key<"model_used">().stringOrNull(j.model_used);
  // How an alias or a route chose the model (daemon/policy/model_router.h); null when
  // the job named its model directly.
  w.key<"routing">();
  if (j.options.routing) {
    appendRoutingJson(w.rawValue(), *j.options.routing);
  } else {
    w.null();
  }
  // "user" when the job brought its own api_key (BYOK), which goes before the
  // server's keys; "server" otherwise (the daemon's keys, none for mock models).
  w.key<"key_source">().string(j.options.byok ? "user" : "server");
  w.key<"kind">().string(jobKindName(j.kind));
  w.key<"stream">().boolean(j.stream);
}

// How far it got: attempts, the idempotency key and the times of its states.
void writeProgress(JsonWriter& w, const store::JobRecord& j) {
  w.key<"attempts">().int64(j.attempts);
  w.key<"max_attempts">().int64(j.max_attempts);
  w.key<"idempotency_key">();
  if (j.idempotency_key) {
    w.string(*j.idempotency_key);
  } else {
    w.null();
  }
  writeTime(w.key<"created_at">(), j.created_at);
  writeTime(w.key<"started_at">(), j.started_at);
  writeTime(w.key<"finished_at">(), j.finished_at);
  writeTime(w.key<"next_attempt_at">(), j.next_attempt_at);
}

// The last error object, or null when the job has none.
void writeError(JsonWriter& w, const store::JobError& e) {
  if (e.code.empty()) {
    w.null();
    return;
  }
  w.beginObject();
  w.key<"code">().string(e.code);
  w.key<"message">().string(e.message);
  w.key<"upstream_status">();
  if (e.upstream_status != 0) {
    w.int64(e.upstream_status);
  } else {
    w.null();
  }
  w.key<"source">().string(e.source.empty() ? std::string_view("local") : std::string_view(e.source));
  if (!e.detail_json.empty()) {
    w.key<"upstream">().raw(e.detail_json);
  }
  if (e.retry_after_ms > 0) {
    w.key<"retry_after_ms">().int64(e.retry_after_ms);
  }
  w.endObject();
}

// What it came to: the result (or that retention pruned it), error and usage.
void writeOutcome(JsonWriter& w, const store::JobRecord& j) {
  w.key<"result">().raw(j.result_json.empty() ? std::string_view("null") : std::string_view(j.result_json));
  if (j.request_json.empty()) {
    w.key<"pruned">().boolean(true);  // [retention] dropped its request and result.
  }
  writeError(w.key<"error">(), j.error);
  w.key<"usage">();
  if (j.usage) {
    w.beginObject();
    w.key<"prompt_tokens">().int64(j.usage->prompt_tokens);
    w.key<"completion_tokens">().int64(j.usage->completion_tokens);
    w.key<"total_tokens">().int64(j.usage->total_tokens);
    w.key<"cost_usd">().decimal(j.usage->cost_usd);
    w.endObject();
  } else {
    w.null();
  }
}

}  // namespace

void appendJobJson(std::string& out, const store::JobRecord& j) {
  JsonWriter w(out);
  w.beginObject();
  writeIdentity(w, j);
  writeProgress(w, j);
  writeOutcome(w, j);
  w.endObject();
}

std::string jobToJson(const store::JobRecord& job) {
  std::string out;
  out.reserve(512 + job.result_json.size());
  appendJobJson(out, job);
  return out;
}

std::vector<std::string> parseTags(std::string_view tags_json) {
  std::vector<std::string> tags;
  if (tags_json.size() <= 2) {
    return tags;
  }
  json::Document doc;
  if (json::parse(doc, tags_json, nullptr) && doc.IsArray()) {
    for (const auto& t : doc.GetArray()) {
      if (t.IsString()) {
        tags.emplace_back(t.GetString(), t.GetStringLength());
      }
    }
  }
  return tags;
}

}  // namespace llmq::daemon
