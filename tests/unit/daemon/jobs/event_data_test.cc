// Tests for daemon/jobs/event_data: each event's data object byte for byte, as
// ipc/PROTOCOL.md shows it and as llmqd wrote it by hand before JsonWriter.
#include "daemon/jobs/event_data.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::daemon::event_data {
namespace {

upstream::Completion completion() {
  upstream::Completion c;
  c.content = "hi \"there\"\n";
  c.finish_reason = "stop";
  c.model = "openai/gpt-4o-mini";
  c.provider = "openrouter";
  c.generation_id = "gen-1";
  c.usage = upstream::Usage{194, 37, 231, 5, 6, 7, 0.000123, true};
  return c;
}

TEST(EventDataTest, Started) {
  EXPECT_EQ(R"({"attempt":2,"model":"openai/gpt-4o","key_source":"server"})",
            started(2, "openai/gpt-4o", "server"));
}

TEST(EventDataTest, RetryingWithAndWithoutStatusAndFallback) {
  EXPECT_EQ(R"({"attempt":2,"delay_ms":1500,"reason":"circuit_open","upstream_status":null})",
            retrying(2, 1500, "circuit_open", 0, {}));
  EXPECT_EQ(R"({"attempt":3,"delay_ms":0,"reason":"fallback","upstream_status":503,"model":"b/m"})",
            retrying(3, 0, "fallback", 503, "b/m"));
}

TEST(EventDataTest, MessageChunkWithOnlyTextAndWithEverything) {
  upstream::StreamDelta d;
  d.content = "a\tb";
  EXPECT_EQ(R"({"delta":"a\tb","index":0})", messageChunk(d));
  d.index = 1;
  d.content = "";
  d.reasoning = "think";
  d.tool_calls_json = R"([{"id":"c1"}])";
  d.reasoning_details_json = R"([{"type":"x"}])";
  d.logprobs_json = R"({"content":null})";
  EXPECT_EQ(R"({"delta":"","index":1,"reasoning":"think","tool_calls":[{"id":"c1"}],)"
            R"("reasoning_details":[{"type":"x"}],"logprobs":{"content":null}})",
            messageChunk(d));
}

TEST(EventDataTest, UsageFreshAndCached) {
  const upstream::Completion c = completion();
  EXPECT_EQ(R"({"usage":{"prompt_tokens":194,"completion_tokens":37,"total_tokens":231,"cache_read":5,)"
            R"("cache_write":6,"reasoning_tokens":7},"cost_usd":0.000123,"model":"openai/gpt-4o-mini",)"
            R"("provider":"openrouter","id":"gen-1"})",
            usage(c, false));
  EXPECT_EQ(usage(c, false).substr(0, usage(c, false).size() - 1) + R"(,"cached":true})", usage(c, true));
}

TEST(EventDataTest, FinalResponseWithChoicesAndCached) {
  upstream::Completion c = completion();
  EXPECT_EQ(R"({"content":"hi \"there\"\n","finish_reason":"stop","model":"openai/gpt-4o-mini"})",
            finalResponse(c, false));
  c.choice_finishes_json = R"([{"index":1,"finish_reason":"length"}])";
  EXPECT_EQ(R"({"content":"hi \"there\"\n","finish_reason":"stop","model":"openai/gpt-4o-mini",)"
            R"("choices":[{"index":1,"finish_reason":"length"}],"cached":true})",
            finalResponse(c, true));
}

TEST(EventDataTest, ErrorWithStatusAndCoolingDown) {
  upstream::Failure f;
  f.code = "UPSTREAM_ERROR";
  f.message = "bad \"gateway\"";
  f.upstream_status = 502;
  EXPECT_EQ(R"({"code":"UPSTREAM_ERROR","message":"bad \"gateway\"","upstream_status":502,)"
            R"("retryable":true,"source":"upstream"})",
            error(f, true));
  f.code = "COOLING_DOWN";
  f.upstream_status = 0;
  f.source = "local";
  f.retry_after_ms = 2500;
  EXPECT_EQ(R"({"code":"COOLING_DOWN","message":"bad \"gateway\"","upstream_status":null,)"
            R"("retryable":false,"source":"local","retry_after_ms":2500})",
            error(f, false));
}

TEST(EventDataTest, BudgetAlertAndReason) {
  BudgetAlert a{"client:\"x\"", "day", 8.5, 10, 0.85};
  EXPECT_EQ(R"({"scope":"client:\"x\"","period":"day","spent_usd":8.5,"limit_usd":10,"fraction":0.85})",
            budgetAlert(a));
  EXPECT_EQ(R"({"reason":"the job's deadline_s passed"})", reason("the job's deadline_s passed"));
  EXPECT_EQ(R"({"reason":"line\nbreak"})", reason("line\nbreak"));
}

}  // namespace
}  // namespace llmq::daemon::event_data
