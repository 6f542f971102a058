// Protocol vocabulary and param validation.
#include "ipc/protocol.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace llmq::ipc {

const char* jobStateName(int state) {
  return state >= 0 && state < kJobStateCount ? kJobStateNames[state] : "unknown";
}

int parseJobState(std::string_view name) {
  for (int i = 0; i < kJobStateCount; ++i) {
    if (name == kJobStateNames[i]) {
      return i;
    }
  }
  return -1;
}

const char* eventName(EventKind kind) { return kEventNames[static_cast<int>(kind)]; }

bool parseEventName(std::string_view name, EventKind* out) {
  for (int i = 0; i < kEventKindCount; ++i) {
    if (name == kEventNames[i]) {
      *out = static_cast<EventKind>(i);
      return true;
    }
  }
  return false;
}

std::string formatJobId(int64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "j%012" PRIx64, static_cast<uint64_t>(id));
  return buf;
}

bool parseJobId(std::string_view text, int64_t* id) {
  if (text.size() != 13 || text[0] != 'j') {
    return false;
  }
  uint64_t v = 0;
  for (char c : text.substr(1)) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = v * 16 + static_cast<uint64_t>(d);
  }
  if (v == 0 || v > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  *id = static_cast<int64_t>(v);
  return true;
}

Params::Params(const json::Value* params) : params_(params) {
  if (params_ != nullptr && !params_->IsObject()) {
    error_ = "params must be an object";
  }
}

void Params::fail(std::string message) {
  if (error_.empty()) {
    error_ = std::move(message);
  }
}

void Params::allowOnly(std::initializer_list<const char*> known) {
  if (params_ == nullptr || !params_->IsObject()) {
    return;
  }
  for (auto it = params_->MemberBegin(); it != params_->MemberEnd(); ++it) {
    std::string_view name = json::view(it->name);
    bool found = false;
    for (const char* k : known) {
      if (name == k) {
        found = true;
        break;
      }
    }
    if (!found) {
      fail("unknown parameter \"" + std::string(name) + "\"");
      return;
    }
  }
}

const json::Value* Params::find(const char* name, bool required) {
  const json::Value* v = params_ != nullptr ? json::member(*params_, name) : nullptr;
  if (v == nullptr && required) {
    fail(std::string("missing parameter \"") + name + "\"");
  }
  return v;
}

std::optional<std::string_view> Params::string(const char* name, bool required, size_t max_len) {
  const json::Value* v = find(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->IsString()) {
    fail(std::string("\"") + name + "\" must be a string");
    return std::nullopt;
  }
  if (v->GetStringLength() > max_len) {
    fail(std::string("\"") + name + "\" is longer than " + std::to_string(max_len) + " bytes");
    return std::nullopt;
  }
  return json::view(*v);
}

std::optional<int64_t> Params::integer(const char* name, int64_t min, int64_t max, bool required) {
  const json::Value* v = find(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->IsInt64()) {
    fail(std::string("\"") + name + "\" must be an integer");
    return std::nullopt;
  }
  int64_t i = v->GetInt64();
  if (i < min || i > max) {
    fail(std::string("\"") + name + "\" must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return i;
}

std::optional<double> Params::number(const char* name, double min, double max, bool required) {
  const json::Value* v = find(name, required);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->IsNumber()) {
    fail(std::string("\"") + name + "\" must be a number");
    return std::nullopt;
  }
  double d = v->GetDouble();
  if (!std::isfinite(d) || d < min || d > max) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "\"%s\" must be between %g and %g", name, min, max);
    fail(buf);
    return std::nullopt;
  }
  return d;
}

std::optional<bool> Params::boolean(const char* name) {
  const json::Value* v = find(name, false);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->IsBool()) {
    fail(std::string("\"") + name + "\" must be true or false");
    return std::nullopt;
  }
  return v->GetBool();
}

std::optional<std::vector<std::string>> Params::strings(const char* name, size_t max_count, size_t max_len) {
  const json::Value* v = find(name, false);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->IsArray()) {
    fail(std::string("\"") + name + "\" must be an array of strings");
    return std::nullopt;
  }
  if (v->Size() > max_count) {
    fail(std::string("\"") + name + "\" has more than " + std::to_string(max_count) + " elements");
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) {
    if (!e.IsString() || e.GetStringLength() == 0 || e.GetStringLength() > max_len) {
      fail(std::string("\"") + name + "\" must hold non-empty strings of at most " + std::to_string(max_len) +
           " bytes");
      return std::nullopt;
    }
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

const json::Value* Params::object(const char* name, bool required) {
  const json::Value* v = find(name, required);
  if (v != nullptr && !v->IsObject()) {
    fail(std::string("\"") + name + "\" must be an object");
    return nullptr;
  }
  return v;
}

bool isRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  for (char ch : id) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != ':' && ch != '-') {
      return false;
    }
  }
  return true;
}

std::string embeddingRequestProblem(const json::Value& request) {
  if (json::member(request, "messages") != nullptr) {
    return "an embedding request has \"input\", not \"request.messages\"";
  }
  if (const json::Value* stream = json::member(request, "stream"); stream != nullptr && !stream->IsFalse()) {
    return "an embedding request is not streamed: \"request.stream\" must be absent or false";
  }
  if (const json::Value* format = json::member(request, "encoding_format");
      format != nullptr &&
      !(format->IsString() && (json::view(*format) == "float" || json::view(*format) == "base64"))) {
    return "\"request.encoding_format\" must be \"float\" or \"base64\"";
  }
  if (const json::Value* dims = json::member(request, "dimensions");
      dims != nullptr &&
      !(dims->IsInt64() && dims->GetInt64() >= 1 && dims->GetInt64() <= kMaxEmbeddingDimensions)) {
    return "\"request.dimensions\" must be an integer from 1 to " + std::to_string(kMaxEmbeddingDimensions);
  }
  const json::Value* input = json::member(request, "input");
  if (input == nullptr) {
    return "missing \"request.input\"";
  }
  const char* kShape =
      "\"request.input\" must be a non-empty string, or a non-empty array of non-empty strings, of token ids, "
      "or of non-empty arrays of token ids";
  auto tokenId = [](const json::Value& v) { return v.IsInt64() && v.GetInt64() >= 0 && v.GetInt64() <= INT32_MAX; };
  if (input->IsString()) {
    return input->GetStringLength() > 0 ? std::string() : kShape;
  }
  if (!input->IsArray() || input->Empty()) {
    return kShape;
  }
  if (input->Size() > kMaxEmbeddingInputs) {
    return "\"request.input\" holds more than " + std::to_string(kMaxEmbeddingInputs) + " inputs";
  }
  const json::Value& first = (*input)[0];
  for (const json::Value& item : input->GetArray()) {
    bool ok = false;
    if (first.IsString()) {
      ok = item.IsString() && item.GetStringLength() > 0;
    } else if (first.IsArray()) {
      ok = item.IsArray() && !item.Empty() &&
           std::all_of(item.Begin(), item.End(), [&](const json::Value& t) { return tokenId(t); });
    } else {
      ok = tokenId(item);
    }
    if (!ok) {
      return kShape;
    }
  }
  return {};
}

namespace {

// The request body's own rules: its model, what its kind needs, `stream`.
void checkSubmitRequest(SubmitParams& s, std::string* error) {
  auto fail = [error](std::string message) {
    if (error->empty()) {
      *error = std::move(message);
    }
  };
  const json::Value* model = json::member(*s.request, "model");
  const json::Value* messages = json::member(*s.request, "messages");
  if (model != nullptr &&
      (!model->IsString() || model->GetStringLength() == 0 || model->GetStringLength() > kMaxNameBytes)) {
    fail("\"request.model\" must be a non-empty string of at most 256 bytes");
  } else if (model != nullptr) {
    s.model.assign(model->GetString(), model->GetStringLength());
  }
  if (s.kind == JobKind::kEmbedding) {
    if (std::string problem = embeddingRequestProblem(*s.request); !problem.empty()) {
      fail(problem);
    }
  } else if (s.kind == JobKind::kResponses) {
    // The daemon checks the rest (daemon/jobs/responses_format.h).
    if (messages != nullptr) {
      fail("a Responses request has \"input\", not \"request.messages\"");
    }
  } else if (messages == nullptr) {
    fail("missing \"request.messages\"");
  } else if (!messages->IsArray() || messages->Empty()) {
    fail("\"request.messages\" must be a non-empty array");
  } else {
    for (const auto& m : messages->GetArray()) {
      if (!m.IsObject() || json::member(m, "role") == nullptr || !json::member(m, "role")->IsString()) {
        fail("each of \"request.messages\" must be an object with a string \"role\"");
        break;
      }
    }
  }
  if (const json::Value* stream = json::member(*s.request, "stream")) {
    if (!stream->IsBool()) {
      fail("\"request.stream\" must be true or false");
    } else {
      s.stream = stream->GetBool();
    }
  }
}

// The names a submit carries: client, tags (a tag listed twice is the same tag:
// the first is kept, so a tag subscriber hears each event once), keys, request id.
void checkSubmitNames(SubmitParams& s, std::string* error) {
  auto fail = [error](std::string message) {
    if (error->empty()) {
      *error = std::move(message);
    }
  };
  if (s.priority < kMinPriority || s.priority > kMaxPriority) {
    fail("\"priority\" must be between " + std::to_string(kMinPriority) + " and " + std::to_string(kMaxPriority));
  }
  if (s.client && (s.client->empty() || s.client->size() > kMaxNameBytes)) {
    fail(s.client->empty() ? "\"client\" must not be empty" : "\"client\" is longer than 256 bytes");
  }
  // Counted before duplicates are dropped, as the array was given: the check
  // below is quadratic, so it only ever sees kMaxTags of them.
  if (s.tags.size() > static_cast<size_t>(kMaxTags)) {
    fail("\"tags\" has more than " + std::to_string(kMaxTags) + " elements");
    s.tags.clear();
  }
  std::vector<std::string> tags;
  for (std::string& t : s.tags) {
    if (t.empty() || t.size() > kMaxNameBytes) {
      fail("\"tags\" must hold non-empty strings of at most 256 bytes");
    } else if (std::find(tags.begin(), tags.end(), t) == tags.end()) {
      tags.push_back(std::move(t));
    }
  }
  s.tags = std::move(tags);
  if (s.idempotency_key && (s.idempotency_key->empty() || s.idempotency_key->size() > 1024)) {
    fail(s.idempotency_key->empty() ? "\"idempotency_key\" must not be empty"
                                    : "\"idempotency_key\" is longer than 1024 bytes");
  }
  if (s.api_key) {
    if (s.api_key->empty() || s.api_key->size() > 1024) {
      fail(s.api_key->empty() ? "\"api_key\" must not be empty" : "\"api_key\" is longer than 1024 bytes");
    }
    // It becomes an Authorization header: a CR or LF would add headers of its own.
    for (char ch : *s.api_key) {
      if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7f) {
        fail("\"api_key\" must be printable ASCII without spaces or control characters");
        break;
      }
    }
  }
  if (s.options.request_id && !isRequestId(*s.options.request_id)) {
    fail("\"request_id\" must be 1 to 128 letters, digits, '.', '_', ':' or '-'");
  }
}

}  // namespace

bool checkSubmitParams(SubmitParams* s, std::string* error) {
  error->clear();
  if (s->request == nullptr || !s->request->IsObject()) {
    *error = "\"request\" must be an object";
    return false;
  }
  checkSubmitRequest(*s, error);
  if (error->empty() && s->model.empty() && !s->route) {
    *error = "missing \"request.model\" (or a \"route\")";
  }
  checkSubmitNames(*s, error);
  return error->empty();
}

bool parseSubmitParams(const json::Value* params, SubmitParams* out, std::string* error) {
  Params p(params);
  p.allowOnly({"kind",
               "request",
               "priority",
               "client",
               "tags",
               "idempotency_key",
               "max_attempts",
               "timeout_s",
               "deadline_s",
               "fallback_models",
               "api_key",
               "route",
               "cache",
               "on_restart",
               "subscribe",
               "wait",
               "cancel_on_disconnect",
               "fail_when_cooling",
               "request_id",
               "provider"});
  if (auto kind = p.string("kind", false, 32)) {
    if (std::optional<JobKind> k = parseJobKind(*kind)) {
      out->kind = *k;
    } else {
      p.fail("\"kind\" must be \"chat\", \"embedding\" or \"responses\"");
    }
  }
  out->request = p.object("request", true);
  if (auto route = p.string("route", false, kMaxNameBytes)) {
    out->route = std::string(*route);
  }
  out->priority = static_cast<int>(p.integer("priority", kMinPriority, kMaxPriority).value_or(0));
  if (auto client = p.string("client", false, kMaxNameBytes)) {
    out->client = std::string(*client);
  }
  if (auto tags = p.strings("tags", kMaxTags, kMaxNameBytes)) {
    out->tags = std::move(*tags);
  }
  if (auto key = p.string("idempotency_key", false, 1024)) {
    out->idempotency_key = std::string(*key);
  }
  if (auto n = p.integer("max_attempts", 1, 100)) {
    out->max_attempts = static_cast<int>(*n);
  }
  if (auto t = p.number("timeout_s", 0.001, 86400.0)) {
    out->timeout_ms = static_cast<int64_t>(std::ceil(*t * 1000.0));
  }
  if (auto d = p.number("deadline_s", 0.001, 365.0 * 86400.0)) {
    out->deadline_ms = static_cast<int64_t>(std::ceil(*d * 1000.0));
  }
  if (auto f = p.strings("fallback_models", 16, kMaxNameBytes)) {
    out->options.fallback_models = std::move(*f);
  }
  if (auto key = p.string("api_key", false, 1024)) {
    out->api_key = std::string(*key);
  }
  if (std::optional<bool> cache = p.boolean("cache")) {
    // true opts in; false opts out, also when [cache] enabled applies the cache
    // to every eligible job; absent follows the config.
    out->options.cache = *cache;
    out->options.no_cache = !*cache;
  }
  if (auto policy = p.string("on_restart", false, 32)) {
    if (*policy == "fail") {
      out->on_restart_fail = true;
    } else if (*policy != "requeue") {
      p.fail("\"on_restart\" must be \"requeue\" or \"fail\"");
    }
  }
  out->subscribe = p.boolean("subscribe").value_or(false);
  out->wait = p.boolean("wait").value_or(false);
  out->cancel_on_disconnect = p.boolean("cancel_on_disconnect").value_or(false);
  out->options.fail_when_cooling = p.boolean("fail_when_cooling").value_or(false);
  if (auto provider = p.string("provider", false, kMaxNameBytes)) {
    out->options.provider = std::string(*provider);
  }
  if (auto id = p.string("request_id", false, 128)) {
    out->options.request_id = std::string(*id);
  }
  if (!p.ok()) {
    *error = p.error();
    return false;
  }
  return checkSubmitParams(out, error);
}

}  // namespace llmq::ipc
