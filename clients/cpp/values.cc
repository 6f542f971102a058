// Reading job objects, events and acks into the library's structs, and writing
// the params of the typed calls. Every string that came from a user goes through
// json::appendString, so params are always well-formed JSON.
#include "clients/cpp/values.h"

#include <cstdio>

#include "ipc/protocol.h"

namespace llmq::client {
namespace {

std::string str(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? std::string(json::view(*v)) : std::string();
}

int64_t integer(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  if (v == nullptr || !v->IsNumber()) {
    return 0;
  }
  return v->IsInt64() ? v->GetInt64() : static_cast<int64_t>(v->GetDouble());
}

double number(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsNumber() ? v->GetDouble() : 0.0;
}

bool boolean(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsBool() && v->GetBool();
}

const json::Value* object(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsObject() ? v : nullptr;
}

void addString(std::string& out, const char* name, std::string_view value) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  json::appendString(out, value);
}

void addRaw(std::string& out, const char* name, const std::string& raw) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  out += raw;
}

std::string stringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ",";
    }
    json::appendString(out, items[i]);
  }
  return out + "]";
}

std::string formatNumber(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

bool isTerminalState(std::string_view state) {
  for (int i = ipc::kFirstTerminalState; i < ipc::kJobStateCount; ++i) {
    if (state == ipc::kJobStateNames[i]) {
      return true;
    }
  }
  return false;
}

bool isJobState(std::string_view state) {
  for (const char* s : ipc::kJobStateNames) {
    if (state == s) {
      return true;
    }
  }
  return false;
}

bool isEventName(std::string_view name) {
  for (const char* e : ipc::kEventNames) {
    if (name == e) {
      return true;
    }
  }
  return false;
}

Job jobFromJson(const json::Value& v) {
  Job job;
  job.job_id = str(v, "job_id");
  job.state = str(v, "state");
  job.priority = static_cast<int>(integer(v, "priority"));
  job.client = str(v, "client");
  if (const json::Value* tags = json::member(v, "tags"); tags != nullptr && tags->IsArray()) {
    for (const auto& t : tags->GetArray()) {
      if (t.IsString()) {
        job.tags.emplace_back(json::view(t));
      }
    }
  }
  job.model = str(v, "model");
  job.model_used = str(v, "model_used");
  if (std::string kind = str(v, "kind"); !kind.empty()) {
    job.kind = std::move(kind);
  }
  job.attempts = static_cast<int>(integer(v, "attempts"));
  job.idempotency_key = str(v, "idempotency_key");
  job.created_at = str(v, "created_at");
  job.started_at = str(v, "started_at");
  job.finished_at = str(v, "finished_at");
  if (const json::Value* result = json::member(v, "result"); result != nullptr && !result->IsNull()) {
    job.result_json = json::toString(*result);
  }
  if (const json::Value* e = object(v, "error")) {
    job.error = JobError{str(*e, "code"), str(*e, "message"), static_cast<int>(integer(*e, "upstream_status")),
                         str(*e, "source")};
  }
  if (const json::Value* u = object(v, "usage")) {
    job.usage = Usage{integer(*u, "prompt_tokens"), integer(*u, "completion_tokens"), integer(*u, "total_tokens"),
                      number(*u, "cost_usd")};
  }
  job.json = json::toString(v);
  return job;
}

Event eventFromParams(const json::Value& params) {
  Event e;
  e.subscription = str(params, "subscription");
  e.job_id = str(params, "job_id");
  e.seq = integer(params, "seq");
  e.name = str(params, "event");
  e.ts = str(params, "ts");
  e.params_json = json::toString(params);
  const json::Value* data = object(params, "data");
  e.data_json = data != nullptr ? json::toString(*data) : "{}";
  if (data != nullptr) {
    if (e.name == "message_chunk") {
      e.text = str(*data, "delta");
    } else if (e.name == "final_response") {
      e.text = str(*data, "content");
    } else if (e.name == "usage") {
      e.cost_usd = number(*data, "cost_usd");
    }
  }
  // As ipc/PROTOCOL.md says: an error event ends the job unless it will be retried.
  e.terminal = e.name == "final_response" || e.name == "cancelled" || e.name == "expired" ||
               (e.name == "error" && (data == nullptr || !boolean(*data, "retryable")));
  return e;
}

SubmitAck submitAckFromJson(const json::Value& v) {
  SubmitAck ack;
  ack.job_id = str(v, "job_id");
  ack.state = str(v, "state");
  ack.deduplicated = boolean(v, "deduplicated");
  ack.subscription = str(v, "subscription");
  ack.json = json::toString(v);
  return ack;
}

DaemonStatus statusFromJson(const json::Value& v) {
  DaemonStatus s;
  s.version = str(v, "version");
  s.protocol_version = static_cast<int>(integer(v, "protocol_version"));
  s.pid = integer(v, "pid");
  s.json = json::toString(v);
  return s;
}

std::string SubmitRequest::paramsJson() const {
  std::string p = "{";
  if (!kind.empty()) {
    addString(p, "kind", kind);
  }
  addRaw(p, "request", request_json);
  if (priority) {
    addRaw(p, "priority", std::to_string(*priority));
  }
  if (!client.empty()) {
    addString(p, "client", client);
  }
  if (!tags.empty()) {
    addRaw(p, "tags", stringArray(tags));
  }
  if (!idempotency_key.empty()) {
    addString(p, "idempotency_key", idempotency_key);
  }
  if (max_attempts) {
    addRaw(p, "max_attempts", std::to_string(*max_attempts));
  }
  if (timeout_s) {
    addRaw(p, "timeout_s", formatNumber(*timeout_s));
  }
  if (deadline_s) {
    addRaw(p, "deadline_s", formatNumber(*deadline_s));
  }
  if (!fallback_models.empty()) {
    addRaw(p, "fallback_models", stringArray(fallback_models));
  }
  if (!route.empty()) {
    addString(p, "route", route);
  }
  if (!on_restart.empty()) {
    addString(p, "on_restart", on_restart);
  }
  if (subscribe) {
    addRaw(p, "subscribe", "true");
  }
  if (!extra_params_json.empty()) {
    p += ",";
    p += extra_params_json;
  }
  return p + "}";
}

std::string listParams(const ListQuery& q) {
  std::string p = "{";
  if (!q.state.empty()) {
    addString(p, "state", q.state);
  }
  if (!q.client.empty()) {
    addString(p, "client", q.client);
  }
  if (!q.tag.empty()) {
    addString(p, "tag", q.tag);
  }
  addRaw(p, "limit", std::to_string(q.limit));
  if (!q.cursor.empty()) {
    addString(p, "cursor", q.cursor);
  }
  if (q.include_result) {
    addRaw(p, "include_result", "true");
  }
  return p + "}";
}

std::string subscribeParams(const SubscribeRequest& r) {
  std::string p = "{";
  if (!r.job_id.empty()) {
    addString(p, "job_id", r.job_id);
  }
  if (!r.client.empty()) {
    addString(p, "client", r.client);
  }
  if (!r.tag.empty()) {
    addString(p, "tag", r.tag);
  }
  if (r.all) {
    addRaw(p, "all", "true");
  }
  if (!r.events.empty()) {
    addRaw(p, "events", stringArray(r.events));
  }
  return p + "}";
}

std::string jobIdParams(std::string_view job_id) {
  std::string p = "{";
  addString(p, "job_id", job_id);
  return p + "}";
}

}  // namespace llmq::client
