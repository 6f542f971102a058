// openai: OpenAI's error statuses and stream chunks.
#include "daemon/api/openai_format.h"

#include "ipc/jsonrpc.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon::openai {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

std::string errorBody(const ApiError& e) {
  std::string out = "{\"error\":{\"message\":";
  json::appendString(out, e.message);
  out += ",\"type\":";
  json::appendString(out, e.type);
  out += ",\"param\":null,\"code\":";
  if (e.code.empty()) {
    out += "null";
  } else {
    json::appendString(out, e.code);
  }
  out += "}}";
  return out;
}

ApiError fromRpcError(int rpc_code, std::string_view symbol, std::string message) {
  if (symbol == "NO_API_KEY") {
    return {401, "authentication_error", "no_api_key", std::move(message)};
  }
  if (symbol == "IDEMPOTENCY_CONFLICT") {
    // 422, not 409: an SDK retries a 409 (OpenAI's do), and the same request
    // would meet the same answer each time.
    return {422, "invalid_request_error", "idempotency_conflict", std::move(message)};
  }
  switch (rpc_code) {
    case ipc::rpc::kParseError:
    case ipc::rpc::kInvalidRequest:
    case ipc::rpc::kInvalidParams:
      return {400, "invalid_request_error", symbol.empty() ? "" : lower(symbol), std::move(message)};
    case ipc::rpc::kNotFound:
      return {404, "invalid_request_error", "not_found", std::move(message)};
    case ipc::rpc::kBudgetExceeded:
      return {402, "insufficient_quota", "budget_exceeded", std::move(message)};
    case ipc::rpc::kPermissionDenied:
      return {403, "permission_error", "permission_denied", std::move(message)};
    case ipc::rpc::kInvalidState:
      return {409, "invalid_request_error", "invalid_state", std::move(message)};
    case ipc::rpc::kOverloaded:
      return {429, "rate_limit_exceeded", symbol.empty() ? "overloaded" : lower(symbol), std::move(message)};
    case ipc::rpc::kStorageFailure:
      return {503, "server_error", "storage_failure", std::move(message)};
    default:
      return {500, "server_error", symbol.empty() ? "" : lower(symbol), std::move(message)};
  }
}

ApiError fromJobError(std::string_view state, std::string_view code, std::string message, int upstream_status) {
  const std::string c = lower(code);
  if (state == "cancelled" || code == "CANCELLED") {
    return {409, "invalid_request_error", "cancelled", std::move(message)};
  }
  if (state == "expired" || code == "EXPIRED") {
    return {504, "timeout", "expired", std::move(message)};
  }
  if (code == "INVALID_REQUEST") {
    const int status = upstream_status >= 400 && upstream_status < 500 ? upstream_status : 400;
    return {status, "invalid_request_error", c, std::move(message)};
  }
  if (code == "UNAUTHORIZED") {
    return {401, "authentication_error", c, std::move(message)};
  }
  if (code == "BUDGET_EXCEEDED") {
    return {402, "insufficient_quota", "budget_exceeded", std::move(message)};
  }
  if (code == "USER_KEY_EXHAUSTED") {
    return {402, "insufficient_quota", c, std::move(message)};
  }
  if (code == "COOLING_DOWN") {
    return {503, "server_error", c, std::move(message)};
  }
  if (code == "OPENROUTER_SYSTEM_KEY_EXHAUSTED") {
    return {503, "server_error", c, std::move(message)};
  }
  if (code == "MODERATION") {
    return {403, "invalid_request_error", c, std::move(message)};
  }
  if (code == "RATE_LIMITED") {
    return {429, "rate_limit_exceeded", c, std::move(message)};
  }
  if (code == "TIMEOUT") {
    return {504, "timeout", c, std::move(message)};
  }
  if (code == "NO_API_KEY") {
    return {401, "authentication_error", c, std::move(message)};
  }
  if (code == "UPSTREAM_ERROR" || code == "NETWORK" || code == "SCHEMA_MISMATCH") {
    return {502, "api_error", c, std::move(message)};
  }
  return {500, "server_error", c, std::move(message)};
}

void appendChunkEvent(std::string& out, std::string_view id, int64_t created, std::string_view model, int index,
                      std::string_view delta_json, std::string_view finish_reason, std::string_view logprobs_json) {
  out += "data: {\"id\":";
  json::appendString(out, id);
  out += ",\"object\":\"chat.completion.chunk\",\"created\":";
  out += std::to_string(created);
  out += ",\"model\":";
  json::appendString(out, model);
  out += ",\"choices\":[{\"index\":";
  out += std::to_string(index);
  out += ",\"delta\":";
  out += delta_json;
  out += ",\"logprobs\":";
  out += logprobs_json.empty() ? std::string_view("null") : logprobs_json;
  out += ",\"finish_reason\":";
  if (finish_reason.empty()) {
    out += "null";
  } else {
    json::appendString(out, finish_reason);
  }
  out += "}]}\n\n";
}

std::string deltaOfMessage(const json::Value& message) {
  std::string d = "{\"role\":\"assistant\",\"content\":";
  const json::Value* content = json::member(message, "content");
  if (content != nullptr && content->IsString()) {
    json::appendString(d, json::view(*content));
  } else {
    d += "null";
  }
  for (const char* name : {"reasoning", "reasoning_details", "refusal"}) {
    if (const json::Value* v = json::member(message, name); v != nullptr && !v->IsNull()) {
      d += ",\"";
      d += name;
      d += "\":";
      d += json::toString(*v);
    }
  }
  if (const json::Value* calls = json::member(message, "tool_calls"); calls != nullptr && calls->IsArray()) {
    d += ",\"tool_calls\":[";
    int index = 0;
    for (const json::Value& call : calls->GetArray()) {
      d += index > 0 ? "," : "";
      d += "{\"index\":" + std::to_string(index++);
      if (call.IsObject()) {
        for (const auto& m : call.GetObject()) {
          if (json::view(m.name) == "index") {
            continue;
          }
          d += ",";
          json::appendString(d, json::view(m.name));
          d += ":";
          d += json::toString(m.value);
        }
      }
      d += "}";
    }
    d += "]";
  }
  d += "}";
  return d;
}

void appendUsageEvent(std::string& out, std::string_view id, int64_t created, std::string_view model,
                      std::string_view usage_json) {
  out += "data: {\"id\":";
  json::appendString(out, id);
  out += ",\"object\":\"chat.completion.chunk\",\"created\":";
  out += std::to_string(created);
  out += ",\"model\":";
  json::appendString(out, model);
  out += ",\"choices\":[],\"usage\":";
  out += usage_json;
  out += "}\n\n";
}

void appendErrorEvent(std::string& out, const ApiError& e) {
  out += "data: ";
  out += errorBody(e);
  out += "\n\n";
}

std::string usageJson(const json::Value& usage, std::optional<double> cost_usd) {
  auto count = [&usage](const char* name) -> int64_t {
    const json::Value* v = json::member(usage, name);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : 0;
  };
  std::string out = "{\"prompt_tokens\":" + std::to_string(count("prompt_tokens")) +
                    ",\"completion_tokens\":" + std::to_string(count("completion_tokens")) +
                    ",\"total_tokens\":" + std::to_string(count("total_tokens"));
  out += ",\"prompt_tokens_details\":{\"cached_tokens\":" + std::to_string(count("cache_read")) +
         "},\"completion_tokens_details\":{\"reasoning_tokens\":" + std::to_string(count("reasoning_tokens")) + "}";
  if (cost_usd) {
    out += ",\"cost\":";  // OpenRouter's usage.cost, in USD.
    json::Buffer buf;
    json::Writer w(buf);
    w.Double(*cost_usd);
    out.append(buf.GetString(), buf.GetSize());
  }
  out += "}";
  return out;
}

namespace {

// One entry of GET /v1/models for `id`, described by catalog entry `m`.
void appendModel(std::string& out, std::string_view id, const json::Value& m) {
  out += "{\"id\":";
  json::appendString(out, id);
  out += ",\"object\":\"model\",\"created\":0,\"owned_by\":";
  const json::Value* provider = json::member(m, "provider");
  if (provider != nullptr && provider->IsString() && provider->GetStringLength() > 0) {
    json::appendString(out, std::string_view(provider->GetString(), provider->GetStringLength()));
  } else {
    const size_t slash = id.find('/');
    json::appendString(out, slash == std::string_view::npos ? "llmq" : id.substr(0, slash));
  }
  for (const char* extra : {"context_length", "pricing"}) {
    if (const json::Value* v = json::member(m, extra); v != nullptr && !v->IsNull()) {
      out += ",\"";
      out += extra;
      out += "\":";
      out += json::toString(*v);
    }
  }
  out += "}";
}

// Calls fn(id, entry) for each model a client can name: a pattern ("gpt-*")
// is not one, except "mock/*", which stands for the mock's listed models.
template <typename Fn>
void forEachNamedModel(const json::Value& models_result, Fn fn) {
  const json::Value* models = json::member(models_result, "models");
  if (models == nullptr || !models->IsArray()) {
    return;
  }
  for (const json::Value& m : models->GetArray()) {
    const json::Value* id = json::member(m, "id");
    if (id == nullptr || !id->IsString()) {
      continue;
    }
    const std::string_view text(id->GetString(), id->GetStringLength());
    if (text == "mock/*") {
      for (std::string_view mock : upstream::MockProvider::kListedModels) {
        fn(mock, m);
      }
    } else if (text.find_first_of("*?") == std::string_view::npos) {
      fn(text, m);
    }
  }
}

}  // namespace

std::string modelList(const json::Value& models_result) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  bool first = true;
  forEachNamedModel(models_result, [&](std::string_view id, const json::Value& m) {
    out += first ? "" : ",";
    first = false;
    appendModel(out, id, m);
  });
  out += "]}";
  return out;
}

std::optional<std::string> modelObject(const json::Value& models_result, std::string_view id) {
  std::optional<std::string> found;
  const json::Value* mock_entry = nullptr;
  forEachNamedModel(models_result, [&](std::string_view name, const json::Value& m) {
    if (!found && name == id) {
      found.emplace();
      appendModel(*found, name, m);
    }
  });
  if (!found && upstream::MockProvider::handles(id)) {
    // Every mock/ name is served, listed or not.
    if (const json::Value* models = json::member(models_result, "models"); models != nullptr && models->IsArray()) {
      for (const json::Value& m : models->GetArray()) {
        const json::Value* mid = json::member(m, "id");
        if (mid != nullptr && mid->IsString() && json::view(*mid) == "mock/*") {
          mock_entry = &m;
        }
      }
    }
    if (mock_entry != nullptr) {
      found.emplace();
      appendModel(*found, id, *mock_entry);
    }
  }
  return found;
}

}  // namespace llmq::daemon::openai
