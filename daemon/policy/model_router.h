// daemon::routeJob: which concrete models a job tries, and why (docs/money.md,
// "Aliases and routing"). [aliases] turn a name or a `*`/`?` pattern into a
// concrete model id; a [[routes]] rule turns a task type named at submit into an
// ordered model list, as written ("ordered"), cheapest first among the models
// whose context fits the job ("cost-optimized", by catalog prices), or led by
// the model a balancing strategy picks (round-robin, random, weighted,
// least-used, fastest, most-reliable: daemon/policy/route_signals.h); a
// `chain:NAME` model is the [chains] list of that name; OPENROUTER_PREFERRED_MODELS
// follow a model given without fallbacks of its own.
//
// One rule for all of them: whatever the config contributes to the list is
// decided once, at submit, and stored with the job (JobOptions::routing), so a
// restart, a retry or a SIGHUP never moves a job to another model than the ones
// it was acknowledged with; the runner reads the stored list back through
// modelChain(). Pure: the catalog comes in as a lookup function.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_kind.h"
#include "common/job_options.h"
#include "common/pricing.h"
#include "common/result.h"
#include "daemon/config.h"
#include "daemon/policy/route_signals.h"

namespace llmq::daemon {

// When a request does not cap its answer (max_tokens), cost-optimized routing
// assumes an answer of this many tokens: a typical reply. It is the same for
// every candidate, so prices are compared on the same work, and the context fit
// leaves this much room for the answer.
inline constexpr int64_t kAssumedCompletionTokens = 1024;

// What the router needs of a job.
struct RoutingInput {
  std::string_view model;                                     // request.model; may be empty with a route.
  std::optional<std::string_view> route;                      // The `route` param.
  const std::vector<std::string>* fallback_models = nullptr;  // The job's own; may be null.
  std::string_view request_json;                              // For the size estimate...
  JobKind kind = JobKind::kChat;
  const RequestFacts* facts = nullptr;  // ... unless its facts are known (no parse then).
  // What the balancing strategies read and advance (round-robin turns, draws,
  // recent figures); without it they keep the route's order.
  RouteSignals* signals = nullptr;
  // Pinned to one provider (job.submit `provider`): OPENROUTER_PREFERRED_MODELS,
  // fallbacks the job did not ask for, are not added.
  bool pinned = false;
};

// A model's catalog entry (context length, prices), or nullptr when unknown.
using ModelLookup = std::function<const ModelInfo*(std::string_view model)>;

// The alias `model` matches: the key equal to it, else the first pattern in file
// order that matches it; nullptr when none does.
const ModelAlias* findAlias(const std::vector<ModelAlias>& aliases, std::string_view model);

// `model` with its alias applied; `model` itself when no alias matches. One step:
// an alias's target is used as written, never looked up again.
std::string resolveAlias(const Config& config, std::string_view model);

// The route `name`, or nullptr.
const RouteRule* findRoute(const Config& config, std::string_view name);

// Decides the models of a job at submit. nullopt when the config has no say in
// them (no route or chain, no alias among the model and fallbacks, and either
// fallbacks of its own or no OPENROUTER_PREFERRED_MODELS): the job tries its
// model, then its fallback_models, as given. An error (kInvalidArgument, for
// -32602) for an unknown route or chain, or a route given together with a model.
Result<std::optional<Routing>> routeJob(const Config& config, const ModelLookup& lookup, const RoutingInput& input);

}  // namespace llmq::daemon
