// Hostile: requests nested far past json::kMaxDepth (128 levels), on the Unix
// socket and on the HTTP front of a real llmqd. One IPC line of 200,000 '[' (200
// KB, under the frame limit) from any user allowed to connect used to kill the
// daemon (SIGSEGV in the recursive JSON parser); the same body on POST
// /v1/chat/completions did too. Each test checks the documented error
// (docs/operations.md "Bounds") and that the daemon stays up and answers.
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

std::string nested(int depth, const std::string& open, const std::string& inner, const std::string& close) {
  std::string s;
  for (int i = 0; i < depth; ++i) {
    s += open;
  }
  s += inner;
  for (int i = 0; i < depth; ++i) {
    s += close;
  }
  return s;
}

class IpcParseTest : public DaemonFixture {
 protected:
  void SetUp() override {
    launchDaemon({.config_toml = "[ipc]\nmax_frame_bytes = 4194304\n"
                                 "[api]\nlisten = \"127.0.0.1:0\"\n"});
  }
  // Sends one raw line and returns the answer as a document (null when none came).
  json::Document exchange(const std::string& line) {
    json::Document d;
    const std::string answer = exchangeRaw(*client_, line + "\n", 30000);
    if (!answer.empty()) {
      EXPECT_TRUE(json::parse(d, answer, nullptr)) << answer;
    }
    return d;
  }
  static int codeOf(const json::Document& d) {
    const json::Value* error = json::member(d, "error");
    const json::Value* code = error != nullptr ? json::member(*error, "code") : nullptr;
    return code != nullptr && code->IsInt() ? code->GetInt() : 0;
  }
  static std::string messageOf(const json::Document& d) {
    const json::Value* error = json::member(d, "error");
    return error != nullptr ? strMember(*error, "message") : "";
  }
};

TEST_F(IpcParseTest, ALineOfTwoHundredThousandBracketsIsAParseErrorNamingTheLimit) {
  const json::Document d = exchange(std::string(200000, '['));
  EXPECT_EQ(-32700, codeOf(d));
  EXPECT_NE(std::string::npos, messageOf(d).find("nested deeper than 128 levels")) << messageOf(d);
  expectServing();
  // The same connection goes on.
  EXPECT_TRUE(callOk(*client_, "daemon.status", "{}").IsObject());
}

TEST_F(IpcParseTest, DeepObjectsInsideAValidRequestAreRefused) {
  const std::string deep = nested(200000, "{\"a\":", "1", "}");
  json::Document d =
      exchange(R"({"jsonrpc":"2.0","id":1,"method":"job.submit","params":{"request":)" + deep + "}}");
  EXPECT_EQ(-32700, codeOf(d));
  EXPECT_NE(std::string::npos, messageOf(d).find("nested deeper than 128 levels")) << messageOf(d);
  // A batch of deep requests, complete and balanced, too.
  d = exchange("[" + nested(200, "[", "", "]") + "]");
  EXPECT_EQ(-32700, codeOf(d));
  expectServing();
}

TEST_F(IpcParseTest, NestingAtTheLimitIsStillParsed) {
  // 128 levels in all (the params object is level 2): parsed, then judged on its
  // merits (-32602: not a valid request), not refused as JSON.
  const std::string params = nested(126, "[", "1", "]");
  const json::Document d =
      exchange(R"({"jsonrpc":"2.0","id":1,"method":"job.get","params":{"job_id":)" + params + "}}");
  EXPECT_EQ(-32602, codeOf(d)) << messageOf(d);
  expectServing();
}

TEST_F(IpcParseTest, TheHttpFrontAnswersADeepBodyWith400) {
  const int port = apiPort();
  ASSERT_GT(port, 0) << daemon_->log();
  const std::string token = apiToken();
  ASSERT_FALSE(token.empty());
  for (const std::string& body :
       {std::string(200000, '['), R"({"model":"mock/x","messages":)" + nested(100000, "{\"a\":", "1", "}") + "}"}) {
    HttpConnection c;
    ASSERT_TRUE(c.connect(port));
    const HttpResponse r = c.request("POST", "/v1/chat/completions", body,
                                     {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                                     30000);
    EXPECT_EQ(400, r.status) << r.body.substr(0, 200);
    json::Document d;
    ASSERT_TRUE(json::parse(d, r.body, nullptr)) << r.body.substr(0, 200);
    EXPECT_NE(std::string::npos, messageOf(d).find("nested deeper than 128 levels")) << r.body;
    const json::Value* error = json::member(d, "error");
    ASSERT_NE(nullptr, error);
    EXPECT_STREQ("invalid_request_error", (*error)["type"].GetString());
  }
  expectServing();
}

// A body at the nesting limit is a request like any other: the HTTP front's
// job.submit wraps it two levels deeper, and the dispatcher refused that frame
// with a parse error of id null, which the front could not match: the client
// waited for ever (and its pending entry stayed until it disconnected).
TEST_F(IpcParseTest, TheHttpFrontAnswersABodyAtTheNestingLimit) {
  const int port = apiPort();
  ASSERT_GT(port, 0) << daemon_->log();
  const std::string token = apiToken();
  for (int depth : {127, 128}) {
    // Levels: the body, messages, the message, then "x" nested to `depth` in all.
    const std::string body = R"({"model":"mock/x","messages":[{"role":"user","content":"hi","x":)" +
                             nested(depth - 3, "[", "", "]") + "}]}";
    HttpConnection c;
    ASSERT_TRUE(c.connect(port));
    const HttpResponse r = c.request("POST", "/v1/chat/completions", body,
                                     {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                                     60000);
    EXPECT_EQ(200, r.status) << "depth " << depth << ": " << r.body.substr(0, 300);
  }
  expectServing();
}

}  // namespace
}  // namespace llmq::testing
