// RpcDispatcher, on a real engine (tests/support/engine_fixture.h), fed raw
// frames on in-process connections (ipc/PROTOCOL.md, "Framing and limits" and
// "Errors"): malformed JSON is -32700 with id null; a request that is not a
// JSON-RPC request object is -32600 (with its id when it has a usable one, else
// null, also without any id); an unknown method is -32601; an administrators'
// method is -32003 for anyone else; a batch is answered as one array, one
// answer per request but none for its notifications; a notification gets no
// answer but is carried out; each bad line leaves the connection open. While
// llmqd shuts down, job.submit is -32005 while reading calls are still
// answered, and a closing connection does not cancel its cancel_on_disconnect
// jobs (they stay queued for the next start).
#include "daemon/api/rpc_dispatcher.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class RpcDispatcherTest : public llmq::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    start();
    conn_ = admin();
  }
  // Sends a raw frame and returns the one line it is answered with ("" and a
  // test failure when none came).
  std::string exchange(const std::string& frame) {
    take(conn_);
    send(conn_, frame);
    if (!receives(conn_, 1)) {
      ADD_FAILURE() << "no answer to " << frame;
      return "";
    }
    return take(conn_).front();
  }
  // The connection still answers a request.
  void expectAlive() {
    const std::string a = call(conn_, "daemon.status");
    EXPECT_FALSE(isError(a)) << a;
  }

  uint64_t conn_ = 0;
};

TEST_F(RpcDispatcherTest, MalformedJsonIsAParseErrorWithIdNull) {
  for (const char* frame : {"{\"jsonrpc\":\"2.0\",\"id\":1,", "not json", "{\"a\":1}}", "\"\\ud800"}) {
    SCOPED_TRACE(frame);
    const std::string a = exchange(frame);
    EXPECT_EQ(-32700, errorCode(a)) << a;
    EXPECT_EQ("null", field(a, "id")) << a;
  }
  expectAlive();
}

TEST_F(RpcDispatcherTest, ARequestThatIsNotAnObjectIsAnInvalidRequestWithIdNull) {
  for (const char* frame : {"42", "\"daemon.status\"", "null", "[]"}) {
    SCOPED_TRACE(frame);
    const std::string a = exchange(frame);
    EXPECT_EQ(-32600, errorCode(a)) << a;
    EXPECT_EQ("null", field(a, "id")) << a;
  }
  expectAlive();
}

TEST_F(RpcDispatcherTest, AnInvalidEnvelopeIsAnInvalidRequestWithItsId) {
  struct Case {
    const char* frame;
    const char* id;
  };
  for (const Case& c : {Case{"{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"daemon.status\"}", "5"},
                        Case{"{\"id\":6,\"method\":\"daemon.status\"}", "6"},
                        Case{"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":7}", "\"x\""},
                        Case{"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"daemon.status\",\"params\":3}", "8"},
                        Case{"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"daemon.status\"}", "null"}}) {
    SCOPED_TRACE(c.frame);
    const std::string a = exchange(c.frame);
    EXPECT_EQ(-32600, errorCode(a)) << a;
    EXPECT_EQ(c.id, field(a, "id")) << a;
  }
  expectAlive();
}

// JSON-RPC 2.0: a notification is a valid request without an id; an object
// that is not a valid request is not one, and is answered -32600 with id null
// (ipc/PROTOCOL.md: "Any other bad line gets its error").
TEST_F(RpcDispatcherTest, AnInvalidRequestWithoutAnIdIsStillAnswered) {
  for (const char* frame : {"{}", "{\"foo\":1}", "{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}",
                            "{\"method\":\"daemon.status\"}"}) {
    SCOPED_TRACE(frame);
    const std::string a = exchange(frame);
    EXPECT_EQ(-32600, errorCode(a)) << a;
    EXPECT_EQ("null", field(a, "id")) << a;
  }
  // In a batch too, beside a notification that stays unanswered.
  const std::string a = exchange("[{\"foo\":1},{\"jsonrpc\":\"2.0\",\"method\":\"daemon.status\"}]");
  EXPECT_EQ("null", field(a, "0.id")) << a;
  EXPECT_EQ("-32600", field(a, "0.error.code")) << a;
  EXPECT_EQ("", field(a, "1")) << a;
  expectAlive();
}

TEST_F(RpcDispatcherTest, AnUnknownMethodIsMethodNotFound) {
  const std::string a = call(conn_, "job.explode");
  EXPECT_EQ(-32601, errorCode(a)) << a;
  EXPECT_NE(std::string::npos, a.find("job.explode")) << a;
  expectAlive();
}

TEST_F(RpcDispatcherTest, AnAdministratorsMethodIsPermissionDeniedForAUser) {
  const uint64_t alice = connect(4001, "alice");
  for (const char* method :
       {"usage.report", "models.stats", "budget.set", "budget.delete", "db.backup", "keys.reset"}) {
    SCOPED_TRACE(method);
    const std::string a = call(alice, method);
    EXPECT_EQ(-32003, errorCode(a)) << a;
    EXPECT_EQ("\"PERMISSION_DENIED\"", field(a, "error.data.code")) << a;
  }
  EXPECT_FALSE(isError(call(conn_, "usage.report")));
}

TEST_F(RpcDispatcherTest, ABatchIsAnsweredAsOneArrayWithoutItsNotifications) {
  const std::string a = exchange(
      "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"},"
      "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.status\"},"
      "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"},"
      "7,"
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"job.get\",\"params\":{\"job_id\":\"j000000000999\"}}]");
  json::Document d;
  std::string error;
  ASSERT_TRUE(json::parse(d, a, &error)) << a;
  ASSERT_TRUE(d.IsArray()) << a;
  ASSERT_EQ(4u, d.Size()) << a;
  EXPECT_EQ("1", field(a, "0.id"));
  EXPECT_NE("", field(a, "0.result.queue")) << a;
  EXPECT_EQ("\"x\"", field(a, "1.id"));
  EXPECT_EQ("-32601", field(a, "1.error.code"));
  EXPECT_EQ("null", field(a, "2.id"));
  EXPECT_EQ("-32600", field(a, "2.error.code"));
  EXPECT_EQ("3", field(a, "3.id"));
  EXPECT_EQ("-32001", field(a, "3.error.code"));
  expectAlive();
}

TEST_F(RpcDispatcherTest, ABatchOfSubmitsAnswersEachWithItsOwnJob) {
  const std::string req =
      "\"params\":{\"request\":{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\","
      "\"content\":\"hi\"}]}}";
  const std::string a = exchange("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"job.submit\"," + req +
                                 "},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"job.submit\"," + req + "}]");
  const std::string first = field(a, "0.result.job_id");
  const std::string second = field(a, "1.result.job_id");
  ASSERT_NE("", first) << a;
  ASSERT_NE("", second) << a;
  EXPECT_NE(first, second);
  EXPECT_TRUE(reaches(first.substr(1, first.size() - 2), JobState::kSucceeded));
  EXPECT_TRUE(reaches(second.substr(1, second.size() - 2), JobState::kSucceeded));
}

TEST_F(RpcDispatcherTest, ANotificationIsCarriedOutButNotAnswered) {
  send(conn_,
       "{\"jsonrpc\":\"2.0\",\"method\":\"job.submit\",\"params\":{\"request\":{\"model\":\"test/a\","
       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}}");
  send(conn_, "[{\"jsonrpc\":\"2.0\",\"method\":\"daemon.status\"},{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}]");
  ASSERT_TRUE(runUntil([&] { return upstream_->seen().size() == 1; }, kWaitMs));
  // Answers come in order: once the next request is answered, nothing else came.
  const std::string a = call(conn_, "job.list");
  EXPECT_TRUE(lines(conn_).empty()) << lines(conn_).front();
  const std::string id = field(a, "result.jobs.0.job_id");
  ASSERT_NE("", id) << a;
  EXPECT_TRUE(reaches(id.substr(1, id.size() - 2), JobState::kSucceeded));
}

TEST_F(RpcDispatcherTest, WhileShuttingDownSubmitsAreRefusedAndReadsAnswered) {
  const std::string id = submit(conn_, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  engine_->run.shutting_down = true;
  const std::string refused = call(conn_, "job.submit",
                                   "{\"request\":{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\","
                                   "\"content\":\"hi\"}]}}");
  EXPECT_EQ(-32005, errorCode(refused)) << refused;
  const std::string got = call(conn_, "job.get", "{\"job_id\":\"" + id + "\"}");
  EXPECT_EQ("\"succeeded\"", field(got, "result.state")) << got;
  EXPECT_EQ("true", field(call(conn_, "daemon.status"), "result.shutting_down"));
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(RpcDispatcherTest, WhileShuttingDownAClosingConnectionDoesNotCancelItsJobs) {
  const uint64_t alice = connect(4001, "alice");
  call(conn_, "queue.pause");
  const std::string id = submit(alice, "test/a", ",\"cancel_on_disconnect\":true");
  ASSERT_EQ(JobState::kQueued, stateOf(id));
  engine_->run.shutting_down = true;
  disconnect(alice);
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(JobState::kQueued, stateOf(id));
}

}  // namespace
}  // namespace llmq::daemon
