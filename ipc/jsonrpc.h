// JSON-RPC 2.0 envelopes (https://www.jsonrpc.org/specification) as llmq uses
// them: request classification, error codes from ipc/PROTOCOL.md, and writers for
// responses and notifications. Shared by the daemon and the clients.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace llmq::ipc {

// Error codes: the spec's, then llmq's application codes.
namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kNotFound = -32001;
inline constexpr int kBudgetExceeded = -32002;
inline constexpr int kPermissionDenied = -32003;
inline constexpr int kInvalidState = -32004;
inline constexpr int kOverloaded = -32005;
inline constexpr int kStorageFailure = -32006;

// The symbolic name carried in error.data.code.
const char* symbolFor(int code);
}  // namespace rpc

struct RpcError {
  int code = rpc::kInternalError;
  std::string message;
  std::string symbol;  // Overrides rpc::symbolFor(code) when set (e.g. a job error code).
};

// One request taken apart. `id_raw` is the id as compact JSON ("17", "\"a\"",
// "null"); empty when the request is a notification (no id member).
struct RpcRequest {
  std::string_view method;
  const json::Value* params = nullptr;  // Object or array, or nullptr when absent.
  std::string id_raw;
  bool isNotification() const { return id_raw.empty(); }
};

// Checks the envelope of one request object. On failure fills `err` and, if the
// id could be read, `id_raw` (so the error can be answered with it).
bool parseRequest(const json::Value& v, RpcRequest* out, RpcError* err);

// The id of a request whose id is a number, as the client wrote it. RapidJSON
// reads a number beyond 64-bit integers as a double (2^64 comes back as
// 1.8446744073709552e19) and refuses one beyond a double (a 400-digit id) with
// the whole frame; JSON-RPC wants the id back unchanged, so the daemon answers
// with the raw text. `element` is the index in a batch, -1 for a single request;
// [begin, end) is where the number lies in the frame.
struct RawId {
  int element = -1;
  std::string text;
  size_t begin = 0;
  size_t end = 0;
};
// The numeric ids of `frame` (a request object or a batch of them), in order.
// Empty when the frame is not JSON at all.
std::vector<RawId> scanNumericIds(std::string_view frame);
// `frame` with each of `ids` replaced by 0, so that a frame whose only fault is a
// huge id parses.
std::string withIdsZeroed(std::string_view frame, const std::vector<RawId>& ids);

// Appends a complete response line (with '\n') to `out`.
void appendResult(std::string& out, std::string_view id_raw, std::string_view result_json);
void appendError(std::string& out, std::string_view id_raw, const RpcError& err);
// The same without the trailing newline, for batch elements.
void appendResultObject(std::string& out, std::string_view id_raw, std::string_view result_json);
void appendErrorObject(std::string& out, std::string_view id_raw, const RpcError& err);

// A request line, as clients send it.
std::string makeRequest(std::string_view method, std::string_view params_json, int64_t id);

}  // namespace llmq::ipc
