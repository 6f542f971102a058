// Tests for store::CatalogStore: replace-all per provider, loading back exactly
// what was stored (prices bit for bit, unknown lengths as NULL), the pricing
// column's JSON, atomicity, and persistence across reopening.
#include "store/catalog_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/database.h"
#include "store/transaction.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TestDb;

ModelInfo model(std::string id, double prompt, double completion) {
  ModelInfo m;
  m.id = std::move(id);
  m.name = "Name of " + m.id;
  m.provider = "openrouter";
  m.context_length = 128000;
  m.max_completion_tokens = 16384;
  m.pricing.prompt = prompt;
  m.pricing.completion = completion;
  m.pricing.known = true;
  return m;
}

TEST(CatalogStoreTest, AnEmptyTableLoadsNothing) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_TRUE(rows->empty());
}

TEST(CatalogStoreTest, StoresAndLoadsEveryFieldExactly) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  ModelInfo claude = model("anthropic/claude-3.5-sonnet", 3e-6, 15e-6);
  claude.pricing.cache_read = 0.3e-6;
  claude.pricing.cache_write = 3.75e-6;
  claude.pricing.image = 0.0048;
  ModelInfo sonar = model("perplexity/sonar", 1e-6, 1e-6);
  sonar.pricing.request = 0.005;
  sonar.max_completion_tokens = 0;  // Unknown.
  ModelInfo router = model("openrouter/auto", 0, 0);
  router.pricing.known = false;
  router.context_length = 0;
  ASSERT_TRUE(s.replaceProvider("openrouter", {sonar, claude, router}, 1700000000123).ok());

  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(3u, rows->size());
  // Ordered by id.
  const ModelInfo& c = (*rows)[0].model;
  EXPECT_EQ("anthropic/claude-3.5-sonnet", c.id);
  EXPECT_EQ("Name of anthropic/claude-3.5-sonnet", c.name);
  EXPECT_EQ("openrouter", c.provider);
  EXPECT_EQ(128000, c.context_length);
  EXPECT_EQ(16384, c.max_completion_tokens);
  EXPECT_TRUE(c.pricing.known);
  // Doubles survive the JSON column bit for bit.
  EXPECT_EQ(3e-6, c.pricing.prompt);
  EXPECT_EQ(15e-6, c.pricing.completion);
  EXPECT_EQ(0.3e-6, c.pricing.cache_read);
  EXPECT_EQ(3.75e-6, c.pricing.cache_write);
  EXPECT_EQ(0.0048, c.pricing.image);
  EXPECT_EQ(1700000000123, (*rows)[0].fetched_at);

  const ModelInfo& r = (*rows)[1].model;
  EXPECT_EQ("openrouter/auto", r.id);
  EXPECT_FALSE(r.pricing.known);
  EXPECT_EQ(0, r.context_length);
  const ModelInfo& p = (*rows)[2].model;
  EXPECT_EQ("perplexity/sonar", p.id);
  EXPECT_EQ(0.005, p.pricing.request);
  EXPECT_EQ(0, p.max_completion_tokens);

  // Unknown lengths are NULL in the table, not 0.
  EXPECT_EQ("1", queryOne(t.db(), "SELECT count(*) FROM models WHERE context_length IS NULL"));
  EXPECT_EQ("1", queryOne(t.db(), "SELECT count(*) FROM models WHERE max_completion_tokens IS NULL"));
}

TEST(CatalogStoreTest, PricingColumnIsCompactJsonOfThePricingFields) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  ModelInfo m = model("a/b", 1e-6, 2e-6);
  m.pricing.cache_read = 5e-7;
  ASSERT_TRUE(s.replaceProvider("openrouter", {m}, 1).ok());
  EXPECT_EQ(R"({"prompt":0.000001,"completion":0.000002,"request":0.0,"image":0.0,)"
            R"("cache_read":5e-7,"cache_write":0.0})",
            queryOne(t.db(), "SELECT pricing FROM models WHERE id = 'a/b'"));
  Pricing unknown;
  EXPECT_NE(std::string::npos, CatalogStore::pricingJson(unknown).find("\"known\":false"));
  EXPECT_FALSE(CatalogStore::parsePricingJson("not json").known);
  EXPECT_FALSE(CatalogStore::parsePricingJson(R"({"prompt":1,"known":false})").known);
  Pricing back = CatalogStore::parsePricingJson(R"({"prompt":0.5,"completion":"x"})");
  EXPECT_TRUE(back.known);
  EXPECT_EQ(0.5, back.prompt);
  EXPECT_EQ(0.0, back.completion) << "a member of the wrong type reads as 0";
}

TEST(CatalogStoreTest, ReplaceDropsModelsNoLongerListedAndLeavesOtherProviders) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  ASSERT_TRUE(s.replaceProvider("other", {model("other/x", 1, 1)}, 10).ok());
  ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/old", 1e-6, 1e-6), model("a/kept", 1e-6, 1e-6)}, 20).ok());
  ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/kept", 2e-6, 3e-6), model("a/new", 1e-6, 1e-6)}, 30).ok());

  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(3u, rows->size());
  EXPECT_EQ("a/kept", (*rows)[0].model.id);
  EXPECT_EQ(2e-6, (*rows)[0].model.pricing.prompt) << "the new price";
  EXPECT_EQ(30, (*rows)[0].fetched_at);
  EXPECT_EQ("a/new", (*rows)[1].model.id);
  EXPECT_EQ("other/x", (*rows)[2].model.id);
  EXPECT_EQ("other", (*rows)[2].model.provider);
  EXPECT_EQ(10, (*rows)[2].fetched_at);
}

TEST(CatalogStoreTest, ReplaceRunsInsideTheCallersTransaction) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/one", 1e-6, 1e-6)}, 1).ok());
  {
    Transaction txn(t.db());
    ASSERT_TRUE(txn.begin().ok());
    ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/two", 1e-6, 1e-6)}, 2).ok());
    EXPECT_TRUE(t.db().inTransaction()) << "the savepoint must not end the caller's transaction";
    // No commit: the caller's rollback takes the replacement with it.
  }
  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(1u, rows->size());
  EXPECT_EQ("a/one", (*rows)[0].model.id);
}

TEST(CatalogStoreTest, AFailedReplaceLeavesThePreviousCatalog) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  CatalogStore s(t.db());
  ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/one", 1e-6, 1e-6), model("a/two", 1e-6, 1e-6)}, 1).ok());
  // A trigger makes the second insert fail after the delete and the first insert.
  ASSERT_TRUE(t.db()
                  .exec("CREATE TEMP TRIGGER no_bad BEFORE INSERT ON models WHEN NEW.id = 'a/bad' "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END")
                  .ok());
  auto r = s.replaceProvider("openrouter", {model("a/three", 1e-6, 1e-6), model("a/bad", 1e-6, 1e-6)}, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.error().message.find("a/bad")) << r.error().message;
  EXPECT_FALSE(t.db().inTransaction());
  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(2u, rows->size());
  EXPECT_EQ("a/one", (*rows)[0].model.id);
  EXPECT_EQ("a/two", (*rows)[1].model.id);
}

TEST(CatalogStoreTest, SurvivesReopening) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  {
    CatalogStore s(t.db());
    ASSERT_TRUE(s.replaceProvider("openrouter", {model("a/b", 0.15e-6, 0.6e-6)}, 42).ok());
  }
  std::string path = t.path();
  t.close();
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  CatalogStore s(**db);
  auto rows = s.loadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(1u, rows->size());
  EXPECT_EQ(0.15e-6, (*rows)[0].model.pricing.prompt);
  EXPECT_EQ(42, (*rows)[0].fetched_at);
}

}  // namespace
}  // namespace llmq::store
