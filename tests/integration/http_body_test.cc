// Integration: request bodies that real programs send to the HTTP front, and what
// llmqd makes of them: a JavaScript string cut mid-emoji (a lone surrogate
// escape) is read as U+FFFD, not refused; a key given twice is refused before it
// can be priced one way and run another (docs/json.md, docs/http-api.md).
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpBodyTest : public HttpFrontFixture {};

TEST_F(HttpBodyTest, ALoneSurrogateIsReadAsTheReplacementCharacter) {
  // What JSON.stringify writes for "ok " + "😀".slice(0, 1).
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"ok \ud83d"}]})");
  ASSERT_EQ(200, r.status) << r.body;
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  const std::string upstream = fake_.requests().back().body;
  EXPECT_NE(std::string::npos, upstream.find("ok \xEF\xBF\xBD")) << upstream;
  // What was stored is what ran, and reads back as valid JSON.
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("succeeded", strMember(j, "state"));
}

TEST_F(HttpBodyTest, ALoneLowSurrogateNeverBecomesBytesThatAreNotUtf8) {
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"x\udc00y"}]})");
  ASSERT_EQ(200, r.status) << r.body;
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  const std::string upstream = fake_.requests().back().body;
  EXPECT_NE(std::string::npos, upstream.find("x\xEF\xBF\xBDy")) << upstream;
  EXPECT_EQ(std::string::npos, upstream.find("\xED\xB0\x80"));
  // The job's answer frame (which carries the request) is still readable.
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("succeeded", strMember(j, "state"));
}

TEST_F(HttpBodyTest, ATopLevelKeyTwiceIsRefusedBeforeAnythingRunsOrIsPriced) {
  // llmqd would price the first model; an upstream runs the last.
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"x"}],)"
                        R"("max_tokens":1,"max_tokens":100000})");
  EXPECT_EQ(400, r.status) << r.body;
  json::Document e = parseJsonText(r.body);
  ASSERT_TRUE(e.HasMember("error")) << r.body;
  EXPECT_EQ("duplicate_key", strMember(e["error"], "code"));
  EXPECT_EQ("invalid_request_error", strMember(e["error"], "type"));
  EXPECT_NE(std::string::npos, strMember(e["error"], "message").find("\"max_tokens\"")) << r.body;
  EXPECT_TRUE(r.header("x-llmq-job-id").empty());
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, AKeyTwiceDeeperInIsRefusedTooAndNamesWhere) {
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"a","content":"b"}]})");
  EXPECT_EQ(400, r.status) << r.body;
  json::Document e = parseJsonText(r.body);
  EXPECT_EQ("duplicate_key", strMember(e["error"], "code"));
  EXPECT_NE(std::string::npos, strMember(e["error"], "message").find(R"($["messages"][0])")) << r.body;
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, TheModelTwiceCannotSlipPastARejectBudget) {
  // The budget lets through what the first model costs, not what the last would.
  callOk(*client_, "budget.set",
         R"({"scope":"client:http","period":"total","limit_usd":0.002,"action":"reject"})");
  HttpResponse r = post(R"({"model":"fake/ok","model":"fake/expensive","messages":[{"role":"user",)"
                        R"("content":"x"}],"max_tokens":5})");
  EXPECT_EQ(400, r.status) << r.body;
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, TheSocketRefusesAKeyTwiceWithItsOwnCode) {
  auto reply = client_->call(
      "job.submit", R"({"request":{"model":"fake/ok","model":"fake/ok","messages":[{"role":"user","content":"x"}]}})");
  ASSERT_TRUE(reply);
  ASSERT_FALSE(reply->ok());
  EXPECT_EQ(-32602, reply->error.code);
  EXPECT_EQ("DUPLICATE_KEY", reply->error.symbol);
  EXPECT_NE(std::string::npos, reply->error.message.find("\"model\"")) << reply->error.message;
}

}  // namespace
}  // namespace llmq::testing
