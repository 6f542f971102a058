// ModelCatalog: the lookup tables, the fetch of OpenRouter's model list, and the
// models.list rendering.
#include "daemon/policy/model_catalog.h"

#include <algorithm>
#include <cctype>

#include "common/json.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/time.h"
#include "common/wildcard.h"
#include "daemon/config.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/turn/commit_cycle.h"
#include "upstream/builtin_models.h"
#include "upstream/http_get.h"
#include "upstream/mock_provider.h"
#include "upstream/model_catalog_parse.h"

namespace llmq::daemon {
namespace {

// A model list is about a megabyte; a minute covers a slow link, not a hung one.
constexpr int64_t kFetchTimeoutMs = 60000;
constexpr char kOpenRouter[] = "openrouter";

bool hasWildcard(std::string_view pattern) { return pattern.find_first_of("*?") != std::string_view::npos; }

// ASCII case-insensitive substring test, for the `filter` of models.list.
bool containsIgnoringCase(std::string_view text, std::string_view needle) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != text.end();
}

const ProviderConfig* openRouterConfig(const Config& config) {
  for (const ProviderConfig& p : config.providers) {
    if (p.openrouter) {
      return &p;
    }
  }
  return nullptr;
}

// "HTTP 500: <the upstream's error.message>", bounded, from a non-200 answer.
std::string describeHttpFailure(int status, const std::string& body) {
  std::string out = "HTTP " + std::to_string(status);
  json::Document doc;
  if (json::parse(doc, body, nullptr)) {
    const json::Value* error = json::member(doc, "error");
    const json::Value* message = error != nullptr ? json::member(*error, "message") : nullptr;
    if (message != nullptr && message->IsString()) {
      out += ": " + std::string(json::view(*message).substr(0, 200));
    }
  }
  return out;
}

// A count that 0 means unknown of: the count, or null.
void writeCount(JsonWriter& w, int64_t n) {
  if (n > 0) {
    w.int64(n);
  } else {
    w.null();
  }
}

// One models.list entry: what the model is, what it costs per token, and where
// the catalog learned it (`source`). Prices are written as RapidJSON wrote them
// (the shortest text that reads back as the same double), as they always were.
void renderModel(std::string& out, const ModelInfo& m, const char* source) {
  JsonWriter w(out);
  w.beginObject();
  w.key("id").string(m.id);
  w.key("name").string(m.name);
  w.key("provider").string(m.provider);
  w.key("context_length");
  writeCount(w, m.context_length);
  w.key("max_completion_tokens");
  writeCount(w, m.max_completion_tokens);
  w.key("pricing");
  if (m.pricing.known) {
    const Pricing& p = m.pricing;
    w.beginObject();
    for (auto [name, value] : {std::pair{"prompt", p.prompt},
                               {"completion", p.completion},
                               {"request", p.request},
                               {"image", p.image},
                               {"cache_read", p.cache_read},
                               {"cache_write", p.cache_write}}) {
      w.key(name).roundTrip(value);
    }
    w.endObject();
  } else {
    w.null();
  }
  w.key("source").string(source);
  w.endObject();
}

// What follows the models array: when the list was fetched (null: never).
std::string fetchedAtTail(const std::optional<int64_t>& fetched_at) {
  std::string tail;
  JsonWriter w(tail, JsonWriter::Start::kAfterMember);
  w.key("fetched_at");
  if (fetched_at) {
    w.string(rfc3339(*fetched_at));
  } else {
    w.null();
  }
  return tail;
}

}  // namespace

ModelCatalog::ModelCatalog(Parts parts) : p_(parts), store_(parts.db) {}

ModelCatalog::~ModelCatalog() { close(); }

const char* ModelCatalog::sourceName(Source source) {
  switch (source) {
    case Source::kConfig:
      return "config";
    case Source::kFetched:
      return "fetched";
    case Source::kBuiltin:
      return "builtin";
    case Source::kMock:
      return "mock";
  }
  return "builtin";
}

Result<void> ModelCatalog::init() {
  auto rows = store_.loadAll();
  if (!rows) {
    return rows.takeError();
  }
  for (store::CatalogRow& row : *rows) {
    fetched_at_ = std::max(fetched_at_.value_or(0), row.fetched_at);
    fetched_.push_back(std::move(row.model));
  }
  rebuild();
  if (fetched_at_) {
    LOG_INFO("model catalog: %zu models cached from the fetch of %s", fetched_.size(),
             rfc3339(*fetched_at_).c_str());
  }
  if (const ProviderConfig* p = openRouterConfig(p_.config)) {
    fetch_url_ = p->base_url + "/models";
  }

  const CatalogConfig& cc = p_.config.catalog;
  if (!cc.refresh_at_start && cc.refresh_ms <= 0) {
    return {};
  }
  // The outcome of a refresh is logged by onFetched(); nobody else is waiting.
  timer_ = UvTimer(p_.loop, [this] { refresh([](const Result<size_t>&) {}); });
  if (!timer_) {
    return makeError(ErrorKind::kInternal, "creating the model catalog's timer failed");
  }
  // A timeout of 0 fires in the loop's first iteration, after READY=1: the fetch
  // never delays readiness.
  const auto period = static_cast<uint64_t>(cc.refresh_ms);
  timer_.start(cc.refresh_at_start ? 0 : period, period);
  return {};
}

void ModelCatalog::close() {
  if (closed_) {
    return;
  }
  closed_ = true;
  timer_.close();
  if (fetch_) {
    fetch_->cancel();
  }
  finish(makeError(ErrorKind::kInvalidState, "llmqd is shutting down"));
  fetch_.reset();
}

bool ModelCatalog::refreshing() const { return fetch_ && fetch_->active(); }

bool ModelCatalog::refreshedWithin(int64_t ms) const {
  return fetch_began_mono_ && p_.clock.monoMs() - *fetch_began_mono_ < ms;
}

void ModelCatalog::refresh(std::function<void(Result<size_t>)> done) {
  if (closed_ || p_.run.shutting_down) {
    done(makeError(ErrorKind::kInvalidState, "llmqd is shutting down"));
    return;
  }
  waiters_.push_back(std::move(done));
  if (refreshing()) {
    return;  // Joins the fetch under way.
  }
  const ProviderConfig* p = openRouterConfig(p_.config);
  upstream::CurlLoop* curl = p_.providers.curl();
  if (p == nullptr || curl == nullptr || fetch_url_.empty()) {
    finish(makeError(ErrorKind::kInvalidState, "no OpenRouter provider to fetch the model list from"));
    return;
  }
  if (!fetch_) {
    fetch_ = std::make_unique<upstream::HttpGet>(*curl);
  }
  fetch_began_mono_ = p_.clock.monoMs();
  upstream::HttpGetRequest req;
  req.url = fetch_url_;
  req.connect_timeout_ms = p_.config.http.connect_timeout_ms;
  req.timeout_ms = kFetchTimeoutMs;
  req.headers.emplace_back("Accept: application/json");
  // The list is public; a key, when there is one, only attributes the call. The
  // pool's first key, as for jobs (docs/upstream.md), else the single key.
  const std::string& key = !p_.config.openrouter_pool.empty() ? p_.config.openrouter_pool.front() : p->api_key;
  if (!key.empty()) {
    req.headers.push_back("Authorization: Bearer " + key);
  }
  if (!p->referer.empty()) {
    req.headers.push_back("HTTP-Referer: " + p->referer);
  }
  if (!p->title.empty()) {
    req.headers.push_back("X-Title: " + p->title);
  }
  LOG_DEBUG("model catalog: fetching %s", fetch_url_.c_str());
  auto started = fetch_->start(req, [this](Result<upstream::HttpGetResponse> r) { onFetched(std::move(r)); });
  if (!started) {
    LOG_WARN("refreshing the model catalog failed, keeping the previous prices: %s",
             started.error().message.c_str());
    finish(started.takeError());
  }
}

void ModelCatalog::onFetched(Result<upstream::HttpGetResponse> response) {
  auto fail = [this](std::string why) {
    LOG_WARN("refreshing the model catalog failed, keeping the previous prices: %s", why.c_str());
    finish(makeError(ErrorKind::kIo, std::move(why)));
  };
  if (!response) {
    fail(response.error().message);
    return;
  }
  if (response->status != 200) {
    fail("GET " + fetch_url_ + ": " + describeHttpFailure(response->status, response->body));
    return;
  }
  auto parsed = upstream::parseModelCatalog(response->body, kOpenRouter);
  if (!parsed) {
    fail("GET " + fetch_url_ + ": " + parsed.error().message);
    return;
  }
  if (parsed->models.empty()) {
    // Most likely a broken answer; an empty catalog would throw away good prices.
    fail("GET " + fetch_url_ + ": the list holds no usable model");
    return;
  }
  const int64_t now = p_.clock.nowMs();
  // Into the turn's transaction; committed at the end of this turn. Failing to
  // cache it costs only the next offline start, so the fresh list is used anyway.
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("caching the model catalog: %s", w.error().message.c_str());
  } else if (auto r = store_.replaceProvider(kOpenRouter, parsed->models, now); !r) {
    LOG_ERROR("caching the model catalog: %s", r.error().message.c_str());
  }
  fetched_ = std::move(parsed->models);
  fetched_at_ = now;
  rebuild();
  if (parsed->skipped > 0) {
    LOG_NOTICE("model catalog: %zu models from %s; %zu malformed entries skipped", fetched_.size(),
               fetch_url_.c_str(), parsed->skipped);
  } else {
    LOG_INFO("model catalog: %zu models from %s", fetched_.size(), fetch_url_.c_str());
  }
  finish(fetched_.size());
}

void ModelCatalog::finish(const Result<size_t>& result) {
  // Waiters may start the next refresh; they join a fresh list.
  std::vector<std::function<void(Result<size_t>)>> waiters;
  waiters.swap(waiters_);
  for (auto& done : waiters) {
    done(result);
  }
}

void ModelCatalog::rebuild() {
  models_.clear();
  patterns_.clear();
  for (const ModelInfo& m : upstream::builtinModels()) {
    models_.insert_or_assign(m.id, Entry{m, Source::kBuiltin});
  }
  for (const ModelInfo& m : fetched_) {
    models_.insert_or_assign(m.id, Entry{m, Source::kFetched});
  }
  const std::vector<PriceOverride>& overrides = p_.config.prices;
  for (auto& [id, entry] : models_) {
    for (const PriceOverride& o : overrides) {
      if (wildcardMatch(o.match, id)) {
        entry.info.pricing = o.pricing;
        entry.info.context_length = o.context_length > 0 ? o.context_length : entry.info.context_length;
        entry.info.max_completion_tokens = o.max_completion_tokens > 0 ? o.max_completion_tokens
                                                                       : entry.info.max_completion_tokens;
        entry.source = Source::kConfig;
        break;
      }
    }
  }
  for (const PriceOverride& o : overrides) {
    ModelInfo m;
    m.id = o.match;
    m.provider = "config";
    m.context_length = o.context_length;
    m.max_completion_tokens = o.max_completion_tokens;
    m.pricing = o.pricing;
    // An exact id no source knows gets an entry of its own (so models.list shows
    // it), unless an earlier pattern already prices it: the first match wins.
    const bool shadowed = std::any_of(patterns_.begin(), patterns_.end(),
                                      [&](const Entry& e) { return wildcardMatch(e.info.id, o.match); });
    if (!hasWildcard(o.match) && !shadowed) {
      models_.emplace(o.match, Entry{m, Source::kConfig});  // Unless already known.
    }
    patterns_.push_back(Entry{std::move(m), Source::kConfig});
  }

  const upstream::MockOptions& mock = p_.config.mock;
  mock_.info = ModelInfo{};
  mock_.info.id = "mock/*";
  mock_.info.name = "llmq built-in mock provider";
  mock_.info.provider = "mock";
  mock_.info.pricing.prompt = mock.prompt_usd_per_mtok * 1e-6;
  mock_.info.pricing.completion = mock.completion_usd_per_mtok * 1e-6;
  mock_.info.pricing.known = true;
  mock_.source = Source::kMock;
}

const ModelCatalog::Entry* ModelCatalog::findEntry(std::string_view model) const {
  if (upstream::MockProvider::handles(model)) {
    return &mock_;
  }
  if (auto it = models_.find(model); it != models_.end()) {
    return &it->second;
  }
  for (const Entry& p : patterns_) {
    if (wildcardMatch(p.info.id, model)) {
      return &p;
    }
  }
  return nullptr;
}

const ModelInfo* ModelCatalog::find(std::string_view model) const {
  const Entry* e = findEntry(model);
  return e != nullptr ? &e->info : nullptr;
}

std::optional<ModelCatalog::Source> ModelCatalog::sourceOf(std::string_view model) const {
  const Entry* e = findEntry(model);
  return e != nullptr ? std::optional<Source>(e->source) : std::nullopt;
}

std::string ModelCatalog::listJson(std::string_view filter) const {
  return listPage(filter, PageRequest{}, SIZE_MAX);
}

std::string ModelCatalog::listPage(std::string_view filter, const PageRequest& request, size_t max_bytes) const {
  const std::string tail = fetchedAtTail(fetched_at_);
  AnswerPage page(request, max_bytes, "{\"models\":[", tail.size());
  std::string row;
  // Offers one entry to the page; false once the page is full. The key is the
  // entry's section ("0" the models by id, "1" the config patterns, "2" the
  // mock entry) and its id, the order they are listed in.
  auto offer = [&](const char* section, const Entry& e) {
    if (!filter.empty() && !containsIgnoringCase(e.info.id, filter)) {
      return true;
    }
    PageKey key{section, e.info.id};
    if (!page.after(key)) {
      return true;
    }
    row.clear();
    renderModel(row, e.info, sourceName(e.source));
    return page.add(row, key);
  };

  bool open = true;
  for (auto it = models_.begin(); open && it != models_.end(); ++it) {
    open = offer("0", it->second);
  }
  // The patterns by id (they are kept in config order), so a page ends at the
  // same place whatever the config's order.
  std::vector<const Entry*> patterns;
  for (const Entry& p : patterns_) {
    if (hasWildcard(p.info.id)) {
      patterns.push_back(&p);
    }
  }
  std::stable_sort(patterns.begin(), patterns.end(),
                   [](const Entry* a, const Entry* b) { return a->info.id < b->info.id; });
  for (size_t i = 0; open && i < patterns.size(); ++i) {
    // Two patterns with one id (a later [[prices]] entry repeating a match) are
    // listed as the first: one key, one row.
    if (i > 0 && patterns[i]->info.id == patterns[i - 1]->info.id) {
      continue;
    }
    open = offer("1", *patterns[i]);
  }
  if (open) {
    offer("2", mock_);
  }
  return page.finish(tail);
}

}  // namespace llmq::daemon
