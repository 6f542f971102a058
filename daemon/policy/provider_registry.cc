// ProviderRegistry: model -> provider by prefix and wildcard patterns.
#include "daemon/policy/provider_registry.h"

#include <algorithm>

#include "common/log.h"
#include "common/wildcard.h"
#include "upstream/base_url.h"
#include "upstream/curl_loop.h"
#include "upstream/http_provider.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon {

ProviderRegistry::ProviderRegistry(uv_loop_t* loop, const Config& config)
    : mock_(std::make_unique<upstream::MockProvider>(loop, config.mock)) {
  upstream::CurlLoopOptions curl_opts;
  curl_opts.max_host_connections = config.http.max_host_connections;
  curl_opts.max_total_connections = std::max<long>(config.max_inflight, config.http.max_host_connections);
  curl_opts.max_buffered_bytes = config.http.max_buffered_bytes;
  curl_ = std::make_unique<upstream::CurlLoop>(loop, curl_opts);
  build(config, {});
}

upstream::HttpProviderSettings ProviderRegistry::settingsFor(const Config& config, const ProviderConfig& p) {
  upstream::HttpProviderSettings s;
  s.name = p.name;
  s.base_url = p.base_url;
  s.api_key = p.api_key;
  s.openrouter = p.openrouter;
  s.stream_usage = p.stream_usage;
  s.responses_api = p.responses_api;
  s.referer = p.referer;
  s.title = p.title;
  s.connect_timeout_ms = config.http.connect_timeout_ms;
  s.idle_timeout_ms = config.http.idle_timeout_ms;
  s.max_body_bytes = config.http.max_response_bytes;
  s.max_event_bytes = config.http.max_event_bytes;
  return s;
}

void ProviderRegistry::build(const Config& config, std::vector<std::unique_ptr<upstream::HttpProvider>> reusable) {
  http_.clear();
  has_pool_ = false;
  for (const ProviderConfig& p : config.providers) {
    upstream::HttpProviderSettings s = settingsFor(config, p);
    std::unique_ptr<upstream::HttpProvider> provider;
    for (auto& r : reusable) {
      if (r && r->settings() == s) {
        provider = std::move(r);
        break;
      }
    }
    if (!provider) {
      provider = std::make_unique<upstream::HttpProvider>(*curl_, std::move(s));
    }
    http_.push_back(HttpEntry{p.models, std::move(provider), p.openrouter || !p.api_key_env.empty(), p.openrouter});
    if (p.openrouter) {
      has_pool_ = !config.openrouter_pool.empty() || !p.api_key.empty();
    }
    const bool keyed = !p.api_key.empty() || (p.openrouter && !config.openrouter_pool.empty());
    if (keyed && upstream::sendsKeysInClear(p.base_url)) {
      // Only the host: a base URL may carry a user and password of its own.
      const std::string host(upstream::urlHost(p.base_url));
      LOG_WARN(
          "provider %s: its key goes to %s over plain http://, readable by anyone on the way; "
          "use https:// (plain http is meant for loopback)",
          p.name.c_str(), host.c_str());
    }
  }
  for (auto& r : reusable) {
    if (r) {
      retired_.push_back(std::move(r));
    }
  }
  freeRetired();
}

void ProviderRegistry::reconfigure(const Config& config) {
  if (!curl_) {
    return;
  }
  std::vector<std::unique_ptr<upstream::HttpProvider>> current;
  for (HttpEntry& e : http_) {
    current.push_back(std::move(e.provider));
  }
  build(config, std::move(current));
}

void ProviderRegistry::freeRetired() {
  std::erase_if(retired_, [](const std::unique_ptr<upstream::HttpProvider>& p) { return p->active() == 0; });
}

ProviderRegistry::~ProviderRegistry() { close(); }

void ProviderRegistry::mount(std::string pattern, upstream::Provider& provider) {
  mounted_.push_back(Mounted{std::move(pattern), &provider});
}

ProviderChoice ProviderRegistry::resolve(std::string_view model, std::string_view pinned) const {
  // Pinned: the same order and patterns, among that one provider only.
  const auto wanted = [pinned](std::string_view name) { return pinned.empty() || name == pinned; };
  for (const Mounted& m : mounted_) {
    if (wanted(m.provider->name()) && wildcardMatch(m.pattern, model)) {
      return ProviderChoice{m.provider, m.provider->name(), false, false};
    }
  }
  if (mock_ && wanted("mock") && upstream::MockProvider::handles(model)) {
    return ProviderChoice{mock_.get(), "mock", false, false};
  }
  for (const HttpEntry& e : http_) {
    if (!wanted(e.provider->name())) {
      continue;
    }
    for (const std::string& pattern : e.patterns) {
      if (wildcardMatch(pattern, model)) {
        return ProviderChoice{e.provider.get(), e.provider->name(), e.needs_key,
                              e.openrouter ? has_pool_ : e.provider->hasKey(), e.openrouter};
      }
    }
  }
  return ProviderChoice{};
}

bool ProviderRegistry::has(std::string_view name) const {
  if (mock_ && name == "mock") {
    return true;
  }
  const auto named = [name](const auto& e) { return e.provider->name() == name; };
  return std::any_of(mounted_.begin(), mounted_.end(), named) || std::any_of(http_.begin(), http_.end(), named);
}

size_t ProviderRegistry::active() const {
  size_t n = mock_ ? mock_->active() : 0;
  for (const Mounted& m : mounted_) {
    n += m.provider->active();
  }
  for (const HttpEntry& e : http_) {
    n += e.provider->active();
  }
  for (const auto& r : retired_) {
    n += r->active();
  }
  return n;
}

void ProviderRegistry::kick() {
  if (curl_) {
    curl_->kick();
  }
  if (!retired_.empty()) {
    freeRetired();
  }
}

void ProviderRegistry::close() {
  mounted_.clear();
  http_.clear();  // Removes any transfer still in the loop.
  retired_.clear();
  if (curl_) {
    curl_->close();
    curl_.reset();
  }
  mock_.reset();
}

}  // namespace llmq::daemon
