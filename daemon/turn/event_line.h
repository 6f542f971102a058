// The JSON-RPC line of an event notification (ipc/PROTOCOL.md, "Events"), in
// the two parts the EventBus sends: one subscription's prefix,
//   {"jsonrpc":"2.0","method":"event","params":{"subscription":"s7"
// and the tail every subscriber of the event shares,
//   ,"job_id":"j…","seq":3,"event":"…","ts":"…","data":{…}}}\n
// Both written with JsonWriter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/protocol.h"

namespace llmq::daemon {

std::string eventPrefix(uint64_t subscription);

// `data_json` is the event's "data" object ({} when empty); `ts_ms` is written
// as an RFC 3339 string.
std::string eventTail(std::string_view job_id, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                      int64_t ts_ms);

}  // namespace llmq::daemon
