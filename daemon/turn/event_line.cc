// Event lines with literal keys (JsonWriter::key<"...">()): the tail is written
// once per event, the prefix once per subscription (EventBus keeps it).
#include "daemon/turn/event_line.h"

#include "common/json_writer.h"
#include "common/time.h"

namespace llmq::daemon {

std::string eventPrefix(uint64_t subscription) {
  std::string p;
  JsonWriter w(p);
  w.beginObject().key<"jsonrpc">().string("2.0").key<"method">().string("event");
  w.key<"params">().beginObject().key<"subscription">().string("s" + std::to_string(subscription));
  return p;
}

std::string eventTail(std::string_view job_id, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                      int64_t ts_ms) {
  std::string t;
  t.reserve(96 + job_id.size() + data_json.size());
  // After the prefix's "subscription" member, inside "params".
  JsonWriter w(t, JsonWriter::Start::kAfterMember);
  w.key<"job_id">().string(job_id).key<"seq">().int64(seq).key<"event">().string(ipc::eventName(kind));
  std::string& ts = w.key<"ts">().rawValue();
  ts.push_back('"');
  appendRfc3339(ts, ts_ms);
  ts.push_back('"');
  w.key<"data">().raw(data_json.empty() ? std::string_view("{}") : data_json);
  w.endObject().endObject();
  t.push_back('\n');
  return t;
}

}  // namespace llmq::daemon
