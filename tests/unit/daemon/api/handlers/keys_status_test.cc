// keys.status (daemon/api/handlers/keys_status.cc), on a real engine
// (tests/support/engine_fixture.h): with job_id it answers for a job the
// caller may see, and another user's job is -32003; a user never sees the
// server's key pool.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

class KeysStatusTest : public llmq::testing::EngineTest {};

TEST_F(KeysStatusTest, AnotherUsersJobIsPermissionDenied) {
  start();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  const std::string bobs = submit(bob, "test/a");
  const std::string own = call(bob, "keys.status", jobArg(bobs));
  EXPECT_FALSE(isError(own)) << own;
  EXPECT_EQ("\"none\"", field(own, "result.key_source")) << own;  // No server key is set.
  const std::string denied = call(alice, "keys.status", jobArg(bobs));
  EXPECT_EQ(-32003, errorCode(denied)) << denied;
  EXPECT_EQ("[]", field(call(alice, "keys.status"), "result.pool"));
  EXPECT_EQ(-32602, errorCode(call(alice, "keys.status", "{\"job\":1}")));
}

}  // namespace
}  // namespace llmq::daemon
