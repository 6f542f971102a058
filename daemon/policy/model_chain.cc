// Model chains: parsed from the job's options and the config on each attempt
// (cheap: a few short strings), so nothing about them lives only in memory.
// A routed job's chain was decided at submit and is stored in its options.
#include "daemon/policy/model_chain.h"

#include <algorithm>

#include "common/json.h"
#include "daemon/config.h"
#include "daemon/policy/model_router.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

std::vector<std::string> modelChain(const store::JobRecord& job, const Config& config) {
  // A routed job runs what was decided at submit, whatever the config says now.
  if (std::optional<Routing> routing = storedRouting(job.options_json)) {
    return std::move(routing->models);
  }
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
  json::Document options;
  bool own = false;
  if (job.options_json.size() > 2 && json::parse(options, job.options_json, nullptr)) {
    if (const json::Value* f = json::member(options, "fallback_models"); f != nullptr && f->IsArray()) {
      for (const auto& m : f->GetArray()) {
        if (m.IsString()) {
          chain.emplace_back(m.GetString(), m.GetStringLength());
          own = true;
        }
      }
    }
  }
  if (!own) {
    for (const std::string& name : config.preferred_models) {
      std::string m = resolveAlias(config, name);
      if (std::find(chain.begin(), chain.end(), m) == chain.end()) {
        chain.push_back(std::move(m));
      }
    }
  }
  return chain;
}

namespace {

bool optionIsTrue(const store::JobRecord& job, const char* name) {
  if (job.options_json.size() <= 2) {
    return false;
  }
  json::Document options;
  if (!json::parse(options, job.options_json, nullptr)) {
    return false;
  }
  const json::Value* v = json::member(options, name);
  return v != nullptr && v->IsBool() && v->GetBool();
}

}  // namespace

bool usesOwnKey(const store::JobRecord& job) { return optionIsTrue(job, "byok"); }

bool failsWhenCooling(const store::JobRecord& job) { return optionIsTrue(job, "fail_when_cooling"); }

std::string requestIdOf(const store::JobRecord& job) {
  if (job.options_json.size() <= 2) {
    return {};
  }
  json::Document options;
  if (!json::parse(options, job.options_json, nullptr)) {
    return {};
  }
  const json::Value* id = json::member(options, "request_id");
  return id != nullptr && id->IsString() && ipc::isRequestId(json::view(*id)) ? std::string(json::view(*id))
                                                                             : std::string();
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
