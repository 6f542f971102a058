// job.submit (daemon/api/handlers/job_submit.cc), on a real engine
// (tests/support/engine_fixture.h): bad params are -32602 with a reason (and
// store nothing); a user's jobs are labelled with its name; a priority above
// [access] max_user_priority is for administrators; an idempotency_key gives
// back the same job (deduplicated: true) to the same owner, whatever its
// client, and another user a job of its own.
#include <gtest/gtest.h>

#include <string>

#include "daemon/jobs/job_lifecycle.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using store::JobState;

constexpr char kChat[] = "{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

class JobSubmitTest : public llmq::testing::EngineTest {
 protected:
  int64_t stored() {
    int64_t n = 0;
    for (int64_t c : engine_->lifecycle->counts()) {
      n += c;
    }
    return n;
  }
  std::string submitWith(uint64_t conn, const std::string& extra) {
    return call(conn, "job.submit", std::string("{\"request\":") + kChat + extra + "}");
  }
};

TEST_F(JobSubmitTest, BadParamsAreInvalidParamsWithAReason) {
  start();
  const uint64_t c = connect(4001, "alice");
  struct Case {
    std::string params;
    std::string reason;  // A word the message must name.
  };
  const Case cases[] = {
      {"{}", "request"},
      {"{\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}", "model"},
      {"{\"request\":{\"model\":\"test/a\"}}", "messages"},
      {std::string("{\"request\":") + kChat + ",\"priorty\":1}", "priorty"},
      {std::string("{\"request\":") + kChat + ",\"priority\":\"high\"}", "priority"},
      {std::string("{\"request\":") + kChat + ",\"priority\":5000}", "priority"},
      {std::string("{\"request\":") + kChat + ",\"max_attempts\":0}", "max_attempts"},
      {std::string("{\"request\":") + kChat + ",\"tags\":\"a\"}", "tags"},
      {"{\"request\":{\"model\":\"test/a\",\"model\":\"test/"
       "b\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}",
       "model"},
      {"{\"request\":{\"model\":\"nowhere/x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}", "nowhere/x"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.params);
    const std::string a = call(c, "job.submit", k.params);
    EXPECT_EQ(-32602, errorCode(a)) << a;
    EXPECT_NE(std::string::npos, field(a, "error.message").find(k.reason)) << a;
  }
  EXPECT_EQ(0, stored());
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(JobSubmitTest, AUsersJobsAreLabelledWithItsName) {
  start();
  const uint64_t alice = connect(4001, "alice");
  EXPECT_EQ("alice", job(jobIdOf(submitWith(alice, ""))).client);
  EXPECT_EQ("alice:batch", job(jobIdOf(submitWith(alice, ",\"client\":\"batch\""))).client);
  // Not bob's label: another user's client becomes one of alice's own.
  EXPECT_EQ("alice:bob", job(jobIdOf(submitWith(alice, ",\"client\":\"bob\""))).client);
}

TEST_F(JobSubmitTest, APriorityAboveTheUsersLimitIsForAdministrators) {
  config_.max_user_priority = 10;
  start();
  const uint64_t alice = connect(4001, "alice");
  const std::string refused = submitWith(alice, ",\"priority\":11");
  EXPECT_EQ(-32602, errorCode(refused)) << refused;
  EXPECT_NE(std::string::npos, refused.find("max_user_priority")) << refused;
  EXPECT_FALSE(isError(submitWith(alice, ",\"priority\":10")));
  EXPECT_FALSE(isError(submitWith(admin(), ",\"priority\":11")));
}

TEST_F(JobSubmitTest, AnIdempotencyKeyGivesTheSameOwnerTheSameJob) {
  start();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t alice2 = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  const std::string first = submitWith(alice, ",\"idempotency_key\":\"k1\"");
  EXPECT_EQ("false", field(first, "result.deduplicated")) << first;
  const std::string id = jobIdOf(first);
  ASSERT_FALSE(id.empty());
  // Again, from another connection and another of alice's clients: the same job.
  const std::string again = submitWith(alice2, ",\"idempotency_key\":\"k1\",\"client\":\"other\"");
  EXPECT_EQ(id, jobIdOf(again)) << again;
  EXPECT_EQ("true", field(again, "result.deduplicated")) << again;
  // Bob's same key is his own: a job of his, not alice's.
  const std::string bobs = submitWith(bob, ",\"idempotency_key\":\"k1\"");
  EXPECT_EQ("false", field(bobs, "result.deduplicated")) << bobs;
  EXPECT_NE(id, jobIdOf(bobs));
  EXPECT_EQ("bob", job(jobIdOf(bobs)).client);
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_TRUE(reaches(jobIdOf(bobs), JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size());
  // After the job ended the key still finds it; it does not run again.
  const std::string later = submitWith(alice, ",\"idempotency_key\":\"k1\"");
  EXPECT_EQ(id, jobIdOf(later));
  EXPECT_EQ("true", field(later, "result.deduplicated")) << later;
  EXPECT_EQ("\"succeeded\"", field(later, "result.state")) << later;
  EXPECT_EQ(2u, upstream_->seen().size());
}

}  // namespace
}  // namespace llmq::daemon
