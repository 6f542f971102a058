// Helpers for integration tests that talk JSON-RPC to a real llmqd: call a method
// and get its result as a parsed document, wait for events, build submit params.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/json.h"
#include "ipc/client.h"

namespace llmq::testing {

// Calls `method`; fails the test (and returns an empty document) unless it succeeds.
json::Document callOk(ipc::Client& client, const std::string& method, const std::string& params,
                      int timeout_ms = 30000);
// Calls `method` expecting a JSON-RPC error; returns its code (0 if it succeeded).
int callError(ipc::Client& client, const std::string& method, const std::string& params,
              std::string* message = nullptr, int timeout_ms = 30000);

// job.submit params for a mock job. `extra` is spliced into the params object
// (e.g. R"("priority":5,"client":"a")"); `request_extra` into the request.
std::string submitParams(const std::string& model = "mock/test", const std::string& extra = "",
                         const std::string& request_extra = "");
std::string submit(ipc::Client& client, const std::string& model = "mock/test", const std::string& extra = "",
                   const std::string& request_extra = "");

// Sends `bytes` as they are (one or more lines, or a broken frame) and returns the
// next line received; "" with a failure when none came within timeout_ms.
std::string exchangeRaw(ipc::Client& client, const std::string& bytes, int timeout_ms = 10000);

// The string member `name` of `v`, or "".
std::string strMember(const json::Value& v, const char* name);

// Polls job.get until the job reaches a terminal state; returns that state.
std::string waitTerminal(ipc::Client& client, const std::string& job_id, int timeout_ms = 60000);

struct Event {
  std::string job_id;
  std::string name;
  int64_t seq = 0;
  std::string data;  // Compact JSON of "data".
};
// Reads notifications until `until(event)` is true or the timeout passes.
std::vector<Event> readEvents(ipc::Client& client, const std::function<bool(const Event&)>& until,
                              int timeout_ms = 60000);

}  // namespace llmq::testing
