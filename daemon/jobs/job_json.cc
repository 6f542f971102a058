// Job object rendering by appends: the stored tags, result and error details are
// JSON text already and are copied in as they are.
#include "daemon/jobs/job_json.h"

#include "common/json.h"
#include "common/text.h"
#include "common/time.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/model_router.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

// The store's states and the protocol's names are the same list.
static_assert(store::kJobStateCount == ipc::kJobStateCount);
static_assert(static_cast<int>(store::JobState::kSucceeded) == ipc::kFirstTerminalState);

namespace {

// Written by hand-appends, not with JsonWriter: every state event carries a job
// object, and merged literals ("\",\"state\":\"") cost fewer appends than a
// writer's key and value calls (bench/json_build.cc measures both; docs/json.md).

// A time as an RFC 3339 string, or null when it has not happened.
void appendTime(std::string& out, const std::optional<int64_t>& ms) {
  if (ms) {
    out.push_back('"');
    appendRfc3339(out, *ms);
    out.push_back('"');
  } else {
    out.append("null");
  }
}

// What the job is and asks for: id, state, owner, model and how it was chosen.
void appendIdentity(std::string& out, const store::JobRecord& j) {
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
  // How an alias or a route chose the model (daemon/policy/model_router.h); null when
  // the job named its model directly.
  out.append(",\"routing\":");
  if (j.options.routing) {
    appendRoutingJson(out, *j.options.routing);
  } else {
    out.append("null");
  }
  // "user" when the job brought its own api_key (BYOK), which goes before the
  // server's keys; "server" otherwise (the daemon's keys, none for mock models).
  out.append(j.options.byok ? ",\"key_source\":\"user\"" : ",\"key_source\":\"server\"");
  out.append(",\"kind\":\"");
  out.append(jobKindName(j.kind));
  out.append(j.stream ? "\",\"stream\":true" : "\",\"stream\":false");
}

// How far it got: attempts, the idempotency key and the times of its states.
void appendProgress(std::string& out, const store::JobRecord& j) {
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
}

// The last error object, or null when the job has none.
void appendError(std::string& out, const store::JobError& e) {
  if (e.code.empty()) {
    out.append("null");
    return;
  }
  out.append("{\"code\":");
  json::appendString(out, e.code);
  out.append(",\"message\":");
  json::appendString(out, e.message);
  out.append(",\"upstream_status\":");
  out.append(e.upstream_status != 0 ? std::to_string(e.upstream_status) : "null");
  out.append(",\"source\":");
  json::appendString(out, e.source.empty() ? "local" : e.source);
  if (!e.detail_json.empty()) {
    out.append(",\"upstream\":");
    out.append(e.detail_json);
  }
  if (e.retry_after_ms > 0) {
    out.append(",\"retry_after_ms\":");
    out.append(std::to_string(e.retry_after_ms));
  }
  out.push_back('}');
}

// What it came to: the result (or that retention pruned it), error and usage.
void appendOutcome(std::string& out, const store::JobRecord& j) {
  out.append(",\"result\":");
  out.append(j.result_json.empty() ? std::string_view("null") : std::string_view(j.result_json));
  if (j.request_json.empty()) {
    out.append(",\"pruned\":true");  // [retention] dropped its request and result.
  }
  out.append(",\"error\":");
  appendError(out, j.error);
  out.append(",\"usage\":");
  if (j.usage) {
    out.append("{\"prompt_tokens\":");
    out.append(std::to_string(j.usage->prompt_tokens));
    out.append(",\"completion_tokens\":");
    out.append(std::to_string(j.usage->completion_tokens));
    out.append(",\"total_tokens\":");
    out.append(std::to_string(j.usage->total_tokens));
    out.append(",\"cost_usd\":");
    appendDecimal(out, j.usage->cost_usd);
    out.push_back('}');
  } else {
    out.append("null");
  }
}

}  // namespace

void appendJobJson(std::string& out, const store::JobRecord& j) {
  appendIdentity(out, j);
  appendProgress(out, j);
  appendOutcome(out, j);
  out.push_back('}');
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
