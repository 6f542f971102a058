// JSON-RPC envelope handling. Responses are written by string appends: the result
// is already compact JSON, so a Writer would only copy it again.
#include "ipc/jsonrpc.h"

namespace llmq::ipc {

const char* rpc::symbolFor(int code) {
  switch (code) {
    case kParseError: return "PARSE_ERROR";
    case kInvalidRequest: return "INVALID_REQUEST";
    case kMethodNotFound: return "METHOD_NOT_FOUND";
    case kInvalidParams: return "INVALID_PARAMS";
    case kInternalError: return "INTERNAL_ERROR";
    case kNotFound: return "NOT_FOUND";
    case kBudgetExceeded: return "BUDGET_EXCEEDED";
    case kPermissionDenied: return "PERMISSION_DENIED";
    case kInvalidState: return "INVALID_STATE";
    case kOverloaded: return "OVERLOADED";
    case kStorageFailure: return "STORAGE_FAILURE";
    default: return "ERROR";
  }
}

bool parseRequest(const json::Value& v, RpcRequest* out, RpcError* err) {
  if (!v.IsObject()) {
    *err = {rpc::kInvalidRequest, "a request must be a JSON object", {}};
    return false;
  }
  if (const json::Value* id = json::member(v, "id")) {
    if (!(id->IsString() || id->IsNumber() || id->IsNull())) {
      *err = {rpc::kInvalidRequest, "\"id\" must be a string, a number or null", {}};
      out->id_raw = "null";
      return false;
    }
    out->id_raw = json::toString(*id);
  }
  const json::Value* version = json::member(v, "jsonrpc");
  if (version == nullptr || !version->IsString() || json::view(*version) != "2.0") {
    *err = {rpc::kInvalidRequest, "\"jsonrpc\" must be \"2.0\"", {}};
    return false;
  }
  const json::Value* method = json::member(v, "method");
  if (method == nullptr || !method->IsString()) {
    *err = {rpc::kInvalidRequest, "\"method\" must be a string", {}};
    return false;
  }
  out->method = json::view(*method);
  if (const json::Value* params = json::member(v, "params")) {
    if (!params->IsObject() && !params->IsArray()) {
      *err = {rpc::kInvalidRequest, "\"params\" must be an object or an array", {}};
      return false;
    }
    out->params = params;
  }
  return true;
}

void appendResultObject(std::string& out, std::string_view id_raw, std::string_view result_json) {
  out.append("{\"jsonrpc\":\"2.0\",\"id\":");
  out.append(id_raw.empty() ? std::string_view("null") : id_raw);
  out.append(",\"result\":");
  out.append(result_json);
  out.push_back('}');
}

void appendErrorObject(std::string& out, std::string_view id_raw, const RpcError& err) {
  out.append("{\"jsonrpc\":\"2.0\",\"id\":");
  out.append(id_raw.empty() ? std::string_view("null") : id_raw);
  out.append(",\"error\":{\"code\":");
  out.append(std::to_string(err.code));
  out.append(",\"message\":");
  json::appendString(out, err.message);
  out.append(",\"data\":{\"code\":");
  json::appendString(out, err.symbol.empty() ? rpc::symbolFor(err.code) : err.symbol);
  out.append("}}}");
}

void appendResult(std::string& out, std::string_view id_raw, std::string_view result_json) {
  appendResultObject(out, id_raw, result_json);
  out.push_back('\n');
}

void appendError(std::string& out, std::string_view id_raw, const RpcError& err) {
  appendErrorObject(out, id_raw, err);
  out.push_back('\n');
}

std::string makeRequest(std::string_view method, std::string_view params_json, int64_t id) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out.append(std::to_string(id));
  out.append(",\"method\":");
  json::appendString(out, method);
  if (!params_json.empty()) {
    out.append(",\"params\":");
    out.append(params_json);
  }
  out.append("}\n");
  return out;
}

}  // namespace llmq::ipc
