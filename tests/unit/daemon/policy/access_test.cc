// Unit: daemon::Access::ownerOf, the user a client label belongs to.
#include "daemon/policy/access.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

TEST(AccessOwnerTest, TheOwnerIsTheUserPartOfTheLabel) {
  EXPECT_EQ("alice", Access::ownerOf("alice"));
  EXPECT_EQ("alice", Access::ownerOf("alice:batch"));
  EXPECT_EQ("alice", Access::ownerOf("alice:batch:nightly"));
  EXPECT_EQ("uid:1234", Access::ownerOf("uid:1234")) << "a uid without a name";
  EXPECT_EQ("uid:1234", Access::ownerOf("uid:1234:batch"));
  EXPECT_EQ("uid", Access::ownerOf("uid"));
  EXPECT_EQ("", Access::ownerOf(""));
  EXPECT_EQ(":x", Access::ownerOf(":x")) << "never empty: the scheduler serves owners after \"\"";
}

}  // namespace
}  // namespace llmq::daemon
