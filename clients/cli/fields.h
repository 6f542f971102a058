// Lenient readers for the JSON llmqd sends back, and the protocol's notion of "this
// job has ended". The CLI only displays these values, so a missing or mistyped
// member reads as empty/zero instead of failing: a newer daemon still gets a
// readable (if partial) display.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/json.h"
#include "llmq/client.h"

namespace llmq::cli {

inline std::string_view stringField(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsString() ? json::view(*v) : std::string_view();
}

inline int64_t intField(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsInt64() ? v->GetInt64() : 0;
}

inline double numberField(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsNumber() ? v->GetDouble() : 0.0;
}

inline bool boolField(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsBool() && v->GetBool();
}

// The member `name` if it is an object, else nullptr (JSON null included).
inline const json::Value* objectField(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsObject() ? v : nullptr;
}

// True for the states a job does not leave on its own (ipc/PROTOCOL.md).
inline bool isTerminalState(std::string_view state) { return client::isTerminalState(state); }

// True if an event notification's params announce the end of its job: after it the
// daemon sends nothing more for the job and ends job-scoped subscriptions.
inline bool isTerminalEvent(const json::Value& params) {
  std::string_view event = stringField(params, "event");
  if (event == "error") {
    const json::Value* data = objectField(params, "data");
    return data == nullptr || !boolField(*data, "retryable");
  }
  return event == "final_response" || event == "cancelled" || event == "expired";
}

}  // namespace llmq::cli
