// Tests for store/response_cache_store: entries come back until they expire,
// replacing keeps one row, pruning deletes only what expired, in batches.
#include "store/response_cache_store.h"

#include <gtest/gtest.h>

#include "daemon/policy/response_cache.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

TEST(ResponseCacheStoreTest, EntriesLiveUntilTheyExpire) {
  testing::TestDb t;
  ASSERT_TRUE(t.ok());
  ResponseCacheStore cache(t.db());
  CachedResponse e{"m", "{\"choices\":[]}", 3, 8, 1000, 2000};
  ASSERT_TRUE(cache.put("k1", e).ok());
  auto hit = cache.get("k1", 1999);
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ("{\"choices\":[]}", (**hit).result_json);
  EXPECT_EQ(8, (**hit).completion_tokens);
  EXPECT_FALSE(cache.get("k1", 2000)->has_value()) << "expired";
  EXPECT_FALSE(cache.get("k2", 0)->has_value());
  e.expires_at = 5000;
  ASSERT_TRUE(cache.put("k1", e).ok());
  EXPECT_TRUE(cache.get("k1", 2500)->has_value()) << "replaced";
  ASSERT_TRUE(cache.put("k2", CachedResponse{"m", "{}", 1, 1, 0, 100}).ok());
  ASSERT_TRUE(cache.put("k3", CachedResponse{"m", "{}", 1, 1, 0, 200}).ok());
  EXPECT_EQ(1, cache.prune(3000, 1).value());
  EXPECT_EQ(1, cache.prune(3000, 10).value());
  EXPECT_EQ(0, cache.prune(3000, 10).value());
  EXPECT_EQ("1", testing::queryOne(t.db(), "SELECT count(*) FROM response_cache"));
}

TEST(ResponseCacheStoreTest, KeysDependOnModelAndBody) {
  using daemon::ResponseCache;
  const std::string k = ResponseCache::key("a/b", "{\"x\":1}");
  EXPECT_EQ(64u, k.size());
  EXPECT_EQ(k, ResponseCache::key("a/b", "{\"x\":1}"));
  EXPECT_NE(k, ResponseCache::key("a/c", "{\"x\":1}"));
  EXPECT_NE(k, ResponseCache::key("a/b", "{\"x\":2}"));
  EXPECT_NE(ResponseCache::key("ab", "c"), ResponseCache::key("a", "bc")) << "the separator counts";
}

}  // namespace
}  // namespace llmq::store
