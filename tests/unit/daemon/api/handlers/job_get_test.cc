// job.get (daemon/api/handlers/job_get.cc), on a real engine
// (tests/support/engine_fixture.h): a user reads its own jobs, another user's
// job is -32003 PERMISSION_DENIED (an administrator reads every job), an
// unknown id is -32001, bad params are -32602 with the reason, and
// include_request adds the request as stored.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using store::JobState;

class JobGetTest : public llmq::testing::EngineTest {};

TEST_F(JobGetTest, AUserReadsItsOwnJobButNotAnotherUsers) {
  start();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  const std::string bobs = submit(bob, "test/a");
  ASSERT_TRUE(reaches(bobs, JobState::kSucceeded));
  const std::string own = call(bob, "job.get", jobArg(bobs));
  EXPECT_EQ("\"succeeded\"", field(own, "result.state")) << own;
  EXPECT_EQ("\"bob\"", field(own, "result.client")) << own;
  const std::string denied = call(alice, "job.get", jobArg(bobs));
  EXPECT_EQ(-32003, errorCode(denied)) << denied;
  EXPECT_EQ("\"PERMISSION_DENIED\"", field(denied, "error.data.code")) << denied;
  EXPECT_EQ("", field(denied, "result")) << denied;
  // Not even with include_request.
  EXPECT_EQ(-32003, errorCode(call(alice, "job.get", "{\"job_id\":\"" + bobs + "\",\"include_request\":true}")));
  // An administrator reads it.
  EXPECT_EQ("\"succeeded\"", field(call(admin(), "job.get", jobArg(bobs)), "result.state"));
}

TEST_F(JobGetTest, UnknownJobsAndBadParams) {
  start();
  const uint64_t c = connect(4001, "alice");
  EXPECT_EQ(-32001, errorCode(call(c, "job.get", jobArg("j000000000999"))));
  EXPECT_EQ(-32001, errorCode(call(c, "job.get", jobArg("nonsense"))));
  const std::string missing = call(c, "job.get", "{}");
  EXPECT_EQ(-32602, errorCode(missing)) << missing;
  EXPECT_NE(std::string::npos, missing.find("job_id")) << missing;
  const std::string wrong_type = call(c, "job.get", "{\"job_id\":5}");
  EXPECT_EQ(-32602, errorCode(wrong_type)) << wrong_type;
  EXPECT_NE(std::string::npos, wrong_type.find("job_id")) << wrong_type;
  const std::string unknown = call(c, "job.get", "{\"job_id\":\"j000000000001\",\"jobid\":1}");
  EXPECT_EQ(-32602, errorCode(unknown)) << unknown;
  EXPECT_NE(std::string::npos, unknown.find("jobid")) << unknown;
}

TEST_F(JobGetTest, IncludeRequestAddsTheStoredRequest) {
  start();
  const uint64_t c = connect(4001, "alice");
  const std::string id = submit(c, "test/a");
  const std::string plain = call(c, "job.get", jobArg(id));
  EXPECT_EQ("", field(plain, "result.request")) << plain;
  const std::string with = call(c, "job.get", "{\"job_id\":\"" + id + "\",\"include_request\":true}");
  EXPECT_EQ("\"test/a\"", field(with, "result.request.model")) << with;
  EXPECT_EQ("\"hi\"", field(with, "result.request.messages.0.content")) << with;
}

}  // namespace
}  // namespace llmq::daemon
