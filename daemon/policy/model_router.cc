// Model routing: aliases, ordered and cost-optimized routes, and the routing
// object's JSON. Runs once per submit over a handful of models.
#include "daemon/policy/model_router.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

#include "common/json.h"
#include "common/text.h"
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

std::string percent(double v) { return std::to_string(std::lround(v * 100)) + "%"; }

// `list` with its entry `k` first, the others after it in their order.
std::vector<Resolved> leadWith(const std::vector<Resolved>& list, size_t k) {
  std::vector<Resolved> out{list[k]};
  for (size_t i = 0; i < list.size(); ++i) {
    if (i != k) {
      out.push_back(list[i]);
    }
  }
  return out;
}

// round-robin, random, weighted: one model leads, drawn or in turn; the others
// follow in the route's order.
Routing pickDrawn(const RouteRule& rule, const std::vector<Resolved>& list, RouteSignals& signals) {
  const auto n = static_cast<uint32_t>(list.size());
  size_t k = 0;
  std::string why;
  if (rule.strategy == RouteStrategy::kRoundRobin) {
    const uint64_t turn = signals.nextTurn(rule.name);
    k = static_cast<size_t>(turn % n);
    why = "round-robin: turn " + std::to_string(turn) + " of the route, model " + std::to_string(k + 1) + " of " +
          std::to_string(n);
  } else if (rule.strategy == RouteStrategy::kRandom) {
    k = signals.draw(n);
    why = "random: model " + std::to_string(k + 1) + " of " + std::to_string(n) + ", drawn uniformly";
  } else {
    // Weighted: a point drawn in [0, sum) in steps of a millionth of the sum.
    double sum = 0;
    for (size_t i = 0; i < list.size() && i < rule.weights.size(); ++i) {
      sum += rule.weights[i];
    }
    const double point = static_cast<double>(signals.draw(1'000'000)) / 1e6 * sum;
    double below = 0;
    for (k = 0; k + 1 < list.size() && k < rule.weights.size(); ++k) {
      below += rule.weights[k];
      if (point < below) {
        break;
      }
    }
    why = "weighted: model " + std::to_string(k + 1) + " of " + std::to_string(n) + " (weight " +
          decimal(k < rule.weights.size() ? rule.weights[k] : 0) + " of " + decimal(sum) + ")";
  }
  Routing r = fromResolved(leadWith(list, k));
  r.reason = why;
  return r;
}

// least-used, fastest, most-reliable: the models ordered by their recent
// figures (ties keep the route's order). For the last two, models without
// recent attempts come first, in the route's order: they are tried until they
// have figures, so a model that was never measured, or recovered while unused,
// gets its chance instead of losing to one measured as bad.
Routing pickMeasured(const RouteRule& rule, const std::vector<Resolved>& list, const RouteSignals& signals) {
  struct Scored {
    const Resolved* model;
    RouteSignals::Figures f;
  };
  std::vector<Scored> scored;
  scored.reserve(list.size());
  for (const Resolved& m : list) {
    scored.push_back(Scored{&m, signals.figures(m.model)});
  }
  const RouteStrategy s = rule.strategy;
  std::stable_sort(scored.begin(), scored.end(), [s](const Scored& a, const Scored& b) {
    if (s == RouteStrategy::kLeastUsed) {
      return a.f.routed_last_minute < b.f.routed_last_minute;
    }
    const bool ka = a.f.outcomes > 0;
    const bool kb = b.f.outcomes > 0;
    if (ka != kb) {
      return kb;  // The unmeasured one first.
    }
    if (!ka) {
      return false;
    }
    return s == RouteStrategy::kFastest ? *a.f.median_latency_ms < *b.f.median_latency_ms
                                        : *a.f.success_rate > *b.f.success_rate;
  });
  std::vector<Resolved> ordered;
  ordered.reserve(scored.size());
  for (const Scored& x : scored) {
    ordered.push_back(*x.model);
  }
  Routing r = fromResolved(ordered);
  const RouteSignals::Figures& f = scored.front().f;
  const std::string& m = ordered.front().model;
  if (s == RouteStrategy::kLeastUsed) {
    r.reason = "least-used: " + m + " was routed " + std::to_string(f.routed_last_minute) +
               " jobs in the last minute, the fewest of " + std::to_string(list.size());
  } else if (f.outcomes == 0) {
    r.reason = std::string(routeStrategyName(s)) + ": " + m + " has no attempts in the last " +
               std::to_string(RouteSignals::kWindowMs / 60'000) +
               " minutes, and models without recent attempts are tried first";
  } else {
    r.reason = s == RouteStrategy::kFastest
                   ? "fastest: " + m + " has the lowest median latency, " + std::to_string(*f.median_latency_ms) +
                         " ms over its last " + std::to_string(f.outcomes) + " attempts"
                   : "most-reliable: " + m + " has the highest success rate, " + percent(*f.success_rate) +
                         " of its last " + std::to_string(f.outcomes) + " attempts";
  }
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

namespace {

Routing pickByStrategy(const RouteRule& rule, const std::vector<Resolved>& list, const ModelLookup& lookup,
                       const RoutingInput& input) {
  switch (rule.strategy) {
    case RouteStrategy::kCostOptimized:
      return pickCheapest(
          list, lookup,
          input.facts != nullptr ? tokensOf(*input.facts) : requestTokens(input.kind, input.request_json));
    case RouteStrategy::kWeighted:
      if (list.size() != rule.models.size()) {
        // Two entries name one model after aliases: their weights no longer line up.
        Routing r = pickOrdered(list);
        r.reason = "weighted: two of the route's models are one model after [aliases], so the route's order";
        return r;
      }
      [[fallthrough]];
    case RouteStrategy::kRoundRobin:
    case RouteStrategy::kRandom:
      if (input.signals != nullptr) {
        return pickDrawn(rule, list, *input.signals);
      }
      break;
    case RouteStrategy::kLeastUsed:
    case RouteStrategy::kFastest:
    case RouteStrategy::kMostReliable:
      if (input.signals != nullptr) {
        return pickMeasured(rule, list, *input.signals);
      }
      break;
    case RouteStrategy::kOrdered:
      break;
  }
  return pickOrdered(list);
}

// A job that names a routing rule: the rule picks the model from its list; the
// job's own fallbacks come after the rule's models.
Result<std::optional<Routing>> routeByRule(const Config& config, const ModelLookup& lookup,
                                           const RoutingInput& input, std::string_view route,
                                           const std::vector<std::string>& own) {
  const RouteRule* rule = findRoute(config, route);
  if (rule == nullptr) {
    return makeError(ErrorKind::kInvalidArgument,
                     "unknown route " + quoted(route) +
                         (config.routes.empty() ? std::string(": no routing rules are configured ([[routes]])")
                                                : "; the configured routes are " + routeNames(config)));
  }
  std::vector<Resolved> list;
  addResolved(config, rule->models, &list);
  assert(!list.empty());  // loadConfig() refuses a route without models.
  Routing r = pickByStrategy(*rule, list, lookup, input);
  r.route = rule->name;
  for (const std::string& name : own) {
    std::string m = resolveAlias(config, name);
    if (std::find(r.models.begin(), r.models.end(), m) == r.models.end()) {
      r.models.push_back(std::move(m));
    }
  }
  return std::optional<Routing>(std::move(r));
}

// A job that names `chain:NAME`: the chain's models as the config has them now,
// aliases applied, then the job's own fallbacks.
Result<std::optional<Routing>> routeByChain(const Config& config, std::string_view model,
                                            const std::vector<std::string>& own) {
  const auto chain = config.chains.find(std::string(model.substr(kChainPrefix.size())));
  if (chain == config.chains.end() || chain->second.empty()) {
    return makeError(ErrorKind::kInvalidArgument, "no chain " + quoted(model) + " is configured");
  }
  std::vector<Resolved> list;
  addResolved(config, chain->second, &list);
  addResolved(config, own, &list);
  Routing r = fromResolved(list);
  r.reason = "chain " + quoted(chain->first) + " of the config, " + std::to_string(chain->second.size()) +
             " model" + (chain->second.size() == 1 ? "" : "s") +
             (own.empty() ? "" : ", then the job's fallback_models");
  return std::optional<Routing>(std::move(r));
}

// A job that names a model: routed when the config has a say in what it tries
// (an alias among its models, or OPENROUTER_PREFERRED_MODELS as its fallbacks).
std::optional<Routing> routeByModel(const Config& config, std::string_view model,
                                    const std::vector<std::string>& own, bool pinned) {
  const ModelAlias* alias = findAlias(config.aliases, model);
  const bool fallback_alias = std::any_of(
      own.begin(), own.end(), [&](const std::string& m) { return findAlias(config.aliases, m) != nullptr; });
  const bool preferred = own.empty() && !config.preferred_models.empty() && !pinned;
  if (alias == nullptr && !fallback_alias && !preferred) {
    return std::nullopt;  // What it tries is its model and fallbacks, as given.
  }
  std::vector<Resolved> list;
  addResolved(config, {std::string(model)}, &list);
  addResolved(config, preferred ? config.preferred_models : own, &list);
  Routing r = fromResolved(list);
  r.reason = alias != nullptr ? "request.model " + quoted(model) + " matches alias " + quoted(alias->match)
             : fallback_alias ? std::string("request.model as given; aliases among fallback_models resolved")
                              : std::string("request.model as given");
  if (preferred) {
    r.reason += ", then OPENROUTER_PREFERRED_MODELS";
  }
  return r;
}

}  // namespace

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
    return routeByRule(config, lookup, input, *route, own);
  }
  if (model.rfind(kChainPrefix, 0) == 0) {
    return routeByChain(config, model, own);
  }
  return routeByModel(config, model, own, input.pinned);
}

}  // namespace llmq::daemon
