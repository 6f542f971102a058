// Integration: the Responses API sent to the upstream's own POST /responses (the
// fake speaks it, as OpenRouter does), not translated: the request goes as it
// came, the answer comes back as llmqd's Response (its id names the job, its
// message first), streamed or not; previous_response_id is llmqd's to keep, so
// the upstream gets the whole conversation; an upstream without /responses is
// found out on the first request, which goes again translated, and so do the
// next ones; a mock model is translated; what cannot run is refused at submit
// (daemon/jobs/responses_format.h, docs/http-api.md "Responses").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpResponsesNativeTest : public HttpFrontFixture {
 protected:
  HttpResponse create(const std::string& body, HttpHeaders headers = {}) {
    return request("POST", "/v1/responses", body, std::move(headers));
  }
  // The paths of the fake's POST requests (the catalog's GETs aside), in order.
  std::vector<std::string> postedPaths() {
    std::vector<std::string> out;
    for (const FakeRequest& r : fake_.requests()) {
      if (r.method == "POST") {
        out.push_back(r.path.substr(fake_.path("").size()));
      }
    }
    return out;
  }
  json::Document lastPostedBody() {
    std::string body;
    for (const FakeRequest& r : fake_.requests()) {
      if (r.method == "POST") {
        body = r.body;
      }
    }
    return parseJsonText(body);
  }
};

TEST_F(HttpResponsesNativeTest, ARequestGoesToTheUpstreamsResponsesEndpointAsItCame) {
  const std::string body =
      R"({"model":"fake/ok","instructions":"be brief","input":"alpha beta","max_output_tokens":3,"temperature":0.7})";
  HttpResponse r = create(body);
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ(std::vector<std::string>{"/responses"}, postedPaths());
  json::Document up = lastPostedBody();
  json::Document sent = parseJsonText(body);
  EXPECT_TRUE(up == sent) << json::toString(up);

  json::Document resp = parseJsonText(r.body);
  const std::string job_id = r.header("x-llmq-job-id");
  EXPECT_EQ("resp_" + job_id, strMember(resp, "id"));
  EXPECT_EQ("response", strMember(resp, "object"));
  EXPECT_EQ("completed", strMember(resp, "status"));
  ASSERT_EQ(1u, resp["output"].Size());
  EXPECT_EQ("msg_" + job_id, strMember(resp["output"][0], "id"));
  EXPECT_EQ("alpha beta alpha", strMember(resp["output"][0]["content"][0], "text"));
  EXPECT_EQ(3, resp["usage"]["output_tokens"].GetInt());

  json::Document j = job(job_id);
  EXPECT_EQ("succeeded", strMember(j, "state"));
  EXPECT_EQ("responses", strMember(j, "kind"));
  EXPECT_EQ(3, j["usage"]["completion_tokens"].GetInt());
  EXPECT_GT(j["usage"]["prompt_tokens"].GetInt(), 0);
  EXPECT_GT(j["usage"]["cost_usd"].GetDouble(), 0.0);
}

TEST_F(HttpResponsesNativeTest, ToolCallsAndReasoningComeBackAndTheConversationGoesOnThroughLlmqd) {
  const std::string tools = R"("tools":[{"type":"function","name":"lookup","parameters":{"type":"object"}}])";
  HttpResponse first = create(R"({"model":"fake/rich","input":"find it",)" + tools + "}");
  ASSERT_EQ(200, first.status) << first.body;
  json::Document r1 = parseJsonText(first.body);
  // The upstream put its reasoning first; llmqd's Response has the call first.
  ASSERT_EQ(2u, r1["output"].Size()) << first.body;
  EXPECT_EQ("function_call", strMember(r1["output"][0], "type"));
  EXPECT_EQ("call_0", strMember(r1["output"][0], "call_id"));
  EXPECT_EQ("lookup", strMember(r1["output"][0], "name"));
  EXPECT_EQ("reasoning", strMember(r1["output"][1], "type"));

  HttpResponse second =
      create(R"({"model":"fake/ok","previous_response_id":")" + strMember(r1, "id") +
             R"(","input":[{"type":"function_call_output","call_id":"call_0","output":"42"}],)" + tools + "}");
  ASSERT_EQ(200, second.status) << second.body;
  // The upstream keeps nothing: it got the whole conversation, and no previous_response_id.
  json::Document up = lastPostedBody();
  EXPECT_EQ(nullptr, json::member(up, "previous_response_id"));
  ASSERT_TRUE(up["input"].IsArray());
  ASSERT_EQ(3u, up["input"].Size()) << json::toString(up);
  EXPECT_EQ("user", strMember(up["input"][0], "role"));
  EXPECT_EQ("find it", strMember(up["input"][0], "content"));
  EXPECT_EQ("function_call", strMember(up["input"][1], "type"));
  EXPECT_EQ("function_call_output", strMember(up["input"][2], "type"));
  // The answer echoes the id it continued.
  EXPECT_EQ(strMember(r1, "id"), strMember(parseJsonText(second.body), "previous_response_id"));
}

TEST_F(HttpResponsesNativeTest, AStreamRelaysTheTextAndEndsWithLlmqdsResponse) {
  HttpResponse r = create(R"({"model":"fake/ok","input":"one two","max_output_tokens":4,"stream":true})");
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ(std::vector<std::string>{"/responses"}, postedPaths());
  EXPECT_TRUE(lastPostedBody()["stream"].GetBool());
  std::string text;
  json::Document completed;
  for (const std::string& e : events(r.body)) {
    json::Document d = parseJsonText(e);
    if (strMember(d, "type") == "response.output_text.delta") {
      text += strMember(d, "delta");
    } else if (strMember(d, "type") == "response.completed") {
      completed.CopyFrom(d["response"], completed.GetAllocator());
    }
  }
  EXPECT_EQ("one two one two", text);
  ASSERT_TRUE(completed.IsObject()) << r.body;
  EXPECT_EQ("resp_" + r.header("x-llmq-job-id"), strMember(completed, "id"));
  EXPECT_EQ("one two one two", strMember(completed["output"][0]["content"][0], "text"));
  EXPECT_EQ(4, completed["usage"]["output_tokens"].GetInt());
}

TEST_F(HttpResponsesNativeTest, AnUpstreamWithoutResponsesIsFoundOutAndTheRequestGoesTranslated) {
  // fake/chatonly-*: the fake answers 404 to POST /responses for it.
  HttpResponse r = create(R"({"model":"fake/chatonly-a","input":"alpha","max_output_tokens":2})");
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("alpha alpha", strMember(parseJsonText(r.body)["output"][0]["content"][0], "text"));
  EXPECT_EQ((std::vector<std::string>{"/responses", "/chat/completions"}), postedPaths());
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ(1, j["attempts"].GetInt()) << "the same attempt, not a retry";
  // The provider has no /responses, then: the next request goes translated at once.
  ASSERT_EQ(200, create(R"({"model":"fake/ok","input":"beta","max_output_tokens":1})").status);
  EXPECT_EQ((std::vector<std::string>{"/responses", "/chat/completions", "/chat/completions"}), postedPaths());
  EXPECT_NE(std::string::npos, daemon_->log().find("Responses requests go translated")) << daemon_->log();
}

TEST_F(HttpResponsesNativeTest, AResponseStoredAsAChatJobStillContinues) {
  // A response llmqd stored before Responses jobs was a chat job.
  json::Document ack =
      callOk(*client_, "job.submit",
             R"({"request":{"model":"fake/ok","max_tokens":2,"messages":[)"
             R"({"role":"system","content":"old instructions"},{"role":"user","content":"hello there"}]},)"
             R"("wait":true})");
  ASSERT_EQ("succeeded", strMember(ack, "state"));
  HttpResponse r = create(R"({"model":"fake/ok","previous_response_id":"resp_)" + strMember(ack, "job_id") +
                          R"(","input":"and then?"})");
  ASSERT_EQ(200, r.status) << r.body;
  json::Document up = lastPostedBody();
  ASSERT_EQ(3u, up["input"].Size()) << json::toString(up);
  EXPECT_EQ("hello there", strMember(up["input"][0], "content"));
  EXPECT_EQ("assistant", strMember(up["input"][1], "role"));
  EXPECT_EQ("hello there", strMember(up["input"][1], "content"));
  EXPECT_EQ("and then?", strMember(up["input"][2], "content"));
}

TEST_F(HttpResponsesNativeTest, AMockModelIsTranslatedAndASocketClientsBadRequestIsRefusedAtSubmit) {
  HttpResponse r = create(R"({"model":"mock/echo","input":"say this"})");
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("say this", strMember(parseJsonText(r.body)["output"][0]["content"][0], "text"));
  EXPECT_TRUE(postedPaths().empty());
  auto refused = client_->call("job.submit",
                               R"({"kind":"responses","request":{"model":"fake/ok","input":"x",)"
                               R"("tools":[{"type":"web_search"}]}})",
                               10000);
  ASSERT_TRUE(refused.ok());
  ASSERT_FALSE(refused->ok());
  EXPECT_NE(std::string::npos, refused->error.message.find("web_search")) << refused->error.message;
  EXPECT_TRUE(postedPaths().empty());
}

}  // namespace
}  // namespace llmq::testing
