// Integration: structured output on a real llmqd against the fake upstream
// (docs/http-api.md, "Structured output"). The fake answers the user's words,
// so a message `{"a":1}` with max_tokens 1 is answered `{"a":1}`, and with
// max_tokens 2 `{"a":1} {"a":1}`, which is not JSON. An answer that matches
// succeeds; one that does not is a failed, billed attempt, tried again up to
// [retry] schema_attempts, then the job fails SCHEMA_MISMATCH; a schema llmqd
// will not run is refused at submit.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-test5c1e9a0b7d2f4e6c8a0b1c2d3e4f5a6b7c8d9e0f1a2b";

class StructuredOutputTest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startFake());
    launchDaemon(
        {.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\nschema_attempts = 2\n", .extra_env = fakeEnv(kKey)});
  }

  // Submits `{"a":1}` as the user's message with `request_extra` in the request.
  std::string submitJson(const std::string& request_extra) {
    json::Document r = callOk(*client_, "job.submit",
                              R"({"request":{"model":"openai/gpt-4o-mini","messages":[{"role":"user",)"
                              R"("content":"{\"a\":1}"}])" +
                                  request_extra + "}}");
    return r.IsObject() && r.HasMember("job_id") ? r["job_id"].GetString() : "";
  }
};

// A strict json_schema response_format whose `a` must be of `type`.
std::string schemaWanting(const std::string& type) {
  return R"(,"response_format":{"type":"json_schema","json_schema":{"name":"a","strict":true,"schema":)"
         R"({"type":"object","properties":{"a":{"type":")" +
         type + R"("}},"required":["a"],"additionalProperties":false}}})";
}

TEST_F(StructuredOutputTest, AnAnswerThatMatchesItsSchemaSucceeds) {
  const std::string id = submitJson(",\"max_tokens\":1" + schemaWanting("integer"));
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  json::Document j = job(id);
  EXPECT_STREQ(R"({"a":1})", j["result"]["choices"][0]["message"]["content"].GetString());
  EXPECT_EQ(1, j["attempts"].GetInt());
  EXPECT_EQ(1u, fake_.requests().size());
}

TEST_F(StructuredOutputTest, AnAnswerThatKeepsMissingItsSchemaFailsAfterBillingEveryAttempt) {
  const std::string id = submitJson(",\"max_tokens\":1" + schemaWanting("string"));
  ASSERT_EQ("failed", waitTerminal(*client_, id));
  json::Document j = job(id);
  EXPECT_STREQ("SCHEMA_MISMATCH", j["error"]["code"].GetString());
  EXPECT_STREQ("<root>[a]: Value type not permitted by 'type' constraint.", j["error"]["message"].GetString());
  EXPECT_EQ(2, j["attempts"].GetInt());  // [retry] schema_attempts, below max_attempts (4).
  EXPECT_EQ(2u, fake_.requests().size());
  // Both answers were paid for: 1 prompt and 1 completion token each, at the
  // fake's prices (1e-6 and 2e-6 per token).
  json::Document report = callOk(*client_, "usage.report", "{}");
  EXPECT_EQ(2, report["totals"]["requests"].GetInt());
  EXPECT_NEAR(2 * (1e-6 + 2e-6), report["totals"]["cost_usd"].GetDouble(), 1e-12);
}

TEST_F(StructuredOutputTest, AStreamedAnswerIsCheckedWhenItEnds) {
  const std::string ok = submitJson(R"(,"max_tokens":1,"stream":true,"response_format":{"type":"json_object"})");
  ASSERT_EQ("succeeded", waitTerminal(*client_, ok));
  // Two words: `{"a":1} {"a":1}` is not one JSON value.
  const std::string bad = submitJson(R"(,"max_tokens":2,"stream":true,"response_format":{"type":"json_object"})");
  ASSERT_EQ("failed", waitTerminal(*client_, bad));
  json::Document j = job(bad);
  EXPECT_STREQ("SCHEMA_MISMATCH", j["error"]["code"].GetString());
  EXPECT_EQ(0u, std::string(j["error"]["message"].GetString()).rfind("the answer is not JSON: ", 0))
      << j["error"]["message"].GetString();
  EXPECT_EQ(3u, fake_.requests().size());
}

TEST_F(StructuredOutputTest, AHostileSchemaIsRefusedAtSubmit) {
  std::string message;
  const int code =
      callError(*client_, "job.submit",
                R"({"request":{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"x"}],)"
                R"("response_format":{"type":"json_schema","json_schema":{"name":"a","strict":true,)"
                R"("schema":{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},)"
                R"("$ref":"#/definitions/a"}}}}})",
                &message);
  EXPECT_EQ(-32602, code);
  EXPECT_NE(std::string::npos, message.find("recursion")) << message;
  EXPECT_EQ(0u, fake_.requests().size());
  expectServing();
}

}  // namespace
}  // namespace llmq::testing
