// ProviderRegistry: model -> provider by prefix and wildcard patterns.
#include "daemon/provider_registry.h"

#include "common/wildcard.h"
#include "upstream/curl_loop.h"
#include "upstream/http_provider.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon {

ProviderRegistry::ProviderRegistry(uv_loop_t* loop, const Config& config)
    : mock_(std::make_unique<upstream::MockProvider>(loop, config.mock)) {
  upstream::CurlLoopOptions curl_opts;
  curl_opts.max_host_connections = config.http.max_host_connections;
  curl_opts.max_total_connections = std::max<long>(config.max_inflight, config.http.max_host_connections);
  curl_ = std::make_unique<upstream::CurlLoop>(loop, curl_opts);
  for (const ProviderConfig& p : config.providers) {
    upstream::HttpProviderSettings s;
    s.name = p.name;
    s.base_url = p.base_url;
    s.api_key = p.api_key;
    s.openrouter = p.openrouter;
    s.stream_usage = p.stream_usage;
    s.referer = p.referer;
    s.title = p.title;
    s.connect_timeout_ms = config.http.connect_timeout_ms;
    s.idle_timeout_ms = config.http.idle_timeout_ms;
    http_.push_back(HttpEntry{p.models, std::make_unique<upstream::HttpProvider>(*curl_, std::move(s)),
                              p.openrouter || !p.api_key_env.empty(), p.openrouter});
    if (p.openrouter) {
      has_pool_ = !config.openrouter_pool.empty() || !p.api_key.empty();
    }
  }
}

ProviderRegistry::~ProviderRegistry() { close(); }

Route ProviderRegistry::resolve(std::string_view model) const {
  if (mock_ && upstream::MockProvider::handles(model)) {
    return Route{mock_.get(), "mock", false, false};
  }
  for (const HttpEntry& e : http_) {
    for (const std::string& pattern : e.patterns) {
      if (wildcardMatch(pattern, model)) {
        return Route{e.provider.get(), e.provider->name(), e.needs_key,
                     e.openrouter ? has_pool_ : e.provider->hasKey(), e.openrouter};
      }
    }
  }
  return Route{};
}

size_t ProviderRegistry::active() const {
  size_t n = mock_ ? mock_->active() : 0;
  for (const HttpEntry& e : http_) {
    n += e.provider->active();
  }
  return n;
}

void ProviderRegistry::kick() {
  if (curl_) {
    curl_->kick();
  }
}

void ProviderRegistry::close() {
  http_.clear();  // Removes any transfer still in the loop.
  if (curl_) {
    curl_->close();
    curl_.reset();
  }
  mock_.reset();
}

}  // namespace llmq::daemon
