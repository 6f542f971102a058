#include "upstream/base_url.h"

#include <gtest/gtest.h>

namespace llmq::upstream {
namespace {

TEST(BaseUrlTest, TheHostIsWhatFollowsTheSchemeWithoutUserPortOrPath) {
  EXPECT_EQ("openrouter.ai", urlHost("https://openrouter.ai/api/v1"));
  EXPECT_EQ("example.com", urlHost("HTTP://user:secret@example.com:8080/v1?x#y"));
  EXPECT_EQ("10.0.0.5", urlHost("http://10.0.0.5:11434"));
  EXPECT_EQ("::1", urlHost("http://[::1]:8000/v1"));
  EXPECT_EQ("host", urlHost("http://a@b@host/v1"));  // The last @ ends the user part.
  EXPECT_EQ("", urlHost("ftp://example.com/"));
  EXPECT_EQ("", urlHost("http://[::1/v1"));
  EXPECT_EQ("", urlHost("http://"));
}

TEST(BaseUrlTest, LoopbackHosts) {
  for (const char* host : {"localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "::1",
                           "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(isLoopbackHost(host)) << host;
  }
  for (const char* host : {"", "example.com", "localhost.example.com", "128.0.0.1", "10.0.0.1", "::2",
                           "::ffff:10.0.0.1", "127.0.0.1.example.com", "0.0.0.0"}) {
    EXPECT_FALSE(isLoopbackHost(host)) << host;
  }
}

TEST(BaseUrlTest, OnlyPlainHttpToAnotherHostSendsKeysInClear) {
  EXPECT_TRUE(sendsKeysInClear("http://api.example.com/v1"));
  EXPECT_TRUE(sendsKeysInClear("Http://10.1.2.3:8000/v1"));
  EXPECT_TRUE(sendsKeysInClear("http://localhost@evil.example/v1"));  // The host is evil.example.
  EXPECT_FALSE(sendsKeysInClear("https://api.example.com/v1"));
  EXPECT_FALSE(sendsKeysInClear("http://127.0.0.1:18080/v1"));
  EXPECT_FALSE(sendsKeysInClear("http://localhost:11434/v1"));
  EXPECT_FALSE(sendsKeysInClear("http://[::1]:8000/v1"));
}

}  // namespace
}  // namespace llmq::upstream
