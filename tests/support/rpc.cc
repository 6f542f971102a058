// RPC helpers for integration tests.
#include "tests/support/rpc.h"

#include <chrono>
#include <thread>

namespace llmq::testing {

json::Document callOk(ipc::Client& client, const std::string& method, const std::string& params, int timeout_ms) {
  json::Document out;
  auto r = client.call(method, params, timeout_ms);
  if (!r) {
    ADD_FAILURE() << method << ": " << r.error().message;
    return out;
  }
  if (!r->ok()) {
    ADD_FAILURE() << method << " " << params << ": error " << r->error.code << " " << r->error.message;
    return out;
  }
  out.CopyFrom(*r->result, out.GetAllocator());
  return out;
}

int callError(ipc::Client& client, const std::string& method, const std::string& params, std::string* message,
              int timeout_ms) {
  auto r = client.call(method, params, timeout_ms);
  if (!r) {
    ADD_FAILURE() << method << ": " << r.error().message;
    return 0;
  }
  if (r->ok()) {
    return 0;
  }
  if (message != nullptr) {
    *message = r->error.message;
  }
  return r->error.code;
}

std::string exchangeRaw(ipc::Client& client, const std::string& bytes, int timeout_ms) {
  EXPECT_TRUE(client.sendRaw(bytes));
  auto line = client.readLine(timeout_ms);
  if (!line || !line->has_value()) {
    ADD_FAILURE() << "no answer within " << timeout_ms << " ms to " << bytes.substr(0, 200);
    return "";
  }
  return **line;
}

std::string strMember(const json::Value& v, const char* name) {
  const json::Value* m = json::member(v, name);
  return m != nullptr && m->IsString() ? std::string(json::view(*m)) : std::string();
}

std::string submitParams(const std::string& model, const std::string& extra, const std::string& request_extra) {
  std::string p =
      R"({"request":{"model":")" + model + R"(","messages":[{"role":"user","content":"hello from a test"}])";
  if (!request_extra.empty()) {
    p += "," + request_extra;
  }
  p += "}";
  if (!extra.empty()) {
    p += "," + extra;
  }
  p += "}";
  return p;
}

std::string submit(ipc::Client& client, const std::string& model, const std::string& extra,
                   const std::string& request_extra) {
  json::Document r = callOk(client, "job.submit", submitParams(model, extra, request_extra));
  if (!r.IsObject() || !r.HasMember("job_id")) {
    return "";
  }
  return r["job_id"].GetString();
}

std::string waitTerminal(ipc::Client& client, const std::string& job_id, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    json::Document job = callOk(client, "job.get", "{\"job_id\":\"" + job_id + "\"}");
    if (!job.IsObject()) {
      return "";
    }
    std::string state = job["state"].GetString();
    if (state == "succeeded" || state == "failed" || state == "cancelled" || state == "expired") {
      return state;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << job_id << " did not end within " << timeout_ms << " ms";
  return "";
}

std::vector<Event> readEvents(ipc::Client& client, const std::function<bool(const Event&)>& until, int timeout_ms) {
  std::vector<Event> events;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      ADD_FAILURE() << "timed out waiting for events (got " << events.size() << ")";
      return events;
    }
    auto line = client.nextNotification(left);
    if (!line) {
      ADD_FAILURE() << line.error().message;
      return events;
    }
    if (!line->has_value()) {
      continue;
    }
    json::Document d;
    if (!json::parse(d, **line, nullptr) || !d.HasMember("params")) {
      continue;  // A response to a pipelined request; not an event.
    }
    const json::Value& p = d["params"];
    Event e{p["job_id"].GetString(), p["event"].GetString(), p["seq"].GetInt64(), json::toString(p["data"])};
    events.push_back(e);
    if (until(e)) {
      return events;
    }
  }
}

}  // namespace llmq::testing
