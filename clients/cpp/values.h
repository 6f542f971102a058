// The typed values of llmq/client.h read from, and written to, the JSON llmqd
// speaks. Internal to the library: the public header never shows RapidJSON.
// Readers are lenient (a missing or mistyped member reads as empty or zero), so
// a newer daemon's additions never break an older client.
#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "llmq/client.h"

namespace llmq::client {

Job jobFromJson(const json::Value& job);
Event eventFromParams(const json::Value& params);
SubmitAck submitAckFromJson(const json::Value& ack);
DaemonStatus statusFromJson(const json::Value& status);

// job.list and events.subscribe params.
std::string listParams(const ListQuery& query);
std::string subscribeParams(const SubscribeRequest& request);
// {"job_id":"<id>"}
std::string jobIdParams(std::string_view job_id);

}  // namespace llmq::client
