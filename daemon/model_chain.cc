// Model chains: parsed from the job's options and the config on each attempt
// (cheap: a few short strings), so nothing about them lives only in memory.
#include "daemon/model_chain.h"

#include "common/json.h"
#include "daemon/config.h"

namespace llmq::daemon {

std::vector<std::string> modelChain(const store::JobRecord& job, const Config& config) {
  if (job.model.rfind(kChainPrefix, 0) == 0) {
    auto it = config.chains.find(job.model.substr(kChainPrefix.size()));
    return it == config.chains.end() ? std::vector<std::string>{} : it->second;
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
    for (const std::string& m : config.preferred_models) {
      if (m != job.model) {
        chain.push_back(m);
      }
    }
  }
  return chain;
}

bool usesOwnKey(const store::JobRecord& job) {
  if (job.options_json.size() <= 2) {
    return false;
  }
  json::Document options;
  if (!json::parse(options, job.options_json, nullptr)) {
    return false;
  }
  const json::Value* byok = json::member(options, "byok");
  return byok != nullptr && byok->IsBool() && byok->GetBool();
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
