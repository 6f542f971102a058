// Model routing: aliases, ordered and cost-optimized routes, and the routing
// object's JSON. Runs once per submit over a handful of models.
#include "daemon/policy/model_router.h"

#include <algorithm>
#include <cassert>
#include <cstdio>

#include "common/json.h"
#include "common/wildcard.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/request_estimate.h"

namespace llmq::daemon {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string usdText(double usd) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "$%.6g", usd);
  return buf;
}

// One model of a list after aliases: the concrete id and the alias that named it.
struct Resolved {
  std::string model;
  const ModelAlias* alias = nullptr;
};

// Appends the models of `names` to `out` with their aliases applied, skipping
// any that is already there (two aliases may name the same model).
void addResolved(const Config& config, const std::vector<std::string>& names, std::vector<Resolved>* out) {
  for (const std::string& name : names) {
    const ModelAlias* alias = findAlias(config.aliases, name);
    std::string model = alias != nullptr ? alias->model : name;
    const bool seen = std::any_of(out->begin(), out->end(), [&](const Resolved& r) { return r.model == model; });
    if (!seen) {
      out->push_back(Resolved{std::move(model), alias});
    }
  }
}

Routing fromResolved(const std::vector<Resolved>& list) {
  Routing r;
  for (const Resolved& m : list) {
    r.models.push_back(m.model);
  }
  if (!list.empty() && list.front().alias != nullptr) {
    r.alias = list.front().alias->match;
  }
  return r;
}

// "ordered": the first model, the rest as its fallbacks.
Routing pickOrdered(const std::vector<Resolved>& list) {
  Routing r = fromResolved(list);
  r.reason = "ordered: the first of " + std::to_string(list.size()) + " model" + (list.size() == 1 ? "" : "s");
  return r;
}

// "cost-optimized": the models with a known price whose context holds the prompt
// estimate plus the answer, cheapest first (ties keep the route's order); the
// others are left out. When none qualifies, the route in its own order.
Routing pickCheapest(const std::vector<Resolved>& list, const ModelLookup& lookup, const RequestTokens& tokens) {
  const int64_t prompt = tokens.prompt;
  const std::optional<int64_t> cap = tokens.completion;
  const int64_t completion = cap.value_or(kAssumedCompletionTokens);
  const int64_t need = prompt + completion;
  const std::string size = std::to_string(need) + " tokens (" + std::to_string(prompt) + " prompt + " +
                           std::to_string(completion) + (cap ? " max_tokens)" : " assumed answer)");

  struct Candidate {
    const Resolved* model;
    double usd;
  };
  std::vector<Candidate> candidates;
  std::string skipped;
  for (const Resolved& m : list) {
    const ModelInfo* info = lookup ? lookup(m.model) : nullptr;
    std::string why;
    if (info == nullptr || !info->pricing.known) {
      why = "no price";
    } else if (info->context_length <= 0) {
      why = "context unknown";
    } else if (info->context_length < need) {
      why = "context " + std::to_string(info->context_length);
    } else if (cap && info->max_completion_tokens > 0 && info->max_completion_tokens < *cap) {
      why = "answers at most " + std::to_string(info->max_completion_tokens) + " tokens";
    }
    if (!why.empty()) {
      skipped += (skipped.empty() ? "; skipped " : ", ") + m.model + " (" + why + ")";
      continue;
    }
    candidates.push_back(Candidate{&m, worstCaseUsd(info->pricing, prompt, completion)});
  }
  if (candidates.empty()) {
    Routing r = fromResolved(list);
    r.reason = "cost-optimized: no model has a known price and a context that fits " + size + ", so the first of " +
               std::to_string(list.size()) + " in the route's order" + skipped;
    return r;
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.usd < b.usd; });
  std::vector<Resolved> ordered;
  ordered.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    ordered.push_back(*c.model);
  }
  Routing r = fromResolved(ordered);
  r.reason = "cost-optimized: the cheapest of " + std::to_string(candidates.size()) + " model" +
             (candidates.size() == 1 ? "" : "s") + " whose context fits " + size + ": " +
             usdText(candidates.front().usd) + (cap ? " at most" : " for that answer") + skipped;
  return r;
}

std::string routeNames(const Config& config) {
  std::string out;
  for (const RouteRule& r : config.routes) {
    out += (out.empty() ? "" : ", ") + r.name;
  }
  return out;
}

}  // namespace

const ModelAlias* findAlias(const std::vector<ModelAlias>& aliases, std::string_view model) {
  for (const ModelAlias& a : aliases) {
    if (a.match == model) {
      return &a;  // An exact name beats every pattern, wherever it is written.
    }
  }
  for (const ModelAlias& a : aliases) {
    if (wildcardMatch(a.match, model)) {
      return &a;
    }
  }
  return nullptr;
}

std::string resolveAlias(const Config& config, std::string_view model) {
  const ModelAlias* alias = findAlias(config.aliases, model);
  return alias != nullptr ? alias->model : std::string(model);
}

const RouteRule* findRoute(const Config& config, std::string_view name) {
  for (const RouteRule& r : config.routes) {
    if (r.name == name) {
      return &r;
    }
  }
  return nullptr;
}

Result<std::optional<Routing>> routeJob(const Config& config, const ModelLookup& lookup,
                                        const RoutingInput& input) {
  std::optional<std::string_view> route = input.route;
  std::string_view model = input.model;
  if (model.rfind(kRoutePrefix, 0) == 0) {
    if (route) {
      return makeError(ErrorKind::kInvalidArgument, "request.model " + quoted(model) + " and route " +
                                                        quoted(*route) + " both name a route; give one");
    }
    route = model.substr(kRoutePrefix.size());
    model = {};
  }
  static const std::vector<std::string> kNone;
  const std::vector<std::string>& own = input.fallback_models != nullptr ? *input.fallback_models : kNone;

  if (route) {
    // A route picks the model; a model beside it would leave one of the two
    // silently ignored, so that is refused rather than guessed.
    if (!model.empty()) {
      return makeError(ErrorKind::kInvalidArgument, "request.model " + quoted(model) + " and route " +
                                                        quoted(*route) +
                                                        " are both given; give one (the route picks the model)");
    }
    const RouteRule* rule = findRoute(config, *route);
    if (rule == nullptr) {
      return makeError(ErrorKind::kInvalidArgument,
                       "unknown route " + quoted(*route) +
                           (config.routes.empty() ? std::string(": no routing rules are configured ([[routes]])")
                                                  : "; the configured routes are " + routeNames(config)));
    }
    std::vector<Resolved> list;
    addResolved(config, rule->models, &list);
    assert(!list.empty());  // loadConfig() refuses a route without models.
    Routing r = rule->strategy == RouteStrategy::kCostOptimized
                    ? pickCheapest(list, lookup,
                                   input.facts != nullptr ? tokensOf(*input.facts)
                                                          : requestTokens(input.kind, input.request_json))
                    : pickOrdered(list);
    r.route = rule->name;
    // The job's own fallbacks come after the route's models.
    for (const std::string& name : own) {
      std::string m = resolveAlias(config, name);
      if (std::find(r.models.begin(), r.models.end(), m) == r.models.end()) {
        r.models.push_back(std::move(m));
      }
    }
    return std::optional<Routing>(std::move(r));
  }

  // Named chains stay as they are: modelChain() reads them (aliases applied) at run time.
  if (model.rfind(kChainPrefix, 0) == 0) {
    return std::optional<Routing>();
  }
  const ModelAlias* alias = findAlias(config.aliases, model);
  const bool fallback_alias = std::any_of(
      own.begin(), own.end(), [&](const std::string& m) { return findAlias(config.aliases, m) != nullptr; });
  if (alias == nullptr && !fallback_alias) {
    return std::optional<Routing>();
  }
  std::vector<Resolved> list;
  addResolved(config, {std::string(model)}, &list);
  // As modelChain() does: the job's own fallbacks, else OPENROUTER_PREFERRED_MODELS.
  addResolved(config, own.empty() ? config.preferred_models : own, &list);
  Routing r = fromResolved(list);
  r.reason = alias != nullptr ? "request.model " + quoted(model) + " matches alias " + quoted(alias->match)
                              : std::string("request.model as given; aliases among fallback_models resolved");
  return std::optional<Routing>(std::move(r));
}

}  // namespace llmq::daemon
