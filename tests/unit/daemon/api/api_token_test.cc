// apiToken: the HTTP front's token file, made once, private, and compared in
// constant time.
#include "daemon/api/api_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace llmq::daemon {
namespace {

TEST(ApiTokenTest, IsGeneratedOncePrivateAndReused) {
  testing::TempDir dir;
  const std::string db = dir.path() + "/llmq.db";
  auto first = loadApiToken(ApiConfig{}, db);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(dir.path() + "/api.token", first->file);
  EXPECT_GE(first->value.size(), 32u);
  struct stat st {};
  ASSERT_EQ(0, ::stat(first->file.c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777u);
  auto second = loadApiToken(ApiConfig{}, db);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->value, second->value);
}

TEST(ApiTokenTest, TheConfigurationWins) {
  ApiConfig api;
  api.token = "configured-token-123456";
  auto t = loadApiToken(api, "/nonexistent/llmq.db");
  ASSERT_TRUE(t);
  EXPECT_EQ("configured-token-123456", t->value);
  EXPECT_TRUE(t->file.empty());
}

TEST(ApiTokenTest, AFileOthersCanReadIsRefused) {
  testing::TempDir dir;
  ApiConfig api;
  api.token_file = dir.path() + "/token";
  std::ofstream(api.token_file) << "0123456789abcdef0123\n";
  ::chmod(api.token_file.c_str(), 0644);
  auto t = loadApiToken(api, dir.path() + "/llmq.db");
  ASSERT_FALSE(t);
  EXPECT_NE(std::string::npos, t.error().message.find("chmod 600"));
  ::chmod(api.token_file.c_str(), 0600);
  auto ok = loadApiToken(api, dir.path() + "/llmq.db");
  ASSERT_TRUE(ok);
  EXPECT_EQ("0123456789abcdef0123", ok->value);
}

TEST(ApiTokenTest, BearerMatchesExactly) {
  const std::string token = "abcdefghijklmnop";
  const std::string good = "Bearer " + token;
  const std::string lower = "bearer " + token;
  const std::string longer = "Bearer " + token + "q";
  const std::string basic = "Basic " + token;
  EXPECT_TRUE(bearerMatches(&good, token));
  EXPECT_TRUE(bearerMatches(&lower, token));
  EXPECT_FALSE(bearerMatches(&longer, token));
  EXPECT_FALSE(bearerMatches(&basic, token));
  EXPECT_FALSE(bearerMatches(nullptr, token));
}

}  // namespace
}  // namespace llmq::daemon
