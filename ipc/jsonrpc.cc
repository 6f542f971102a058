// JSON-RPC envelope handling. Responses are written by string appends: the result
// is already compact JSON, so a Writer would only copy it again.
#include "ipc/jsonrpc.h"

namespace llmq::ipc {

const char* rpc::symbolFor(int code) {
  switch (code) {
    case kParseError:
      return "PARSE_ERROR";
    case kInvalidRequest:
      return "INVALID_REQUEST";
    case kMethodNotFound:
      return "METHOD_NOT_FOUND";
    case kInvalidParams:
      return "INVALID_PARAMS";
    case kInternalError:
      return "INTERNAL_ERROR";
    case kNotFound:
      return "NOT_FOUND";
    case kBudgetExceeded:
      return "BUDGET_EXCEEDED";
    case kPermissionDenied:
      return "PERMISSION_DENIED";
    case kInvalidState:
      return "INVALID_STATE";
    case kOverloaded:
      return "OVERLOADED";
    case kStorageFailure:
      return "STORAGE_FAILURE";
    default:
      return "ERROR";
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

namespace {

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

// A lexical walk, not a parse (RapidJSON's reader refuses a number beyond a
// double even when asked for numbers as strings): it follows strings, nesting and
// keys well enough to find the "id" members of the request object or of the
// objects of a top-level batch, on text the real parser then checks.
namespace {

// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool isJsonNumber(std::string_view t) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      ++i;
    }
    return i > from;
  };
  if (i < t.size() && t[i] == '-') {
    ++i;
  }
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == t.size();
}

}  // namespace

std::vector<RawId> scanNumericIds(std::string_view f) {
  std::vector<RawId> ids;
  int depth = 0;
  int request_depth = -1;
  bool top_array = false;
  bool id_next = false;
  int element = -1;
  int next_element = 0;
  const auto valueStarts = [&] {
    id_next = false;
    if (depth == 1 && top_array) {
      ++next_element;
    }
  };
  for (size_t i = 0; i < f.size();) {
    const char c = f[i];
    if (isBlank(c) || c == ',' || c == ':') {
      ++i;
    } else if (c == '{') {
      valueStarts();
      if (depth == 0 || (depth == 1 && top_array)) {
        request_depth = depth + 1;
        element = depth == 0 ? -1 : next_element - 1;
      }
      ++depth;
      ++i;
    } else if (c == '[') {
      valueStarts();
      top_array = top_array || depth == 0;
      ++depth;
      ++i;
    } else if (c == '}' || c == ']') {
      --depth;
      id_next = false;
      ++i;
    } else if (c == '"') {
      size_t end = i + 1;
      while (end < f.size() && f[end] != '"') {
        end += f[end] == '\\' ? 2 : 1;
      }
      if (end >= f.size()) {
        return {};
      }
      const std::string_view text = f.substr(i + 1, end - i - 1);
      size_t next = end + 1;
      while (next < f.size() && isBlank(f[next])) {
        ++next;
      }
      if (next < f.size() && f[next] == ':') {
        id_next = depth == request_depth && text == "id";  // A key.
      } else {
        valueStarts();
      }
      i = end + 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const bool is_id = id_next;
      valueStarts();
      size_t end = i + 1;
      while (end < f.size() && ((f[end] >= '0' && f[end] <= '9') || f[end] == '.' || f[end] == 'e' ||
                                f[end] == 'E' || f[end] == '+' || f[end] == '-')) {
        ++end;
      }
      if (is_id) {
        const std::string_view text = f.substr(i, end - i);
        if (!isJsonNumber(text)) {
          // "1-5e300" would become "0" for the parser and go back out as it
          // came: not JSON. Left alone, the parser refuses the frame.
          return {};
        }
        ids.push_back(RawId{element, std::string(text), i, end});
      }
      i = end;
    } else {
      valueStarts();  // true, false, null (or garbage the parser will refuse).
      while (i < f.size() && f[i] >= 'a' && f[i] <= 'z') {
        ++i;
      }
      if (i < f.size() && !(f[i] >= 'a' && f[i] <= 'z') && !isBlank(f[i]) && f[i] != ',' && f[i] != ']' &&
          f[i] != '}' && f[i] != ':' && f[i] != '{' && f[i] != '[' && f[i] != '"' && f[i] != '-' &&
          !(f[i] >= '0' && f[i] <= '9')) {
        return {};  // Not JSON: nothing to keep.
      }
    }
  }
  return ids;
}

std::string withIdsZeroed(std::string_view frame, const std::vector<RawId>& ids) {
  std::string out;
  out.reserve(frame.size());
  size_t at = 0;
  for (const RawId& id : ids) {
    out.append(frame.substr(at, id.begin - at));
    out.push_back('0');
    at = id.end;
  }
  out.append(frame.substr(at));
  return out;
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
