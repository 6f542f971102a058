// BudgetBook: calendar periods, matching, reservations and alerts.
#include "daemon/policy/budget_book.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/json.h"
#include "common/text.h"
#include "common/time.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

// The local calendar at `ms`, with the time of day cleared.
std::tm localMidnight(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;  // Let mktime find out for that date.
  return tm;
}

int64_t toMs(std::tm tm) {
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

const char* actionName(BudgetAction a) { return a == BudgetAction::kHold ? "hold" : "reject"; }

}  // namespace

const char* budgetPeriodName(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDay:
      return "day";
    case BudgetPeriod::kWeek:
      return "week";
    case BudgetPeriod::kMonth:
      return "month";
    case BudgetPeriod::kTotal:
      return "total";
  }
  return "?";
}

bool parseBudgetPeriod(std::string_view s, BudgetPeriod* out) {
  for (BudgetPeriod p : {BudgetPeriod::kDay, BudgetPeriod::kWeek, BudgetPeriod::kMonth, BudgetPeriod::kTotal}) {
    if (s == budgetPeriodName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

int64_t periodStart(BudgetPeriod p, int64_t now_ms) {
  std::tm tm = localMidnight(now_ms);
  switch (p) {
    case BudgetPeriod::kDay:
      break;
    case BudgetPeriod::kWeek:
      tm.tm_mday -= (tm.tm_wday + 6) % 7;  // Back to Monday.
      break;
    case BudgetPeriod::kMonth:
      tm.tm_mday = 1;
      break;
    case BudgetPeriod::kTotal:
      return 0;
  }
  return toMs(tm);
}

int64_t periodEnd(BudgetPeriod p, int64_t now_ms) {
  if (p == BudgetPeriod::kTotal) {
    return INT64_MAX;
  }
  std::tm tm = localMidnight(periodStart(p, now_ms));
  switch (p) {
    case BudgetPeriod::kDay:
      tm.tm_mday += 1;
      break;
    case BudgetPeriod::kWeek:
      tm.tm_mday += 7;
      break;
    case BudgetPeriod::kMonth:
      tm.tm_mon += 1;
      break;
    case BudgetPeriod::kTotal:
      break;
  }
  return toMs(tm);  // mktime normalises day 32, month 13, and DST changes.
}

BudgetBook::BudgetBook(store::Store& store, std::function<std::string(std::string_view)> key_fingerprint)
    : store_(store), key_fingerprint_(std::move(key_fingerprint)) {}

bool BudgetBook::parseScope(std::string_view text, store::SpendScope* out, std::string* error) {
  using store::SpendScope;
  if (text == "global") {
    *out = SpendScope{SpendScope::kGlobal, ""};
    return true;
  }
  const size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view value = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  struct Kind {
    const char* name;
    SpendScope::Kind kind;
  };
  for (Kind k :
       {Kind{"client", SpendScope::kClient}, Kind{"key", SpendScope::kKey}, Kind{"model", SpendScope::kModel},
        Kind{"tag", SpendScope::kTag}, Kind{"user", SpendScope::kUser}}) {
    if (kind == k.name && colon != std::string_view::npos) {
      if (value.empty()) {
        *error = "scope \"" + std::string(text) + "\" names nothing after the colon";
        return false;
      }
      *out = SpendScope{k.kind, std::string(value)};
      return true;
    }
  }
  *error = "scope must be global, client:NAME, key:NAME, model:ID or tag:T, not \"" + std::string(text) + "\"";
  return false;
}

Result<Budget> BudgetBook::make(const store::BudgetRow& row, int64_t now_ms) {
  Budget b;
  b.id = next_id_++;
  b.row = row;
  std::string error;
  if (!parseScope(row.scope, &b.scope, &error) || !parseBudgetPeriod(row.period, &b.period)) {
    return makeError(ErrorKind::kInvalidArgument,
                     "budget " + row.scope + "/" + row.period + ": " + (error.empty() ? "bad period" : error));
  }
  b.action = row.action == "hold" ? BudgetAction::kHold : BudgetAction::kReject;
  b.period_start = periodStart(b.period, now_ms);
  b.period_end = periodEnd(b.period, now_ms);
  store::SpendScope ledger_scope = b.scope;
  if (ledger_scope.kind == store::SpendScope::kKey) {
    ledger_scope.value = key_fingerprint_(ledger_scope.value);
  }
  auto spent = store_.spent(ledger_scope, b.period_start, INT64_MAX);
  if (!spent) {
    return spent.takeError();
  }
  b.spent = *spent;
  if (b.row.alerted_period != b.period_start) {
    b.row.alerted.clear();  // Sent in an earlier period: this one starts clean.
  }
  return b;
}

Result<void> BudgetBook::load(int64_t now_ms) {
  auto rows = store_.budgets();
  if (!rows) {
    return rows.takeError();
  }
  budgets_.clear();
  for (const store::BudgetRow& row : *rows) {
    auto b = make(row, now_ms);
    if (!b) {
      return b.takeError();
    }
    budgets_.push_back(std::move(*b));
  }
  return {};
}

Result<void> BudgetBook::ensure(const std::string& scope, BudgetPeriod period, double limit_usd,
                                BudgetAction action, int64_t now_ms) {
  for (const Budget& b : budgets_) {
    if (b.row.scope == scope && b.period == period && b.row.limit_usd == limit_usd && b.action == action) {
      return {};
    }
  }
  auto r = set(scope, period, limit_usd, {}, action, now_ms);
  return r ? Result<void>() : Result<void>(r.takeError());
}

bool BudgetBook::matches(const Budget& b, const Spender& who) const {
  using store::SpendScope;
  switch (b.scope.kind) {
    case SpendScope::kGlobal:
      return true;
    case SpendScope::kClient:
      return who.client == b.scope.value;
    case SpendScope::kUser:
      return coversClient(b.scope.value, who.client);
    case SpendScope::kModel:
      return who.model == b.scope.value;
    case SpendScope::kKey:
      return !who.key_fp.empty() && (who.key_name == b.scope.value || who.key_fp == b.scope.value ||
                                     who.key_fp == key_fingerprint_(b.scope.value));
    case SpendScope::kTag:
      return who.tags != nullptr && std::find(who.tags->begin(), who.tags->end(), b.scope.value) != who.tags->end();
  }
  return false;
}

bool BudgetBook::covers(const Spender& who) const {
  return std::any_of(budgets_.begin(), budgets_.end(), [&](const Budget& b) { return matches(b, who); });
}

const Budget* BudgetBook::refuses(const Spender& who, double worst_usd) const {
  for (const Budget& b : budgets_) {
    if (b.action == BudgetAction::kReject && matches(b, who) && b.unspent() < worst_usd) {
      return &b;
    }
  }
  return nullptr;
}

std::vector<Budget>::iterator BudgetBook::findByKey(const std::string& scope, BudgetPeriod period) {
  return std::find_if(budgets_.begin(), budgets_.end(),
                      [&](const Budget& b) { return b.row.scope == scope && b.period == period; });
}

BudgetBook::Outcome BudgetBook::reserve(const Spender& who, double worst_usd, BudgetReservation* out,
                                        const Budget** blocking) {
  *blocking = nullptr;
  bool wait = false;
  for (const Budget& b : budgets_) {
    if (!matches(b, who) || b.remaining() >= worst_usd) {
      continue;
    }
    if (b.unspent() >= worst_usd) {
      wait = true;  // Running attempts hold the room; they will give some back.
    } else if (*blocking == nullptr || b.action == BudgetAction::kReject) {
      *blocking = &b;
    }
  }
  if (*blocking != nullptr) {
    return (*blocking)->action == BudgetAction::kReject ? Outcome::kReject : Outcome::kHold;
  }
  if (wait) {
    return Outcome::kWait;
  }
  out->budgets.clear();
  out->usd = worst_usd;
  out->active = true;
  for (Budget& b : budgets_) {
    if (matches(b, who)) {
      b.reserved += worst_usd;
      ++b.reservations;
      out->budgets.push_back(b.id);
    }
  }
  return Outcome::kReserved;
}

Budget* BudgetBook::find(uint64_t id) {
  for (std::vector<Budget>* list : {&budgets_, &removed_}) {
    for (Budget& b : *list) {
      if (b.id == id) {
        return &b;
      }
    }
  }
  return nullptr;
}

std::vector<BudgetAlert> BudgetBook::settle(BudgetReservation& r, const Spender& who, double cost_usd,
                                            int64_t started_at) {
  if (r.active) {
    for (uint64_t id : r.budgets) {
      if (Budget* b = find(id); b != nullptr) {
        // Exactly zero once nothing is in flight: no rounding residue accumulates.
        b->reserved = --b->reservations > 0 ? std::max(0.0, b->reserved - r.usd) : 0.0;
      }
    }
    r.active = false;
  }
  std::vector<BudgetAlert> alerts;
  if (cost_usd <= 0) {
    return alerts;
  }
  for (Budget& b : budgets_) {
    if (!charges(b, who, started_at)) {
      continue;  // Not covered, or spent in a period that has rolled over since.
    }
    b.spent += cost_usd;
    bool fired = false;
    for (double f : b.row.alert_at) {
      const bool sent = std::find(b.row.alerted.begin(), b.row.alerted.end(), f) != b.row.alerted.end();
      if (!sent && b.spent >= f * b.row.limit_usd) {
        b.row.alerted.push_back(f);
        alerts.push_back(BudgetAlert{b.row.scope, b.row.period, b.spent, b.row.limit_usd, f});
        fired = true;
      }
    }
    if (fired) {
      b.row.alerted_period = b.period_start;
      (void)store_.setBudgetAlerted(b.row.scope, b.row.period, b.period_start, b.row.alerted);
    }
  }
  for (Budget& b : removed_) {  // Removed this turn: counted, should the turn be lost; no alerts.
    if (charges(b, who, started_at)) {
      b.spent += cost_usd;
    }
  }
  return alerts;
}

bool BudgetBook::roll(int64_t now_ms) {
  bool rolled = false;
  for (Budget& b : budgets_) {
    if (now_ms >= b.period_end) {
      b.period_start = periodStart(b.period, now_ms);
      b.period_end = periodEnd(b.period, now_ms);
      b.spent = 0;  // Attempts running across the boundary count in the old period.
      b.row.alerted.clear();
      rolled = true;
    }
  }
  return rolled;
}

int64_t BudgetBook::nextRollover() const {
  int64_t at = INT64_MAX;
  for (const Budget& b : budgets_) {
    at = std::min(at, b.period_end);
  }
  return at;
}

Result<const Budget*> BudgetBook::set(const std::string& scope, BudgetPeriod period, double limit_usd,
                                      std::vector<double> alert_at, BudgetAction action, int64_t now_ms) {
  std::sort(alert_at.begin(), alert_at.end());
  alert_at.erase(std::unique(alert_at.begin(), alert_at.end()), alert_at.end());
  store::BudgetRow row;
  row.scope = scope;
  row.period = budgetPeriodName(period);
  row.limit_usd = limit_usd;
  row.alert_at = std::move(alert_at);
  row.action = actionName(action);
  row.created_at = now_ms;
  auto it = findByKey(scope, period);
  if (it != budgets_.end()) {
    row.created_at = it->row.created_at;
    row.alerted_period = it->row.alerted_period;
    row.alerted = it->row.alerted;  // Alerts sent this period stay sent.
  }
  if (auto r = store_.putBudget(row); !r) {
    return r.takeError();
  }
  if (it != budgets_.end()) {
    it->row = std::move(row);
    it->action = action;
    return &*it;
  }
  auto b = make(row, now_ms);
  if (!b) {
    return b.takeError();
  }
  budgets_.push_back(std::move(*b));
  return &budgets_.back();
}

Result<bool> BudgetBook::remove(const std::string& scope, BudgetPeriod period) {
  auto removed = store_.removeBudget(scope, budgetPeriodName(period));
  if (!removed) {
    return removed;
  }
  auto it = findByKey(scope, period);
  if (it != budgets_.end()) {
    if (!undo_.empty()) {
      removed_.push_back(std::move(*it));  // Settled against until the turn ends (endTurn).
    }
    budgets_.erase(it);
  }
  return *removed;
}

bool BudgetBook::noteChange(const std::string& scope, BudgetPeriod period) {
  const bool first = undo_.empty();
  auto same = [&](const auto& x) { return x.scope == scope && x.period == period; };
  if (std::none_of(undo_.begin(), undo_.end(), same)) {
    auto it = findByKey(scope, period);
    undo_.push_back(Undo{scope, period, it != budgets_.end() ? std::optional<Budget>(*it) : std::nullopt});
  }
  return first;
}

void BudgetBook::endTurn(bool committed) {
  std::vector<Undo> undo = std::move(undo_);
  std::vector<Budget> removed = std::move(removed_);
  undo_.clear();
  removed_.clear();
  if (committed) {
    return;
  }
  for (Undo& u : undo) {
    auto current = findByKey(u.scope, u.period);
    if (!u.before) {
      if (current != budgets_.end()) {
        budgets_.erase(current);  // Created in the lost turn.
      }
      continue;
    }
    // The budget itself if the turn removed it (it was settled against since),
    // else whatever holds its key now, else the snapshot.
    auto gone = std::find_if(removed.begin(), removed.end(), [&](const Budget& b) { return b.id == u.before->id; });
    Budget* b = nullptr;
    if (gone != removed.end()) {
      if (current != budgets_.end()) {
        budgets_.erase(current);  // Made again after the removal, in the lost turn.
      }
      budgets_.push_back(std::move(*gone));
      b = &budgets_.back();
    } else if (current != budgets_.end()) {
      b = &*current;
    } else {
      budgets_.push_back(*u.before);
      b = &budgets_.back();
    }
    // The definition as it was; alerts already sent stay sent.
    b->row.limit_usd = u.before->row.limit_usd;
    b->row.alert_at = u.before->row.alert_at;
    b->row.action = u.before->row.action;
    b->action = u.before->action;
  }
}

std::string BudgetBook::json(const Budget& b) {
  std::string o = "{\"scope\":";
  json::appendString(o, b.row.scope);
  o += ",\"period\":\"";
  o += budgetPeriodName(b.period);
  o += "\",\"limit_usd\":" + decimal(b.row.limit_usd) + ",\"spent_usd\":" + decimal(b.spent) +
       ",\"reserved_usd\":" + decimal(b.reserved) + ",\"remaining_usd\":" + decimal(std::max(0.0, b.remaining())) +
       ",\"alert_at\":[";
  for (size_t i = 0; i < b.row.alert_at.size(); ++i) {
    o += (i > 0 ? "," : "") + decimal(b.row.alert_at[i]);
  }
  o += "],\"action\":\"";
  o += actionName(b.action);
  o += "\",\"period_start\":";
  o += b.period == BudgetPeriod::kTotal ? "null" : "\"" + rfc3339(b.period_start) + "\"";
  o += ",\"resets_at\":";
  o += b.period_end == INT64_MAX ? "null" : "\"" + rfc3339(b.period_end) + "\"";
  o += "}";
  return o;
}

std::string BudgetBook::listJson(const std::function<bool(const Budget&)>& visible) const {
  std::string o = "[";
  bool first = true;
  for (const Budget& b : budgets_) {
    if (!visible || visible(b)) {
      o += (first ? "" : ",") + json(b);
      first = false;
    }
  }
  return o + "]";
}

bool BudgetBook::coversClient(std::string_view user, std::string_view client) {
  return client == user ||
         (client.size() > user.size() && client.compare(0, user.size(), user) == 0 && client[user.size()] == ':');
}

}  // namespace llmq::daemon
