// CatalogStore: DELETE + INSERT per provider, and one ordered scan to load.
#include "store/catalog_store.h"

#include <optional>
#include <utility>

#include "common/json.h"
#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kDeleteProviderModelsSql[] = "DELETE FROM models WHERE provider = ?1";
constexpr char kInsertModelSql[] =
    "INSERT OR REPLACE INTO models "
    "(id, provider, name, context_length, max_completion_tokens, pricing, fetched_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kLoadModelsSql[] =
    "SELECT id, provider, name, context_length, max_completion_tokens, pricing, fetched_at "
    "FROM models ORDER BY id";

// Zero means "unknown" in ModelInfo and NULL in the table.
std::optional<int64_t> nullIfZero(int64_t v) { return v > 0 ? std::optional<int64_t>(v) : std::nullopt; }

double numberMember(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  return v != nullptr && v->IsNumber() ? v->GetDouble() : 0.0;
}

}  // namespace

std::string CatalogStore::pricingJson(const Pricing& p) {
  json::Buffer buf;
  json::Writer w(buf);
  w.StartObject();
  for (auto [name, value] : {std::pair{"prompt", p.prompt},
                             {"completion", p.completion},
                             {"request", p.request},
                             {"image", p.image},
                             {"cache_read", p.cache_read},
                             {"cache_write", p.cache_write}}) {
    w.Key(name);
    w.Double(value);
  }
  if (!p.known) {
    w.Key("known");
    w.Bool(false);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Pricing CatalogStore::parsePricingJson(std::string_view text) {
  Pricing p;
  json::Document doc;
  if (!json::parse(doc, text, nullptr) || !doc.IsObject()) {
    return p;  // known = false
  }
  p.prompt = numberMember(doc, "prompt");
  p.completion = numberMember(doc, "completion");
  p.request = numberMember(doc, "request");
  p.image = numberMember(doc, "image");
  p.cache_read = numberMember(doc, "cache_read");
  p.cache_write = numberMember(doc, "cache_write");
  const json::Value* known = json::member(doc, "known");
  p.known = known == nullptr || !known->IsBool() || known->GetBool();
  return p;
}

Result<void> CatalogStore::replaceProvider(std::string_view provider, const std::vector<ModelInfo>& models,
                                           int64_t fetched_at) {
  if (auto r = db_.exec("SAVEPOINT catalog_replace"); !r) {
    return makeError(r.error().kind, "storing the model catalog: " + r.error().message);
  }
  Result<void> result = writeRows(provider, models, fetched_at);
  if (!result) {
    // Best effort: SQLite may already have rolled the whole transaction back
    // (e.g. SQLITE_FULL), and then the savepoint is gone with it.
    (void)db_.exec("ROLLBACK TO catalog_replace");
  }
  if (auto r = db_.exec("RELEASE catalog_replace"); !r && result) {
    return makeError(r.error().kind, "storing the model catalog: " + r.error().message);
  }
  return result;
}

Result<void> CatalogStore::writeRows(std::string_view provider, const std::vector<ModelInfo>& models,
                                     int64_t fetched_at) {
  {
    auto st = db_.statement(kDeleteProviderModelsSql);
    st.bindStatic(1, provider);
    if (auto r = st.run(); !r) {
      return makeError(r.error().kind, "clearing the stored model catalog: " + r.error().message);
    }
  }
  for (const ModelInfo& m : models) {
    auto st = db_.statement(kInsertModelSql);
    std::string pricing = pricingJson(m.pricing);
    st.bindStatic(1, m.id)
        .bindStatic(2, provider)
        .bindStatic(3, m.name)
        .bind(4, nullIfZero(m.context_length))
        .bind(5, nullIfZero(m.max_completion_tokens))
        .bindStatic(6, pricing)
        .bind(7, fetched_at);
    if (auto r = st.run(); !r) {
      return makeError(r.error().kind, "storing model " + m.id + ": " + r.error().message);
    }
  }
  return {};
}

Result<std::vector<CatalogRow>> CatalogStore::loadAll() {
  auto st = db_.statement(kLoadModelsSql);
  std::vector<CatalogRow> rows;
  while (true) {
    auto row = st.step();
    if (!row) {
      return makeError(row.error().kind, "loading the stored model catalog: " + row.error().message);
    }
    if (!*row) {
      break;
    }
    CatalogRow r;
    r.model.id = st.string(0);
    r.model.provider = st.string(1);
    r.model.name = st.string(2);
    r.model.context_length = st.isNull(3) ? 0 : st.int64(3);
    r.model.max_completion_tokens = st.isNull(4) ? 0 : st.int64(4);
    r.model.pricing = parsePricingJson(st.text(5));
    r.fetched_at = st.int64(6);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace llmq::store
