// Integration: structured output through the OpenAI-compatible front, against
// the fake upstream (docs/http-api.md, "Structured output"): an answer that
// matches its schema is a 200; one that keeps missing it is a 502
// `schema_mismatch` after [retry] schema_attempts (3) billed attempts; a schema
// llmqd will not run is a 400 `schema_refused` that reaches no upstream.
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpStructuredOutputTest : public HttpFrontFixture {
 protected:
  // The fake answers the user's words: `{"a":1}` with max_tokens 1 is answered `{"a":1}`.
  static std::string wanting(const std::string& type) {
    return chat("openai/gpt-4o-mini", R"({\"a\":1})",
                R"(,"max_tokens":1,"response_format":{"type":"json_schema","json_schema":{"name":"a",)"
                R"("strict":true,"schema":{"type":"object","properties":{"a":{"type":")" +
                    type + R"("}},"required":["a"]}}})");
  }
};

TEST_F(HttpStructuredOutputTest, AMatchingAnswerIsA200) {
  HttpResponse r = post(wanting("integer"));
  ASSERT_EQ(200, r.status) << r.body;
  json::Document answer = parseJsonText(r.body);
  EXPECT_STREQ(R"({"a":1})", answer["choices"][0]["message"]["content"].GetString());
  EXPECT_EQ(1u, fake_.stats().total);
}

TEST_F(HttpStructuredOutputTest, AnAnswerThatKeepsMissingItsSchemaIsA502SchemaMismatch) {
  HttpResponse r = post(wanting("string"));
  ASSERT_EQ(502, r.status) << r.body;
  json::Document answer = parseJsonText(r.body);
  EXPECT_EQ("schema_mismatch", strMember(answer["error"], "code")) << r.body;
  EXPECT_NE(std::string::npos, strMember(answer["error"], "message").find("<root>[a]")) << r.body;
  EXPECT_EQ(3u, fake_.stats().total);  // [retry] schema_attempts, by default.
  json::Document report = callOk(*client_, "usage.report", "{}");
  EXPECT_EQ(3, report["totals"]["requests"].GetInt());
}

TEST_F(HttpStructuredOutputTest, ARemoteRefIsRefusedWithA400) {
  HttpResponse r = post(chat("openai/gpt-4o-mini", "x",
                             R"(,"response_format":{"type":"json_schema","json_schema":{"name":"a",)"
                             R"("strict":true,"schema":{"$ref":"http://127.0.0.1:1/schema.json"}}})"));
  ASSERT_EQ(400, r.status) << r.body;
  EXPECT_EQ("schema_refused", strMember(parseJsonText(r.body)["error"], "code")) << r.body;
  EXPECT_EQ(0u, fake_.stats().total);
}

}  // namespace
}  // namespace llmq::testing
