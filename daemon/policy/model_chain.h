// The models a job tries, in order (docs/upstream.md, fallbacks): for a job routed at
// submit (an alias or a route, daemon/policy/model_router.h), the models stored with it;
// a `chain:NAME` model is the chain of that name from the config, aliases
// applied; otherwise the job's model, then its fallback_models, or
// OPENROUTER_PREFERRED_MODELS when it gave none.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/config_types.h"
#include "store/job_record.h"

namespace llmq::daemon {

struct Config;

// Empty when the job names a chain that is not configured.
std::vector<std::string> modelChain(const store::JobRecord& job, const Config& config);

// True when the job was submitted with its own API key (options "byok": true).
bool usesOwnKey(const store::JobRecord& job);
// True when the job fails with COOLING_DOWN, instead of waiting, once every model
// of its chain has its circuit breaker open (options "fail_when_cooling": true).
bool failsWhenCooling(const store::JobRecord& job);
// The request id the job's submitter gave (options "request_id"), or "".
std::string requestIdOf(const store::JobRecord& job);

// `request_json` with its "model" member set to `model` (the rest unchanged), for
// an attempt on a fallback model.
std::string withModel(std::string_view request_json, std::string_view model);

}  // namespace llmq::daemon
