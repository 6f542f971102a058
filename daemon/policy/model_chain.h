// The models a job tries, in order (docs/upstream.md, fallbacks). A job whose
// list the config had a say in (a route, a chain, an alias,
// OPENROUTER_PREFERRED_MODELS) has it stored since submit
// (daemon/policy/model_router.h); any other job tries its model, then its own
// fallback_models. A job stored without that list by an earlier llmqd, which
// read `chain:NAME` and OPENROUTER_PREFERRED_MODELS from the config at each
// attempt, is still read that way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/config_types.h"
#include "store/job_record.h"

namespace llmq::daemon {

struct Config;

// Empty for a job stored by an earlier llmqd that names a chain no longer configured.
std::vector<std::string> modelChain(const store::JobRecord& job, const Config& config);

// The request id the job's submitter gave (options.request_id), or "" (also
// when the stored one is not a valid id: only a hand-edited database has one).
std::string requestIdOf(const store::JobRecord& job);

// `request_json` with its "model" member set to `model` (the rest unchanged), for
// an attempt on a fallback model.
std::string withModel(std::string_view request_json, std::string_view model);

}  // namespace llmq::daemon
