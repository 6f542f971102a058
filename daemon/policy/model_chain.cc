// The models a job tries: the list stored at submit, or the job's model and
// fallbacks; for rows of an earlier llmqd, the config's chains and preferred
// models read at each attempt (cheap: a few short strings).
#include "daemon/policy/model_chain.h"

#include <algorithm>

#include "common/json.h"
#include "daemon/config.h"
#include "daemon/policy/model_router.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

std::vector<std::string> modelChain(const store::JobRecord& job, const Config& config) {
  // A routed job runs what was decided at submit, whatever the config says now.
  if (job.options.routing) {
    return job.options.routing->models;
  }
  // Below: a job without a stored list. Jobs submitted now have one whenever the
  // config has a say, so the config is read here only for an earlier llmqd's rows.
  if (job.model.rfind(kChainPrefix, 0) == 0) {
    auto it = config.chains.find(job.model.substr(kChainPrefix.size()));
    if (it == config.chains.end()) {
      return {};
    }
    std::vector<std::string> chain;
    for (const std::string& m : it->second) {
      std::string model = resolveAlias(config, m);
      if (std::find(chain.begin(), chain.end(), model) == chain.end()) {
        chain.push_back(std::move(model));
      }
    }
    return chain;
  }
  std::vector<std::string> chain{job.model};
  const std::vector<std::string>& own = job.options.fallback_models;
  chain.insert(chain.end(), own.begin(), own.end());
  if (own.empty() && !job.options.provider) {
    for (const std::string& name : config.preferred_models) {
      std::string m = resolveAlias(config, name);
      if (std::find(chain.begin(), chain.end(), m) == chain.end()) {
        chain.push_back(std::move(m));
      }
    }
  }
  return chain;
}

std::string requestIdOf(const store::JobRecord& job) {
  const std::optional<std::string>& id = job.options.request_id;
  return id && ipc::isRequestId(*id) ? *id : std::string();
}

std::string withModel(std::string_view request_json, std::string_view model) {
  json::Document doc;
  if (!json::parse(doc, request_json, nullptr) || !doc.IsObject()) {
    return std::string(request_json);
  }
  json::Value value(model.data(), static_cast<rapidjson::SizeType>(model.size()), doc.GetAllocator());
  if (auto it = doc.FindMember("model"); it != doc.MemberEnd()) {
    it->value = value;
  } else {
    doc.AddMember("model", value, doc.GetAllocator());
  }
  return json::toString(doc);
}

}  // namespace llmq::daemon
