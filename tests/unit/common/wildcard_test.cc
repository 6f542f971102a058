// Tests for common/wildcard: `*` and `?` model patterns.
#include "common/wildcard.h"

#include <gtest/gtest.h>

namespace llmq {
namespace {

TEST(WildcardTest, StarsAndQuestionMarks) {
  EXPECT_TRUE(wildcardMatch("*", ""));
  EXPECT_TRUE(wildcardMatch("*", "openai/gpt-4o"));
  EXPECT_TRUE(wildcardMatch("openai/*", "openai/gpt-4o"));
  EXPECT_FALSE(wildcardMatch("openai/*", "anthropic/claude"));
  EXPECT_TRUE(wildcardMatch("claude-sonnet-*", "claude-sonnet-4.5"));
  EXPECT_TRUE(wildcardMatch("qwen?-*", "qwen3-72b"));
  EXPECT_FALSE(wildcardMatch("qwen?-*", "qwen-72b"));
  EXPECT_TRUE(wildcardMatch("*llama*", "meta-llama/llama-3"));
  EXPECT_TRUE(wildcardMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(wildcardMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(wildcardMatch("exact", "exact"));
  EXPECT_FALSE(wildcardMatch("exact", "exactly"));
  EXPECT_FALSE(wildcardMatch("", "x"));
}

}  // namespace
}  // namespace llmq
