// JobOptions: the one writer and the one reader of a job's stored options.
#include "common/job_options.h"

#include "common/json.h"

namespace llmq {

namespace {

void appendStrings(std::string& out, const std::vector<std::string>& list) {
  out.push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    json::appendString(out, list[i]);
  }
  out.push_back(']');
}

std::optional<std::string> text(const json::Value& object, const char* name) {
  const json::Value* v = json::member(object, name);
  return v != nullptr && v->IsString() ? std::optional<std::string>(json::view(*v)) : std::nullopt;
}

bool flag(const json::Value& object, const char* name) {
  const json::Value* v = json::member(object, name);
  return v != nullptr && v->IsBool() && v->GetBool();
}

std::optional<Routing> readRouting(const json::Value& object) {
  const json::Value* routing = json::member(object, "routing");
  if (routing == nullptr || !routing->IsObject()) {
    return std::nullopt;
  }
  const json::Value* models = json::member(*routing, "models");
  if (models == nullptr || !models->IsArray()) {
    return std::nullopt;
  }
  Routing r;
  for (const auto& m : models->GetArray()) {
    if (m.IsString() && m.GetStringLength() > 0) {
      r.models.emplace_back(json::view(m));
    }
  }
  if (r.models.empty()) {
    return std::nullopt;
  }
  r.route = text(*routing, "route");
  r.alias = text(*routing, "alias");
  r.reason = text(*routing, "reason").value_or("");
  return r;
}

std::optional<RequestFacts> readFacts(const json::Value& object) {
  const json::Value* facts = json::member(object, "facts");
  const json::Value* prompt = facts != nullptr && facts->IsObject() ? json::member(*facts, "prompt_tokens")
                                                                    : nullptr;
  if (prompt == nullptr || !prompt->IsInt64()) {
    return std::nullopt;
  }
  RequestFacts f;
  f.prompt_tokens = prompt->GetInt64();
  if (const json::Value* cap = json::member(*facts, "completion_cap"); cap != nullptr && cap->IsInt64()) {
    f.completion_cap = cap->GetInt64();
  }
  f.deterministic = flag(*facts, "deterministic");
  return f;
}

std::optional<OutputCheck> readOutputCheck(const json::Value& object) {
  const json::Value* check = json::member(object, "output_check");
  if (check == nullptr || !check->IsObject()) {
    return std::nullopt;
  }
  const std::optional<std::string> type = text(*check, "type");
  if (type == "json_object") {
    return OutputCheck{};
  }
  const json::Value* schema = json::member(*check, "schema");
  if (type != "json_schema" || schema == nullptr) {
    return std::nullopt;
  }
  return OutputCheck{OutputCheck::kJsonSchema, json::toString(*schema)};
}

}  // namespace

void appendRoutingJson(std::string& out, const Routing& r) {
  auto optional = [&out](const std::optional<std::string>& v) {
    if (v) {
      json::appendString(out, *v);
    } else {
      out.append("null");
    }
  };
  out.append("{\"route\":");
  optional(r.route);
  out.append(",\"alias\":");
  optional(r.alias);
  out.append(",\"model\":");
  json::appendString(out, r.models.empty() ? std::string_view() : std::string_view(r.model()));
  out.append(",\"models\":");
  appendStrings(out, r.models);
  out.append(",\"reason\":");
  json::appendString(out, r.reason);
  out.push_back('}');
}

namespace {

void appendFacts(std::string& out, const RequestFacts& f) {
  out.append("\"facts\":{\"prompt_tokens\":");
  out.append(std::to_string(f.prompt_tokens));
  if (f.completion_cap) {
    out.append(",\"completion_cap\":");
    out.append(std::to_string(*f.completion_cap));
  }
  out.append(f.deterministic ? ",\"deterministic\":true}" : "}");
}

// The schema is stored as it was taken at submit: compact JSON, already checked.
void appendOutputCheck(std::string& out, const OutputCheck& c) {
  if (c.kind == OutputCheck::kJsonObject) {
    out.append(",\"output_check\":{\"type\":\"json_object\"}");
    return;
  }
  out.append(",\"output_check\":{\"type\":\"json_schema\",\"schema\":");
  out.append(c.schema);
  out.push_back('}');
}

}  // namespace

std::string toJson(const JobOptions& o) {
  JobOptions rest = o;
  rest.facts.reset();
  if (rest == JobOptions{}) {
    // Most jobs: no option but the facts of their request, written alone.
    std::string out = "{";
    if (o.facts) {
      appendFacts(out, *o.facts);
    }
    out.push_back('}');
    return out;
  }
  std::string out = "{\"fallback_models\":";
  appendStrings(out, o.fallback_models);
  out.append(o.cache ? ",\"cache\":true" : ",\"cache\":false");
  out.append(o.byok ? ",\"byok\":true" : ",\"byok\":false");
  if (o.no_cache) {
    out.append(",\"no_cache\":true");
  }
  if (o.fail_when_cooling) {
    out.append(",\"fail_when_cooling\":true");
  }
  if (o.request_id) {
    out.append(",\"request_id\":");
    json::appendString(out, *o.request_id);
  }
  if (o.provider) {
    out.append(",\"provider\":");
    json::appendString(out, *o.provider);
  }
  if (o.routing) {
    out.append(",\"routing\":");
    appendRoutingJson(out, *o.routing);
  }
  if (o.facts) {
    out.push_back(',');
    appendFacts(out, *o.facts);
  }
  if (o.output_check) {
    appendOutputCheck(out, *o.output_check);
  }
  out.push_back('}');
  return out;
}

JobOptions parseJobOptions(std::string_view text_json) {
  JobOptions o;
  if (text_json.size() <= 2) {
    return o;  // "{}", the common case: no parse.
  }
  json::Document doc;
  if (!json::parse(doc, text_json, nullptr) || !doc.IsObject()) {
    return o;
  }
  if (const json::Value* f = json::member(doc, "fallback_models"); f != nullptr && f->IsArray()) {
    for (const auto& m : f->GetArray()) {
      if (m.IsString()) {
        o.fallback_models.emplace_back(json::view(m));
      }
    }
  }
  o.cache = flag(doc, "cache");
  o.byok = flag(doc, "byok");
  o.no_cache = flag(doc, "no_cache");
  o.fail_when_cooling = flag(doc, "fail_when_cooling");
  o.request_id = text(doc, "request_id");
  o.provider = text(doc, "provider");
  o.routing = readRouting(doc);
  o.facts = readFacts(doc);
  o.output_check = readOutputCheck(doc);
  return o;
}

}  // namespace llmq
