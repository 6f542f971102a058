// job.list (daemon/api/handlers/job_list.cc), on a real engine
// (tests/support/engine_fixture.h): each user lists only its own jobs (all of
// its clients), another user's client is -32003, an administrator lists every
// job and may filter by client; bad params are -32602 with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

class JobListTest : public llmq::testing::EngineTest {
 protected:
  // The job ids a job.list answer lists.
  static std::set<std::string> idsIn(const std::string& answer) {
    std::set<std::string> ids;
    for (int i = 0;; ++i) {
      const std::string id = field(answer, "result.jobs." + std::to_string(i) + ".job_id");
      if (id.empty()) {
        return ids;
      }
      ids.insert(id.substr(1, id.size() - 2));
    }
  }
};

TEST_F(JobListTest, EachUserListsOnlyItsOwnJobsAndTheAdministratorAll) {
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  call(root, "queue.pause");
  const std::string a1 = submit(alice, "test/a");
  const std::string a2 = submit(alice, "test/a", ",\"client\":\"batch\"");
  const std::string b1 = submit(bob, "test/a");
  const std::string r1 = submit(root, "test/a");
  EXPECT_EQ((std::set<std::string>{a1, a2}), idsIn(call(alice, "job.list")));
  EXPECT_EQ((std::set<std::string>{b1}), idsIn(call(bob, "job.list")));
  EXPECT_EQ((std::set<std::string>{a1, a2, b1, r1}), idsIn(call(root, "job.list")));
  // Filters narrow what one may see, never widen it.
  EXPECT_EQ((std::set<std::string>{a2}), idsIn(call(alice, "job.list", "{\"client\":\"alice:batch\"}")));
  EXPECT_EQ((std::set<std::string>{a1, a2}), idsIn(call(alice, "job.list", "{\"state\":\"queued\"}")));
  const std::string denied = call(alice, "job.list", "{\"client\":\"bob\"}");
  EXPECT_EQ(-32003, errorCode(denied)) << denied;
  EXPECT_EQ("\"PERMISSION_DENIED\"", field(denied, "error.data.code")) << denied;
  EXPECT_EQ((std::set<std::string>{b1}), idsIn(call(root, "job.list", "{\"client\":\"bob\"}")));
  call(root, "queue.resume");
}

TEST_F(JobListTest, BadParamsAreInvalidParamsWithTheReason) {
  start();
  const uint64_t c = connect(4001, "alice");
  const std::string state = call(c, "job.list", "{\"state\":\"bogus\"}");
  EXPECT_EQ(-32602, errorCode(state)) << state;
  EXPECT_NE(std::string::npos, state.find("bogus")) << state;
  const std::string limit = call(c, "job.list", "{\"limit\":0}");
  EXPECT_EQ(-32602, errorCode(limit)) << limit;
  EXPECT_NE(std::string::npos, limit.find("limit")) << limit;
  const std::string cursor = call(c, "job.list", "{\"cursor\":\"x\"}");
  EXPECT_EQ(-32602, errorCode(cursor)) << cursor;
  const std::string unknown = call(c, "job.list", "{\"sate\":\"queued\"}");
  EXPECT_EQ(-32602, errorCode(unknown)) << unknown;
  EXPECT_NE(std::string::npos, unknown.find("sate")) << unknown;
}

}  // namespace
}  // namespace llmq::daemon
