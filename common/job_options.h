// llmq::JobOptions: the submit options of a job that its columns do not hold
// (its own fallback models, the cache and own-key flags, fail_when_cooling,
// the client's request id, the routing decided at submit, the facts of its
// request and the check its answer must pass), typed in memory.
// In the database they are one small JSON object in the jobs table's `options`
// column, written by toJson() and read by parseJobOptions() here and nowhere
// else, so the stored form stays readable with sqlite3 and the rest of llmq
// never parses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmq {

// Which models a job runs, decided once at submit by the model router
// (daemon/policy/model_router.h) and stored with the job, so that what runs is
// what was acknowledged, across restarts and configuration reloads.
struct Routing {
  std::optional<std::string> route;  // The rule the job named, if any.
  std::optional<std::string> alias;  // The alias key that named models.front(), if one did.
  std::vector<std::string> models;   // Concrete ids, in order: the model, then its fallbacks.
  std::string reason;                // Why models.front(), for people.

  const std::string& model() const { return models.front(); }
  bool operator==(const Routing&) const = default;
};

// What the engine weighs of a request before it runs (daemon/policy/request_estimate.h),
// taken once at submit from the parsed request and kept with the job, so that
// the gates of an attempt, the response cache and the budgets read them instead
// of parsing the stored request again.
struct RequestFacts {
  int64_t prompt_tokens = 0;              // Estimated (about four bytes a token).
  std::optional<int64_t> completion_cap;  // max_tokens or its kind's name; unset: none. 0 for embeddings.
  bool deterministic = false;             // temperature == 0: another job's answer may serve it.

  bool operator==(const RequestFacts&) const = default;
};

// What a chat job's answer must be, from the request's `response_format`, taken
// once at submit (common/schema_check.h) so that the runner never reads
// the request for it: a JSON object (`json_object`), or JSON that matches a
// schema (`json_schema` with `strict: true`).
struct OutputCheck {
  enum Kind { kJsonObject, kJsonSchema };
  Kind kind = kJsonObject;
  std::string schema;  // kJsonSchema: the schema, as compact JSON.

  bool operator==(const OutputCheck&) const = default;
};

struct JobOptions {
  std::vector<std::string> fallback_models;  // The job's own, as submitted.
  bool cache = false;                        // Opted in to the response cache.
  bool no_cache = false;                     // Opted out of it, even under [cache] enabled.
  bool byok = false;                         // Runs with its own key (store::SecretStore).
  bool fail_when_cooling = false;
  std::optional<std::string> request_id;  // Sent upstream as X-Request-Id.
  std::optional<std::string> provider;    // Pinned: every attempt goes to this provider.
  std::optional<Routing> routing;
  std::optional<RequestFacts> facts;        // Unset for a job stored before they were taken.
  std::optional<OutputCheck> output_check;  // Unset: the answer is not checked.

  bool operator==(const JobOptions&) const = default;
};

// The stored form: "{}" when every option is at its default.
std::string toJson(const JobOptions& options);
// The stored form read back. Leniently: what is missing or of the wrong type
// keeps its default (a database edited by hand cannot stop a job from loading),
// and a routing without models is none.
JobOptions parseJobOptions(std::string_view json);

// {"route":..,"alias":..,"model":..,"models":[..],"reason":..}, as stored and as
// the job object shows it.
void appendRoutingJson(std::string& out, const Routing& routing);

}  // namespace llmq
