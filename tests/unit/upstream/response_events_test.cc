// Tests for upstream::ResponseEventsDecoder: a streamed Responses call's events
// in any split give the text and reasoning deltas at once and the final
// Response's Completion; failures, malformed events, an unfinished stream and
// the caps on events and text.
#include "upstream/response_events.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmq::upstream {
namespace {

std::string event(const std::string& json) { return "event: x\ndata: " + json + "\n\n"; }

const std::string kStream =
    event(R"({"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}})") +
    event(R"({"type":"response.reasoning_summary_text.delta","delta":"thinking"})") +
    event(R"({"type":"response.output_text.delta","delta":"Hello"})") +
    event(R"({"type":"response.output_text.delta","delta":", world"})") +
    event(R"({"type":"response.output_item.done","item":{}})") +
    event(R"({"type":"response.completed","response":{"id":"r","status":"completed","model":"m",)"
          R"("output":[{"type":"message","content":[{"type":"output_text","text":"Hello, world"}]}],)"
          R"("usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5,"cost":0.5}}})");

TEST(ResponseEventsTest, DeltasArriveAsTheyComeAndTheFinalResponseIsTheOutcomeInAnySplit) {
  for (size_t step : {kStream.size(), size_t{1}, size_t{7}, size_t{64}}) {
    ResponseEventsDecoder d;
    std::string text;
    std::string reasoning;
    for (size_t i = 0; i < kStream.size(); i += step) {
      d.feed(std::string_view(kStream).substr(i, step), [&](const StreamDelta& delta) {
        text += delta.content;
        reasoning += delta.reasoning;
      });
    }
    EXPECT_EQ("Hello, world", text) << step;
    EXPECT_EQ("thinking", reasoning) << step;
    EXPECT_EQ("Hello, world", d.textSoFar());
    EXPECT_TRUE(d.decided());
    ChatOutcome o = d.finish();
    ASSERT_TRUE(std::holds_alternative<Completion>(o)) << step;
    const Completion& c = std::get<Completion>(o);
    EXPECT_EQ("Hello, world", c.content);
    EXPECT_EQ(3, c.usage.prompt_tokens);
    EXPECT_EQ(2, c.usage.completion_tokens);
    EXPECT_DOUBLE_EQ(0.5, c.usage.cost_usd);
    EXPECT_NE(std::string::npos, c.result_json.find("\"status\":\"completed\""));
  }
}

TEST(ResponseEventsTest, AFailedResponseOrAnErrorEventIsItsFailureWithWhatWasBilled) {
  ResponseEventsDecoder d;
  d.feed(event(R"({"type":"response.output_text.delta","delta":"x"})") +
             event(R"({"type":"response.failed","response":{"status":"failed","error":{"code":"server_error",)"
                   R"("message":"boom"},"usage":{"input_tokens":4,"output_tokens":1}}})"),
         nullptr);
  ChatOutcome o = d.finish();
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(o));
  EXPECT_EQ("boom", std::get<UpstreamError>(o).failure.message);
  ASSERT_TRUE(d.usage().has_value());
  EXPECT_EQ(4, d.usage()->prompt_tokens);

  ResponseEventsDecoder e;
  e.feed(event(R"({"type":"error","code":429,"message":"slow down"})"), nullptr);
  ChatOutcome eo = e.finish();
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(eo));
  EXPECT_EQ("RATE_LIMITED", std::get<UpstreamError>(eo).failure.code);
}

TEST(ResponseEventsTest, MalformedOrUnfinishedStreamsAreRetryableFailures) {
  for (const std::string& body :
       {event("not json"), event("[1]"), event(R"({"type":"response.output_text.delta","delta":"x"})"),
        event(R"({"type":"response.completed"})"), std::string("data: {\"type\":")}) {
    ResponseEventsDecoder d;
    d.feed(body, nullptr);
    ChatOutcome o = d.finish();
    ASSERT_TRUE(std::holds_alternative<UpstreamError>(o)) << body;
    EXPECT_EQ("UPSTREAM_ERROR", std::get<UpstreamError>(o).failure.code) << body;
    EXPECT_TRUE(std::get<UpstreamError>(o).failure.retryable) << body;
  }
}

TEST(ResponseEventsTest, EventsAfterTheOutcomeAreIgnored) {
  ResponseEventsDecoder d;
  std::string text;
  EXPECT_FALSE(d.feed(kStream + event(R"({"type":"response.output_text.delta","delta":"late"})"),
                      [&](const StreamDelta& delta) { text += delta.content; }));
  EXPECT_EQ("Hello, world", text);
  EXPECT_FALSE(d.feed(event(R"({"type":"response.output_text.delta","delta":"later"})"), nullptr));
}

TEST(ResponseEventsTest, AnEventOrTextPastItsCapIsTooLargeAndNotRetried) {
  ResponseEventsDecoder big_event(false, 1024, 1 << 20);
  big_event.feed("data: " + std::string(4096, 'x'), nullptr);
  EXPECT_TRUE(big_event.tooLarge());
  ChatOutcome o = big_event.finish();
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(o));
  EXPECT_EQ("RESPONSE_TOO_LARGE", std::get<UpstreamError>(o).failure.code);
  EXPECT_FALSE(std::get<UpstreamError>(o).failure.retryable);

  ResponseEventsDecoder much_text(false, 1 << 20, 10);
  size_t delivered = 0;
  for (int i = 0; i < 5; ++i) {
    much_text.feed(event(R"({"type":"response.output_text.delta","delta":"abcd"})"),
                   [&](const StreamDelta& d) { delivered += d.content.size(); });
  }
  EXPECT_TRUE(much_text.tooLarge());
  EXPECT_LE(delivered, 10u);
  ChatOutcome t = much_text.finish();
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(t));
  EXPECT_EQ("RESPONSE_TOO_LARGE", std::get<UpstreamError>(t).failure.code);
}

}  // namespace
}  // namespace llmq::upstream
