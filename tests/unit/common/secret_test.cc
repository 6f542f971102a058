// Tests for common/secret: a key is only ever shown as its fingerprint.
#include "common/secret.h"

#include <gtest/gtest.h>

namespace llmq {
namespace {

TEST(SecretTest, FingerprintKeepsFiveAndFour) {
  std::string key = "sk-or-v1-test0123456789abcdeff2bf";
  std::string fp = fingerprint(key);
  EXPECT_EQ("sk-or…f2bf", fp);
  EXPECT_EQ(std::string::npos, fp.find("test0123"));
  EXPECT_EQ("…", fingerprint("short-key"));
}

}  // namespace
}  // namespace llmq
