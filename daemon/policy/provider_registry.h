// daemon::ProviderRegistry owns the providers and answers "who serves this
// model": `mock/...` is the built-in mock; otherwise the first configured
// provider whose model pattern matches; OpenRouter last, for everything else
// (README.md, Where files live). It also owns the CurlLoop the HTTP providers share.
//
// Loop thread only. close() before the loop closes (after in-flight transfers
// were cancelled): it cleans up the curl multi handle and closes the timers.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "upstream/provider.h"

namespace llmq::upstream {
class CurlLoop;
class HttpProvider;
class MockProvider;
struct HttpProviderSettings;
}  // namespace llmq::upstream

namespace llmq::daemon {

// Who serves a model (ProviderRegistry::resolve) and how it gets its key. Not to
// be confused with Routing (common/job_options.h): which models a job tries.
struct ProviderChoice {
  upstream::Provider* provider = nullptr;
  std::string_view name;
  bool needs_key = false;  // The provider refuses requests without a key.
  bool has_key = false;    // A server key is configured for it.
  bool uses_pool = false;  // OpenRouter: keys come from the KeyPool.
};

class ProviderRegistry {
 public:
  ProviderRegistry(uv_loop_t* loop, const Config& config);
  ~ProviderRegistry();

  // Who serves `model`; provider is null when nothing does. With `pinned`, a
  // provider's name, only that provider is asked (a job pinned to a provider,
  // /v1/providers/NAME/...): null when it does not serve the model.
  ProviderChoice resolve(std::string_view model, std::string_view pinned = {}) const;
  // Whether a provider of that name is configured (or is the built-in mock).
  bool has(std::string_view name) const;
  size_t active() const;
  // Sends the HTTP requests started during this turn right away (CurlLoop::kick).
  void kick();
  // SIGHUP: takes the providers of `config` ([[providers]] and OpenRouter's
  // settings). A provider whose settings did not change stays the same object
  // (its connections stay warm) with its new model patterns; a changed or removed
  // one stops taking new requests and is freed once its transfers have ended.
  void reconfigure(const Config& config);
  // The curl multi loop the HTTP providers share, for the daemon's own requests
  // (the model catalog's GET /models); null once closed.
  upstream::CurlLoop* curl() const { return curl_.get(); }
  void close();

  // Serves the models `pattern` matches (wildcards as in [[providers]] models)
  // with `provider`, which the caller owns and keeps alive until close(); looked
  // at before every configured provider. For an embedder's own provider, and
  // for the engine's tests, which script what the upstream answers.
  void mount(std::string pattern, upstream::Provider& provider);

 private:
  struct Mounted {
    std::string pattern;
    upstream::Provider* provider;
  };
  std::vector<Mounted> mounted_;
  struct HttpEntry {
    std::vector<std::string> patterns;
    std::unique_ptr<upstream::HttpProvider> provider;
    bool needs_key;
    bool openrouter;
  };

  std::unique_ptr<upstream::MockProvider> mock_;
  std::unique_ptr<upstream::CurlLoop> curl_;
  static upstream::HttpProviderSettings settingsFor(const Config& config, const ProviderConfig& p);
  void build(const Config& config, std::vector<std::unique_ptr<upstream::HttpProvider>> reusable);
  void freeRetired();

  std::vector<HttpEntry> http_;
  // Providers replaced by reconfigure() whose transfers are still running.
  std::vector<std::unique_ptr<upstream::HttpProvider>> retired_;
  bool has_pool_ = false;  // OpenRouter has at least one server key.
};

}  // namespace llmq::daemon
