// Integration: the Responses API (POST /v1/responses) of a real llmqd in front
// of the fake upstream: text, instructions, structured output, tools and their
// outputs through previous_response_id, the event stream, what is refused by
// name, and that each call is a job like any other (daemon/jobs/responses_format.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

// The translation to chat completions (tests/integration/http_responses_native_test.cc
// has the upstream's own /responses).
class HttpResponsesTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "[openrouter]\nresponses_api = false\n"; }
  HttpResponse create(const std::string& body, HttpHeaders headers = {}) {
    return request("POST", "/v1/responses", body, std::move(headers));
  }
  json::Document lastUpstreamBody() {
    EXPECT_TRUE(fake_.waitForRequests(1, 10000));
    return parseJsonText(fake_.requests().back().body);
  }
};

TEST_F(HttpResponsesTest, TextWithInstructionsIsAJobAnsweredAsAResponse) {
  HttpResponse r =
      create(R"({"model":"fake/ok","instructions":"be brief","input":"alpha beta","max_output_tokens":3})");
  ASSERT_EQ(200, r.status) << r.body;
  json::Document resp = parseJsonText(r.body);
  const std::string job_id = r.header("x-llmq-job-id");
  ASSERT_FALSE(job_id.empty());
  EXPECT_EQ("resp_" + job_id, strMember(resp, "id"));
  EXPECT_EQ("response", strMember(resp, "object"));
  EXPECT_EQ("be brief", strMember(resp, "instructions"));
  ASSERT_EQ(1u, resp["output"].Size());
  EXPECT_EQ("message", strMember(resp["output"][0], "type"));
  EXPECT_EQ("alpha beta alpha", strMember(resp["output"][0]["content"][0], "text"));
  EXPECT_EQ(3, resp["usage"]["output_tokens"].GetInt());
  EXPECT_GT(resp["usage"]["input_tokens"].GetInt(), 0);
  // Upstream: a chat request with the instructions as the system message.
  json::Document up = lastUpstreamBody();
  EXPECT_EQ("system", strMember(up["messages"][0], "role"));
  EXPECT_EQ("be brief", strMember(up["messages"][0], "content"));
  EXPECT_EQ("alpha beta", strMember(up["messages"][1], "content"));
  EXPECT_EQ(3, up["max_tokens"].GetInt());
  // A job like any other: stored, in the ledger.
  json::Document j = job(job_id);
  EXPECT_EQ("succeeded", strMember(j, "state"));
  EXPECT_GT(j["usage"]["cost_usd"].GetDouble(), 0.0);
}

TEST_F(HttpResponsesTest, StructuredOutputBecomesAResponseFormat) {
  ASSERT_EQ(200, create(R"({"model":"fake/ok","input":"x","text":{"format":{"type":"json_schema","name":"p",)"
                        R"("schema":{"type":"object","properties":{}},"strict":true}}})")
                     .status);
  json::Document up = lastUpstreamBody();
  EXPECT_EQ("json_schema", strMember(up["response_format"], "type"));
  EXPECT_EQ("p", strMember(up["response_format"]["json_schema"], "name"));
}

TEST_F(HttpResponsesTest, AToolCallAndItsOutputContinueThroughPreviousResponseId) {
  const std::string tools = R"("tools":[{"type":"function","name":"lookup","parameters":{"type":"object"}}])";
  HttpResponse first = create(R"({"model":"fake/rich","input":"find it",)" + tools + "}");
  ASSERT_EQ(200, first.status) << first.body;
  json::Document r1 = parseJsonText(first.body);
  const json::Value* call = nullptr;
  for (const auto& item : r1["output"].GetArray()) {
    if (strMember(item, "type") == "function_call") {
      call = &item;
    }
  }
  ASSERT_NE(nullptr, call) << first.body;
  EXPECT_EQ("lookup", strMember(*call, "name"));
  EXPECT_EQ("call_0", strMember(*call, "call_id"));
  EXPECT_EQ("{\"x\":0}", strMember(*call, "arguments"));
  // The function's output, as the next turn of the same conversation.
  HttpResponse second = create(R"({"model":"fake/ok","previous_response_id":")" + strMember(r1, "id") +
                               R"(","input":[{"type":"function_call_output","call_id":"call_0","output":"42"}]})");
  ASSERT_EQ(200, second.status) << second.body;
  json::Document up = lastUpstreamBody();
  const json::Value& messages = up["messages"];
  ASSERT_EQ(3u, messages.Size()) << json::toString(up);
  EXPECT_EQ("find it", strMember(messages[0], "content"));
  EXPECT_EQ("assistant", strMember(messages[1], "role"));
  EXPECT_EQ("call_0", strMember(messages[1]["tool_calls"][0], "id"));
  EXPECT_EQ("tool", strMember(messages[2], "role"));
  EXPECT_EQ("call_0", strMember(messages[2], "tool_call_id"));
  EXPECT_EQ("42", strMember(messages[2], "content"));
  EXPECT_EQ(strMember(r1, "id"), strMember(parseJsonText(second.body), "previous_response_id"));
}

TEST_F(HttpResponsesTest, TheEventStreamCarriesTheTextAndEndsCompleted) {
  HttpResponse r = create(R"({"model":"fake/ok","input":"alpha beta gamma","max_output_tokens":5,"stream":true})");
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("text/event-stream", r.header("content-type"));
  std::vector<std::string> types;
  std::string text, done_text;
  int64_t expected_seq = 0;
  json::Document completed;
  for (const std::string& e : sseEvents(r.body)) {
    json::Document d = parseJsonText(e);
    types.push_back(strMember(d, "type"));
    EXPECT_EQ(expected_seq++, d["sequence_number"].GetInt64()) << e;
    if (types.back() == "response.output_text.delta") {
      text += strMember(d, "delta");
    } else if (types.back() == "response.output_text.done") {
      done_text = strMember(d, "text");
    } else if (types.back() == "response.completed") {
      completed.CopyFrom(d["response"], completed.GetAllocator());
    }
  }
  ASSERT_GE(types.size(), 8u) << r.body;
  EXPECT_EQ("response.created", types[0]);
  EXPECT_EQ("response.in_progress", types[1]);
  EXPECT_EQ("response.output_item.added", types[2]);
  EXPECT_EQ("response.content_part.added", types[3]);
  EXPECT_EQ("response.output_text.delta", types[4]);
  EXPECT_EQ("response.completed", types.back());
  EXPECT_EQ("alpha beta gamma alpha beta", text);
  EXPECT_EQ(text, done_text);
  ASSERT_TRUE(completed.IsObject());
  EXPECT_EQ("completed", strMember(completed, "status"));
  EXPECT_EQ(text, strMember(completed["output"][0]["content"][0], "text"));
  EXPECT_EQ(std::string::npos, r.body.find("[DONE]"));
}

TEST_F(HttpResponsesTest, AStreamedToolCallArrivesWhole) {
  HttpResponse r = create(R"({"model":"fake/rich","input":"x","stream":true,)"
                          R"("tools":[{"type":"function","name":"f"}]})");
  ASSERT_EQ(200, r.status) << r.body;
  std::string arguments;
  for (const std::string& e : sseEvents(r.body)) {
    json::Document d = parseJsonText(e);
    if (strMember(d, "type") == "response.function_call_arguments.done") {
      arguments = strMember(d, "arguments");
    }
  }
  EXPECT_EQ("{\"x\":0}", arguments) << r.body;
}

TEST_F(HttpResponsesTest, WhatIsNotSupportedIsA400ThatNamesIt) {
  HttpResponse r = create(R"({"model":"fake/ok","input":"x","tools":[{"type":"web_search_preview"}]})");
  EXPECT_EQ(400, r.status);
  EXPECT_EQ("unsupported_parameter", strMember(parseJsonText(r.body)["error"], "code"));
  EXPECT_NE(std::string::npos, r.body.find("web_search_preview")) << r.body;
  HttpResponse unknown = create(R"({"model":"fake/ok","input":"x","conversation":"c1"})");
  EXPECT_EQ(400, unknown.status);
  EXPECT_NE(std::string::npos, unknown.body.find("conversation")) << unknown.body;
  HttpResponse prev = create(R"({"model":"fake/ok","input":"x","previous_response_id":"resp_j999999"})");
  EXPECT_EQ(404, prev.status) << prev.body;
  EXPECT_EQ("previous_response_not_found", strMember(parseJsonText(prev.body)["error"], "code"));
  EXPECT_EQ(0u, fake_.stats().total);
}

// Each turn of a conversation carries the ones before it: the whole must fit
// max_body_bytes (64 KiB here), as one request would.
TEST_F(HttpResponsesTest, AConversationPastTheBodyLimitIs413) {
  const std::string big(40000, 'a');
  HttpResponse first = create(R"({"model":"mock/echo","input":")" + big + R"("})");
  ASSERT_EQ(200, first.status) << first.body.substr(0, 200);
  HttpResponse second = create(R"({"model":"mock/echo","input":"more","previous_response_id":")" +
                               strMember(parseJsonText(first.body), "id") + R"("})");
  EXPECT_EQ(413, second.status) << second.body.substr(0, 300);
  EXPECT_EQ("request_too_large", strMember(parseJsonText(second.body)["error"], "code"));
}

}  // namespace
}  // namespace llmq::testing
