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

// The request id the job's submitter gave (options.request_id), or "" (also
// when the stored one is not a valid id: only a hand-edited database has one).
std::string requestIdOf(const store::JobRecord& job);

// `request_json` with its "model" member set to `model` (the rest unchanged), for
// an attempt on a fallback model.
std::string withModel(std::string_view request_json, std::string_view model);

}  // namespace llmq::daemon
