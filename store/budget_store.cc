// BudgetStore: budgets rows; fraction lists are JSON arrays of numbers.
#include "store/budget_store.h"

#include <cstdio>

#include "common/json.h"
#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kAllSql[] =
    "SELECT scope, period, limit_usd, alert_at, action, created_at, alerted FROM budgets "
    "ORDER BY scope, period";
constexpr char kPutSql[] =
    "INSERT INTO budgets (scope, period, limit_usd, alert_at, action, created_at, alerted) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (scope, period) DO UPDATE SET "
    "limit_usd = excluded.limit_usd, alert_at = excluded.alert_at, action = excluded.action, "
    "alerted = excluded.alerted";
constexpr char kDeleteSql[] = "DELETE FROM budgets WHERE scope = ?1 AND period = ?2";
constexpr char kAlertedSql[] = "UPDATE budgets SET alerted = ?3 WHERE scope = ?1 AND period = ?2";

std::string numbers(const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v[i]);
    out += i > 0 ? "," : "";
    out += buf;
  }
  return out + "]";
}

std::vector<double> parseNumbers(const json::Value* v) {
  std::vector<double> out;
  if (v != nullptr && v->IsArray()) {
    for (const auto& e : v->GetArray()) {
      if (e.IsNumber()) {
        out.push_back(e.GetDouble());
      }
    }
  }
  return out;
}

std::string alertedJson(int64_t period_start, const std::vector<double>& fractions) {
  return "{\"period_start\":" + std::to_string(period_start) + ",\"fractions\":" + numbers(fractions) + "}";
}

}  // namespace

Result<std::vector<BudgetRow>> BudgetStore::all() {
  auto st = db_.statement(kAllSql);
  std::vector<BudgetRow> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!*row) {
      return out;
    }
    BudgetRow b;
    b.scope = st.string(0);
    b.period = st.string(1);
    b.limit_usd = st.real(2);
    json::Document doc;
    if (json::parse(doc, st.text(3), nullptr)) {
      b.alert_at = parseNumbers(&doc);
    }
    b.action = st.string(4);
    b.created_at = st.int64(5);
    json::Document alerted;
    if (json::parse(alerted, st.text(6), nullptr) && alerted.IsObject()) {
      if (const json::Value* p = json::member(alerted, "period_start"); p != nullptr && p->IsInt64()) {
        b.alerted_period = p->GetInt64();
      }
      b.alerted = parseNumbers(json::member(alerted, "fractions"));
    }
    out.push_back(std::move(b));
  }
}

Result<void> BudgetStore::put(const BudgetRow& row) {
  auto st = db_.statement(kPutSql);
  st.bind(1, row.scope)
      .bind(2, row.period)
      .bind(3, row.limit_usd)
      .bind(4, numbers(row.alert_at))
      .bind(5, row.action)
      .bind(6, row.created_at)
      .bind(7, alertedJson(row.alerted_period, row.alerted));
  return st.run();
}

Result<bool> BudgetStore::remove(const std::string& scope, const std::string& period) {
  auto st = db_.statement(kDeleteSql);
  st.bind(1, scope).bind(2, period);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return db_.changes() > 0;
}

Result<void> BudgetStore::setAlerted(const std::string& scope, const std::string& period, int64_t period_start,
                                     const std::vector<double>& fractions) {
  auto st = db_.statement(kAlertedSql);
  st.bind(1, scope).bind(2, period).bind(3, alertedJson(period_start, fractions));
  return st.run();
}

}  // namespace llmq::store
