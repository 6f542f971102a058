// admitJob: check, deduplicate by idempotency_key, insert in the turn's
// transaction, and acknowledge only after that transaction commits.
#include "daemon/api/job_admission.h"

#include <algorithm>
#include <vector>

#include "common/json.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/schema_check.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_json.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/jobs/responses_format.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/access.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/budget_book.h"
#include "daemon/policy/model_catalog.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/model_router.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/policy/request_estimate.h"
#include "daemon/policy/route_signals.h"
#include "daemon/policy/user_quota.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "ipc/protocol.h"
#include "store/secret_store.h"
#include "store/store.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon {
namespace {

std::string ackJson(int64_t id, store::JobState state, bool deduplicated, uint64_t subscription) {
  std::string r = "{\"job_id\":\"" + ipc::formatJobId(id) + "\",\"state\":\"" +
                  ipc::jobStateName(static_cast<int>(state)) +
                  "\",\"deduplicated\":" + (deduplicated ? "true" : "false");
  if (subscription != 0) {
    r += ",\"subscription\":\"" + EventBus::formatId(subscription) + "\"";
  }
  r += "}";
  return r;
}

std::string stringArray(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    json::appendString(out, v[i]);
  }
  out.push_back(']');
  return out;
}

// `v` as JSON with every object's members sorted by name, so that two values
// equal in any member order write the same text; at the top, without `skip`.
// O(n log n): never the member-by-member lookup of RapidJSON's operator==,
// which a request of a million members would make quadratic.
void appendCanonical(std::string& out, const json::Value& v, const std::vector<std::string_view>& skip = {}) {
  if (v.IsArray()) {
    out.push_back('[');
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      out += i > 0 ? "," : "";
      appendCanonical(out, v[i]);
    }
    out.push_back(']');
    return;
  }
  if (!v.IsObject()) {
    out += json::toString(v);
    return;
  }
  std::vector<const json::Value::Member*> members;
  members.reserve(v.MemberCount());
  for (const auto& m : v.GetObject()) {
    if (std::find(skip.begin(), skip.end(), json::view(m.name)) == skip.end()) {
      members.push_back(&m);
    }
  }
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return json::view(a->name) < json::view(b->name); });
  out.push_back('{');
  for (size_t i = 0; i < members.size(); ++i) {
    out += i > 0 ? "," : "";
    json::appendString(out, json::view(members[i]->name));
    out.push_back(':');
    appendCanonical(out, members[i]->value);
  }
  out.push_back('}');
}

// Whether a stored request and a new one ask for the same, in any member order
// and whatever each says about how the answer is delivered (`stream`,
// `stream_options`): a client may retry a request as a stream to read the
// answer of the first. Runs only when a key comes back.
bool sameRequest(std::string_view stored_json, const json::Value& request) {
  json::Document stored;
  if (!json::parse(stored, stored_json, nullptr) || !stored.IsObject() || !request.IsObject()) {
    return false;
  }
  const std::vector<std::string_view> delivery = {"stream", "stream_options"};
  std::string a;
  std::string b;
  appendCanonical(a, stored, delivery);
  appendCanonical(b, request, delivery);
  return a == b;
}

// An already submitted job with the same idempotency_key: answer with it, if it
// was submitted for the same request. A key sent again with another request is
// refused: answering with the first job would silently give the second request
// another request's answer. (A job whose request retention pruned cannot be
// compared; its key answers with it, as before.)
void answerDuplicate(Call& call, const ipc::SubmitParams& p, const json::Value& request, int64_t id) {
  auto job = call.s.store->getJob(id);
  if (!job || !job->has_value()) {
    replyStoreError(call, job ? makeError(ErrorKind::kInternal, "vanished") : job.error(),
                    "reading the deduplicated job");
    return;
  }
  const store::JobRecord& j = **job;
  // Keys are per owner, so this is the caller's own job; the check job.get makes
  // still applies (a job from before schema v7 got its owner from its label).
  if (!call.s.access->owns(call.peer, j.client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, "job " + ipc::formatJobId(id) + " belongs to another user",
                    "PERMISSION_DENIED");
    return;
  }
  if (j.kind != p.kind || (!j.request_json.empty() && !sameRequest(j.request_json, request))) {
    call.reply.fail(ipc::rpc::kInvalidParams,
                    "idempotency key \"" + *p.idempotency_key + "\" was used for another request (job " +
                        ipc::formatJobId(id) + "); send a new key with a new request",
                    "IDEMPOTENCY_CONFLICT");
    return;
  }
  uint64_t sub = 0;
  if (p.subscribe && !store::isTerminal(j.state)) {
    sub = call.s.bus->subscribe(call.conn_id, SubscriptionScope::kJob, ipc::formatJobId(id), ipc::kAllEvents);
  }
  if (p.wait) {
    if (store::isTerminal(j.state)) {
      call.reply.ok(jobToJson(j));
    } else {
      call.s.lifecycle->addWaiter(id, call.reply);
    }
  } else {
    call.reply.ok(ackJson(id, j.state, true, sub));
  }
  if (sub != 0) {
    call.s.runner->catchUp(sub, id, ipc::kAllEvents);
  }
}

// What the request itself must be before anything is looked up: no key twice
// (llmqd reads the first of two equal keys and an upstream most often the last:
// it would reserve and price one model or max_tokens while another ran), and a
// Responses request that can run (checked now, not when an attempt translates
// it: what is acknowledged can run). False: the call was answered.
bool checkRequest(Call& call, const ipc::SubmitParams& p) {
  if (const std::string where = json::findDuplicateKey(*p.request); !where.empty()) {
    call.reply.fail(ipc::rpc::kInvalidParams, "\"request\" has a key twice: " + where + "; send each key once",
                    "DUPLICATE_KEY");
    return false;
  }
  if (p.kind == JobKind::kResponses) {
    if (Result<std::string> chat = responses::toChatRequest(*p.request); !chat) {
      call.reply.fail(ipc::rpc::kInvalidParams, chat.error().message, "UNSUPPORTED_PARAMETER");
      return false;
    }
  }
  return true;
}

// A job pinned to a provider (`provider`, /v1/providers/NAME/...) runs only
// there, so that provider must exist and serve every model the job may try: a
// fallback it does not serve would fail the job later, after money was spent.
// False: the call was answered.
bool pinnedProviderServes(Call& call, const std::string& provider, const ipc::SubmitParams& p,
                          const std::optional<Routing>& routing) {
  const ProviderRegistry& providers = *call.s.providers;
  if (!providers.has(provider)) {
    call.reply.fail(ipc::rpc::kInvalidParams, "no provider \"" + provider + "\" is configured", "UNKNOWN_PROVIDER");
    return false;
  }
  std::vector<std::string> models;
  if (routing) {
    models = routing->models;
  } else {
    models.push_back(p.model);
    models.insert(models.end(), p.options.fallback_models.begin(), p.options.fallback_models.end());
  }
  for (const std::string& model : models) {
    if (providers.resolve(model, provider).provider == nullptr) {
      call.reply.fail(ipc::rpc::kInvalidParams,
                      "provider \"" + provider + "\" does not serve model \"" + model + "\"", "MODEL_NOT_SERVED");
      return false;
    }
  }
  return true;
}

// What the answer must be (response_format; common/schema_check.h),
// taken now with the rest of the request: a schema llmqd will not run is
// refused with the job, not found out by its first attempt. False: the call
// was answered.
bool takeOutputCheck(Call& call, const ipc::SubmitParams& p, const json::Value& request,
                     std::optional<OutputCheck>* out) {
  Result<std::optional<OutputCheck>> check = outputCheckOf(p.kind, request);
  if (!check) {
    call.reply.fail(ipc::rpc::kInvalidParams, check.error().message, "SCHEMA_REFUSED");
    return false;
  }
  *out = std::move(*check);
  return true;
}

// Whether a chat request's messages already hold a system (or developer) message.
bool hasSystemMessage(const json::Value& messages) {
  for (const json::Value& m : messages.GetArray()) {
    const json::Value* role = m.IsObject() ? json::member(m, "role") : nullptr;
    if (role != nullptr && role->IsString() &&
        (json::view(*role) == "system" || json::view(*role) == "developer")) {
      return true;
    }
  }
  return false;
}

// The request of a chat job that names a [[routes]] rule with defaults
// (docs/configuration.md, "Aliases and routing"): the rule's response_format
// when the request has none, and its system prompt as the first message when
// the request has no system message. nullopt: the request runs as it came.
std::optional<json::Document> withRouteDefaults(const Config& config, const ipc::SubmitParams& p) {
  std::optional<std::string_view> name = p.route;
  if (!name && p.model.rfind(kRoutePrefix, 0) == 0) {
    name = std::string_view(p.model).substr(kRoutePrefix.size());
  }
  const RouteRule* route = name && p.kind == JobKind::kChat ? findRoute(config, *name) : nullptr;
  if (route == nullptr || !p.request->IsObject()) {
    return std::nullopt;
  }
  const json::Value* messages = json::member(*p.request, "messages");
  const bool add_format = !route->response_format.empty() && json::member(*p.request, "response_format") == nullptr;
  const bool add_system = !route->system_prompt.empty() && messages != nullptr && messages->IsArray() &&
                          !hasSystemMessage(*messages);
  if (!add_format && !add_system) {
    return std::nullopt;
  }
  std::optional<json::Document> doc(std::in_place);
  json::Document::AllocatorType& alloc = doc->GetAllocator();
  doc->CopyFrom(*p.request, alloc);
  if (add_format) {
    json::Document format;
    (void)json::parse(format, route->response_format, nullptr);  // Checked when the config was read.
    doc->AddMember("response_format", json::Value(format, alloc), alloc);
  }
  if (add_system) {
    json::Value system(rapidjson::kObjectType);
    system.AddMember("role", "system", alloc);
    system.AddMember("content",
                     json::Value(route->system_prompt.c_str(),
                                 static_cast<rapidjson::SizeType>(route->system_prompt.size()), alloc),
                     alloc);
    json::Value& list = (*doc)["messages"];
    list.PushBack(system, alloc);
    for (rapidjson::SizeType i = list.Size() - 1; i > 0; --i) {
      list[i].Swap(list[i - 1]);  // To the front, the others in their order.
    }
  }
  return doc;
}

// The job's first concrete model: the models it tries (routes, chains, aliases,
// preferred models: daemon/policy/model_router.h) are decided here, once, and
// stored with the job (`routing`): what runs is what was acknowledged, across
// restarts, retries and SIGHUPs. Its provider must exist and have
// a key (or the job brings its own). nullopt: the call was answered.
std::optional<std::string> firstModel(Call& call, const ipc::SubmitParams& p, std::string_view request_json,
                                      const RequestFacts& facts, std::optional<Routing>* routing) {
  Engine& s = call.s;
  const ModelCatalog& catalog = *s.catalog;
  auto routed = routeJob(
      s.config, [&catalog](std::string_view m) { return catalog.find(m); },
      RoutingInput{p.model, p.route, &p.options.fallback_models, request_json, p.kind, &facts, s.signals.get(),
                   p.options.provider.has_value()});
  if (!routed) {
    call.reply.fail(ipc::rpc::kInvalidParams, routed.error().message);
    return std::nullopt;
  }
  *routing = std::move(*routed);
  const std::string first_model = *routing ? (*routing)->model() : p.model;
  if (p.options.provider && !pinnedProviderServes(call, *p.options.provider, p, *routing)) {
    return std::nullopt;
  }
  const ProviderChoice choice = s.providers->resolve(first_model, p.options.provider.value_or(""));
  if (choice.provider == nullptr) {
    call.reply.fail(ipc::rpc::kInvalidParams, "no provider serves model \"" + first_model + "\"");
    return std::nullopt;
  }
  if (choice.needs_key && !choice.has_key && !p.api_key) {
    call.reply.fail(ipc::rpc::kInvalidParams,
                    "no API key for provider " + std::string(choice.name) + " (model \"" + first_model +
                        "\"): set OPENROUTER_API_KEY, or the provider's "
                        "api_key_env, before starting llmqd",
                    "NO_API_KEY");
    return std::nullopt;
  }
  return first_model;
}

// What the caller may ask for: a priority within [access] max_user_priority, no
// submit while llmqd stops, and what the call would hold until its job ends
// (docs/operations.md, "Bounds"). False: the call was answered.
bool checkCaller(Call& call, const ipc::SubmitParams& p) {
  Engine& s = call.s;
  if (p.priority > s.config.max_user_priority && !s.access->isAdmin(call.peer)) {
    // Otherwise one user could put every job ahead of everyone else's.
    call.reply.fail(ipc::rpc::kInvalidParams,
                    "priority " + std::to_string(p.priority) + " is above [access] max_user_priority (" +
                        std::to_string(s.config.max_user_priority) + "), the highest a non-administrator may use");
    return false;
  }
  if (s.run.shutting_down) {
    call.reply.fail(ipc::rpc::kOverloaded, "llmqd is shutting down; submit again once it is back");
    return false;
  }
  if (p.subscribe) {
    if (std::string why = s.bus->refusal(call.conn_id); !why.empty()) {
      call.reply.fail(ipc::rpc::kOverloaded, std::move(why));
      return false;
    }
  }
  if (p.wait) {
    if (std::string why = s.lifecycle->waitRefusal(call.conn_id); !why.empty()) {
      call.reply.fail(ipc::rpc::kOverloaded, std::move(why));
      return false;
    }
  }
  return true;
}

// [quota] (daemon/policy/user_quota.h), then a `reject` budget, which refuses at
// submit what it could not pay for now (docs/money.md, Budgets; the reservation
// itself happens at dispatch, where concurrency is settled). False: refused.
bool withinQuotaAndBudgets(Call& call, const ipc::SubmitParams& p, const store::JobRecord& job,
                           const std::string& first_model) {
  Engine& s = call.s;
  if (auto over = s.quota->refuse(s.config.quota, job.client, s.access->isAdmin(call.peer),
                                  static_cast<int64_t>(job.request_json.size()))) {
    call.reply.fail(ipc::rpc::kOverloaded, *over, "QUOTA_EXCEEDED");
    return false;
  }
  if (!s.budgets->empty()) {
    const Spender who{job.client, first_model, "", "", &p.tags};
    if (s.budgets->covers(who)) {
      const std::optional<double> worst = s.accounting->worstCaseUsd(tokensOf(*job.options.facts), first_model);
      const Budget* refused = worst ? s.budgets->refuses(who, *worst) : nullptr;
      if (refused != nullptr) {
        call.reply.fail(ipc::rpc::kBudgetExceeded,
                        "budget " + refused->row.scope + "/" + refused->row.period + " has $" +
                            std::to_string(std::max(0.0, refused->remaining())) +
                            " left and this job may cost up to $" + std::to_string(*worst),
                        "BUDGET_EXCEEDED");
        return false;
      }
    }
  }
  return true;
}

// What of the submit the job's columns do not hold (common/job_options.h).
JobOptions optionsOf(const ipc::SubmitParams& p, bool byok, const std::optional<Routing>& routing,
                     const RequestFacts& facts) {
  JobOptions o = p.options;
  o.byok = byok;
  o.routing = routing;
  o.facts = facts;
  return o;
}

// The queued job a valid submit becomes, not yet stored.
store::JobRecord newJob(const ipc::SubmitParams& p, std::string client, std::string request_json,
                        const std::optional<Routing>& routing, const RequestFacts& facts, bool byok, int64_t now,
                        int default_max_attempts) {
  store::JobRecord job;
  job.state = store::JobState::kQueued;
  job.priority = p.priority;
  job.owner = Access::ownerOf(client);
  job.client = std::move(client);
  job.tags_json = stringArray(p.tags);
  job.kind = p.kind;
  // The job's `model` is what was asked for: a route shows as "route:NAME".
  job.model = routing && routing->route ? std::string(kRoutePrefix) + *routing->route : p.model;
  job.request_json = std::move(request_json);
  job.options = optionsOf(p, byok, routing, facts);
  job.idempotency_key = p.idempotency_key;
  job.stream = p.stream;
  job.max_attempts = p.max_attempts.value_or(default_max_attempts);
  job.on_restart = p.on_restart_fail ? store::OnRestart::kFail : store::OnRestart::kRequeue;
  job.timeout_ms = p.timeout_ms;
  if (p.deadline_ms) {
    job.deadline_at = now + *p.deadline_ms;
  }
  job.created_at = now;
  job.event_seq = 1;  // Stored with the row: the queued event is the job's first.
  return job;
}

// The job is stored (this turn): it is announced, and the caller answered once the
// turn commits (or, with `wait`, when the job ends).
void acknowledge(Call& call, const ipc::SubmitParams& p, store::JobRecord& job) {
  Engine& s = call.s;
  uint64_t sub = 0;
  if (p.subscribe) {
    sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kJob, ipc::formatJobId(job.id), ipc::kAllEvents);
  }
  if (p.cancel_on_disconnect) {
    s.lifecycle->bindToConnection(job.id, call.conn_id);
  }
  if (p.wait) {
    s.lifecycle->addWaiter(job.id, call.reply);
    Responder reply = call.reply;
    s.cycle->afterCommit([reply](bool committed) {
      if (!committed) {
        reply.fail(ipc::rpc::kStorageFailure,
                   "the database could not commit the job (is the disk full?); nothing was stored");
      }
    });
  } else {
    call.reply.okAfterCommit(ackJson(job.id, job.state, false, sub));
  }
  job.event_seq = 0;  // emitWith() advances it to the stored 1.
  s.lifecycle->emitWith(job, p.tags, ipc::EventKind::kQueued,
                        [&] { return "{\"priority\":" + std::to_string(job.priority) + "}"; });
  if (job.deadline_at) {
    s.scheduler->noteDeadline(*job.deadline_at);
  }
  if (job.options.routing && job.options.routing->route) {
    s.signals->routed(job.options.routing->model());  // least-used routes count it.
  }
  s.scheduler->kick();
}

}  // namespace

void admitJob(Call& call, const ipc::SubmitParams& p) {
  Engine& s = call.s;
  if (!checkRequest(call, p)) {
    return;
  }
  const std::optional<json::Document> defaulted = withRouteDefaults(s.config, p);
  const json::Value& request = defaulted ? *defaulted : *p.request;
  std::optional<OutputCheck> output_check;
  if (!takeOutputCheck(call, p, request, &output_check)) {
    return;
  }
  std::string request_json = json::toString(request);
  // What the request asks, taken here once from the parsed request and kept with
  // the job (common/job_options.h): nothing later parses the request for it.
  const RequestFacts facts = requestFacts(p.kind, request, request_json.size());
  std::optional<Routing> routing;
  const std::optional<std::string> first_model = firstModel(call, p, request_json, facts, &routing);
  if (!first_model || !checkCaller(call, p)) {
    return;
  }
  if (auto w = s.cycle->write(); !w) {
    replyStoreError(call, w.error(), "starting a transaction");
    return;
  }
  std::string client = s.access->clientFor(call.peer, p.client);  // daemon/policy/access.h
  const std::string owner = Access::ownerOf(client);
  if (p.idempotency_key) {
    // Per owner: another user's key neither finds nor blocks this submit.
    auto existing = s.store->findByIdempotencyKey(owner, *p.idempotency_key);
    if (!existing) {
      replyStoreError(call, existing.error(), "looking up the idempotency key");
      return;
    }
    if (existing->has_value()) {
      answerDuplicate(call, p, request, **existing);
      return;
    }
  }

  const bool byok = p.api_key.has_value() && !upstream::MockProvider::handles(*first_model);
  store::JobRecord job = newJob(p, std::move(client), std::move(request_json), routing, facts, byok,
                                s.clock.nowMs(), s.config.default_max_attempts);
  job.options.output_check = std::move(output_check);
  if (!withinQuotaAndBudgets(call, p, job, *first_model)) {
    return;
  }
  auto id = s.store->enqueue(job, p.tags);
  if (!id) {
    replyStoreError(call, id.error(), "storing the job");
    return;
  }
  job.id = *id;
  if (byok) {
    // Encrypted at rest, erased when the job ends; never returned or logged.
    if (auto r = s.secrets->put(job.id, *p.api_key); !r) {
      replyStoreError(call, r.error(), "storing the job's API key");
      return;
    }
  }
  s.lifecycle->noteInserted(job.state);
  s.quota->noteInserted(job.client, static_cast<int64_t>(job.request_json.size()));
  if (routing) {
    LOG_DEBUG("job %s routed to %s: %s", ipc::formatJobId(job.id).c_str(), routing->model().c_str(),
              routing->reason.c_str());
  }

  acknowledge(call, p, job);
}

}  // namespace llmq::daemon
