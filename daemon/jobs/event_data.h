// The "data" objects of the job events the runner publishes (ipc/PROTOCOL.md,
// "Events"), written with JsonWriter. The event line around them is the
// EventBus's (daemon/turn/event_line.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/policy/budget_book.h"
#include "upstream/provider.h"

namespace llmq::daemon::event_data {

// started: the attempt's number, the model it asks and whose key it uses
// ("user", "server", "none" or "cache").
std::string started(int64_t attempt, std::string_view model, std::string_view key_source);

// retrying: the next attempt's number, the delay before it, why, the HTTP
// status that caused it (0: null), and the model it falls back to (empty: none).
std::string retrying(int64_t attempt, int64_t delay_ms, std::string_view why, int upstream_status,
                     std::string_view fallback_model);

// message_chunk: one streamed piece of one choice (the text as "delta").
std::string messageChunk(const upstream::StreamDelta& delta);

// usage and final_response of a completion; `cached` when it came from the
// response cache.
std::string usage(const upstream::Completion& c, bool cached);
std::string finalResponse(const upstream::Completion& c, bool cached);

// error: the failure, and whether another attempt follows.
std::string error(const upstream::Failure& f, bool will_retry);

// budget_alert: a budget that passed its alert threshold.
std::string budgetAlert(const BudgetAlert& alert);

// held, cancelled and expired: {"reason": text}.
std::string reason(std::string_view text);

}  // namespace llmq::daemon::event_data
