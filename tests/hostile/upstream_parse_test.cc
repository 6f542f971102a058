// Hostile: an upstream that answers with bytes built to hurt the parsers of a real
// llmqd (tests/fake_upstream, faults `deep`, `big-delta`, `endless`): answers and
// SSE events nested 200,000 levels deep, an event of 100 KiB that arrives in
// several reads, an event over max_event_bytes, a stream that never ends, and a
// model list nested too deep at startup. Each test checks the job ends with the
// documented error (docs/operations.md "Bounds", "Upstream answers") and that the
// daemon stays up and answers afterwards.
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class UpstreamParseTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  void startDaemon(const std::string& extra_toml = "", bool catalog_fetch = false) {
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n" + extra_toml,
                  .catalog_fetch = catalog_fetch,
                  .extra_env = fakeEnv()});
  }
  std::string submitJob(const std::string& model, bool stream, const std::string& extra = "") {
    const std::string request = R"({"model":")" + model +
                                R"(","messages":[{"role":"user","content":"hello there"}],"stream":)" +
                                (stream ? "true" : "false") + "}";
    json::Document r = callOk(*client_, "job.submit", "{\"request\":" + request + extra + "}");
    return r.HasMember("job_id") ? r["job_id"].GetString() : "";
  }
  // The job failed once, not retryable, with `code`; returns its error message.
  std::string expectFailedOnce(const std::string& id, const std::string& code) {
    EXPECT_EQ("failed", waitTerminal(*client_, id, 60000));
    json::Document j = job(id);
    EXPECT_EQ(1, j["attempts"].GetInt()) << "not retried";
    const json::Value* error = json::member(j, "error");
    if (error == nullptr || !error->IsObject()) {
      ADD_FAILURE() << "no error object";
      return "";
    }
    EXPECT_EQ(code, strMember(*error, "code"));
    EXPECT_EQ("local", strMember(*error, "source"));
    return strMember(*error, "message");
  }
};

// A plain answer `{"choices":[[[[...` 200,000 deep crashed llmqd (stack overflow in
// the recursive JSON parser). It fails the attempt, not retried.
TEST_F(UpstreamParseTest, ADeeplyNestedAnswerFailsTheJobAndTheDaemonStaysUp) {
  startDaemon();
  const std::string id = submitJob("fake/fault-deep", false);
  const std::string message = expectFailedOnce(id, "UPSTREAM_ERROR");
  EXPECT_NE(std::string::npos, message.find("nested deeper than 128 levels")) << message;
  expectServing();
}

TEST_F(UpstreamParseTest, ADeeplyNestedStreamEventFailsTheJobAndTheDaemonStaysUp) {
  startDaemon();
  const std::string id = submitJob("fake/fault-deep", true);
  const std::string message = expectFailedOnce(id, "UPSTREAM_ERROR");
  EXPECT_NE(std::string::npos, message.find("nested deeper than 128 levels")) << message;
  expectServing();
}

// The crash loop: a job running when llmqd died is requeued at the next start and
// runs again. With an upstream that answers too deep, every start crashed. Now the
// restarted daemon fails the job, once, and stays up through another restart.
TEST_F(UpstreamParseTest, AJobRequeuedAtRestartAgainstADeepAnswerDoesNotCrashLoop) {
  startDaemon();
  ASSERT_TRUE(fake_.setFault("hang"));
  const std::string id = submitJob("openai/gpt-4o-mini", false);
  ASSERT_TRUE(fake_.waitForRequests(1, 30000));
  daemon_->kill9();
  ASSERT_TRUE(fake_.setFault("deep"));

  startDaemon();  // The job, running when llmqd died, is queued again and sent again.
  EXPECT_EQ("failed", waitTerminal(*client_, id, 60000));
  json::Document j = job(id);
  const json::Value* error = json::member(j, "error");
  ASSERT_TRUE(error != nullptr && error->IsObject());
  EXPECT_NE(std::string::npos, strMember(*error, "message").find("nested deeper than 128 levels"));
  expectServing();

  ASSERT_TRUE(daemon_->stop());
  startDaemon();
  expectServing();
  EXPECT_EQ("failed", strMember(job(id), "state"));
}

// An SSE event of 100 KiB, read in several pieces, lost its text: the parser
// released its carried-over line past 64 KiB and the job succeeded as
// "BEGIN--END". The whole delta must reach the result and the chunk events.
TEST_F(UpstreamParseTest, AnEventOfAHundredKibInSeveralReadsKeepsAllItsText) {
  startDaemon();
  const std::string id = submitJob("fake/fault-big-delta", true);
  ASSERT_EQ("succeeded", waitTerminal(*client_, id, 60000));
  json::Document j = job(id);
  const json::Value& message = j["result"]["choices"][0]["message"];
  const std::string content = strMember(message, "content");
  const std::string expected = "BEGIN-" + std::string(100 * 1024, 'x') + "-END";
  ASSERT_GE(content.size(), expected.size());
  EXPECT_TRUE(content.compare(0, expected.size(), expected) == 0)
      << "the delta came back as " << content.size() << " bytes: " << content.substr(0, 40) << "...";
  expectServing();
}

// An event over max_event_bytes is never dropped in silence: the attempt fails as
// too large, not retryable.
TEST_F(UpstreamParseTest, AnEventOverTheCapFailsAsTooLarge) {
  startDaemon("[http]\nmax_event_bytes = 65536\n");
  const std::string id = submitJob("fake/fault-big-delta", true);
  const std::string message = expectFailedOnce(id, "RESPONSE_TOO_LARGE");
  EXPECT_NE(std::string::npos, message.find("65536")) << message;
  expectServing();
}

// A stream that never ends grew llmqd's memory for ever. Past max_response_bytes
// of content the attempt fails as too large and the transfer is dropped.
TEST_F(UpstreamParseTest, AnEndlessStreamStopsAtTheContentCap) {
  startDaemon("[http]\nmax_response_bytes = 1048576\n");
  const std::string id = submitJob("fake/fault-endless", true);
  const std::string message = expectFailedOnce(id, "RESPONSE_TOO_LARGE");
  EXPECT_NE(std::string::npos, message.find("1048576")) << message;
  ASSERT_TRUE(fake_.waitForDisconnects(1, 30000)) << "llmqd hung up on the endless stream";
  expectServing();
}

// A stream that never ends and stays under the content cap (a trickle) ends at the
// default attempt timeout, here set short.
TEST_F(UpstreamParseTest, AnEndlessTrickleEndsAtTheAttemptTimeout) {
  startDaemon("[http]\nattempt_timeout_s = 1\n");
  const std::string id = submitJob("fake/fault-endless+drip-50", true, R"(,"max_attempts":1)");
  EXPECT_EQ("failed", waitTerminal(*client_, id, 60000));
  json::Document j = job(id);
  const json::Value* error = json::member(j, "error");
  ASSERT_TRUE(error != nullptr && error->IsObject());
  EXPECT_EQ("TIMEOUT", strMember(*error, "code"));
  ASSERT_TRUE(fake_.waitForDisconnects(1, 30000));
  expectServing();
}

// GET /models nested 200,000 deep at startup crashed llmqd before it served
// anything; now the fetch fails like any unreadable list and the daemon serves.
TEST_F(UpstreamParseTest, ADeeplyNestedModelListAtStartupIsRefused) {
  ASSERT_TRUE(fake_.setFault("deep", -1, "/models"));
  startDaemon("", /*catalog_fetch=*/true);
  ASSERT_TRUE(fake_.waitForRequests(1, 30000));
  std::string message;
  EXPECT_EQ(-32603, callError(*client_, "models.list", R"({"refresh":true})", &message, 30000));
  EXPECT_NE(std::string::npos, message.find("nested deeper than 128 levels")) << message;
  expectServing();
}

}  // namespace
}  // namespace llmq::testing
