// KeyCreditPoller: GET /key per pool key, round after round.
#include "daemon/policy/key_credit.h"

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/policy/provider_registry.h"
#include "upstream/http_get.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kFirstCheckDelayMs = 2000;  // Let startup settle first.
constexpr int64_t kBetweenKeysMs = 200;
constexpr int64_t kCheckTimeoutMs = 20000;

std::optional<double> number(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsNumber() ? std::optional<double>(v->GetDouble()) : std::nullopt;
}

}  // namespace

Result<KeyCredit> parseKeyCredit(std::string_view body, int64_t now_ms) {
  json::Document doc;
  std::string error;
  if (!json::parse(doc, body, &error) || !doc.IsObject()) {
    return makeError(ErrorKind::kInvalidArgument, "GET /key: not a JSON object: " + error);
  }
  const json::Value* data = json::member(doc, "data");
  if (data == nullptr || !data->IsObject()) {
    return makeError(ErrorKind::kInvalidArgument, "GET /key: no data object");
  }
  KeyCredit c;
  c.known = true;
  c.checked_at = now_ms;
  c.limit = number(*data, "limit");  // null: no limit.
  c.usage = number(*data, "usage").value_or(0);
  c.remaining = number(*data, "limit_remaining");
  if (!c.remaining && c.limit) {
    c.remaining = std::max(0.0, *c.limit - c.usage);
  }
  return c;
}

KeyCreditPoller::KeyCreditPoller(Parts parts) : p_(parts), timer_(parts.loop, [this] { checkNext(); }) {}

KeyCreditPoller::~KeyCreditPoller() = default;

void KeyCreditPoller::init() {
  const ProviderConfig* openrouter = nullptr;
  for (const ProviderConfig& p : p_.config.providers) {
    if (p.openrouter) {
      openrouter = &p;
    }
  }
  if (openrouter == nullptr || p_.keys.empty() || p_.config.credit_check_ms <= 0 ||
      p_.providers.curl() == nullptr) {
    return;
  }
  url_ = openrouter->base_url + "/key";
  armTimer(kFirstCheckDelayMs);
}

void KeyCreditPoller::close() {
  closed_ = true;
  if (get_) {
    get_->cancel();
  }
  timer_.close();
}

void KeyCreditPoller::armTimer(int64_t delay_ms) {
  if (!closed_) {
    timer_.start(static_cast<uint64_t>(delay_ms));
  }
}

void KeyCreditPoller::checkNext() {
  if (closed_ || p_.run.shutting_down) {
    return;
  }
  if (next_key_ >= p_.keys.size()) {
    next_key_ = 0;
    armTimer(p_.config.credit_check_ms);  // The round is done: the next one later.
    return;
  }
  const PooledKey& key = p_.keys.key(static_cast<int>(next_key_));
  if (key.state == KeyState::kInvalid) {
    ++next_key_;
    checkNext();
    return;
  }
  if (!get_) {
    get_ = std::make_unique<upstream::HttpGet>(*p_.providers.curl());
  }
  upstream::HttpGetRequest req;
  req.url = url_;
  req.connect_timeout_ms = p_.config.http.connect_timeout_ms;
  req.timeout_ms = kCheckTimeoutMs;
  req.max_body_bytes = 64 << 10;
  req.headers = {"Accept: application/json", "Authorization: Bearer " + key.secret};
  auto started = get_->start(req, [this](Result<upstream::HttpGetResponse> r) { onChecked(std::move(r)); });
  if (!started) {
    LOG_WARN("checking the credit of key %s: %s", key.fingerprint.c_str(), started.error().message.c_str());
    ++next_key_;
    armTimer(kBetweenKeysMs);
  }
}

void KeyCreditPoller::onChecked(Result<upstream::HttpGetResponse> r) {
  const int index = static_cast<int>(next_key_++);
  if (index >= static_cast<int>(p_.keys.size())) {
    return;
  }
  const PooledKey& key = p_.keys.key(index);
  if (!r) {
    LOG_WARN("checking the credit of key %s: %s", key.fingerprint.c_str(), r.error().message.c_str());
  } else if (r->status == 401) {
    LOG_WARN("server key %s is invalid (GET /key answered 401); it gets no more requests", key.fingerprint.c_str());
    p_.keys.markInvalid(index);
  } else if (r->status != 200) {
    LOG_WARN("checking the credit of key %s: HTTP %d", key.fingerprint.c_str(), r->status);
  } else if (auto credit = parseKeyCredit(r->body, p_.clock.nowMs()); !credit) {
    LOG_WARN("checking the credit of key %s: %s", key.fingerprint.c_str(), credit.error().message.c_str());
  } else {
    p_.keys.setCredit(index, *credit);
    if (credit->remaining) {
      LOG_DEBUG("key %s: $%.4f of credit left", key.fingerprint.c_str(), *credit->remaining);
    }
  }
  armTimer(kBetweenKeysMs);
}

}  // namespace llmq::daemon
