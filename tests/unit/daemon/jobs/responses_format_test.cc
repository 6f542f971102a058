// Tests for daemon/jobs/responses_format: Responses requests as chat-completions
// requests, chat completions as Response objects, and what is refused by name.
#include "daemon/jobs/responses_format.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::daemon::responses {
namespace {

json::Document parse(std::string_view text) {
  json::Document d;
  std::string error;
  EXPECT_TRUE(json::parse(d, text, &error)) << error << " in " << text;
  return d;
}

std::string chat(std::string_view request, std::string_view previous = {}) {
  json::Document r = parse(request);
  auto out = toChatRequest(r, previous);
  EXPECT_TRUE(out) << (out ? "" : out.error().message);
  return out ? *out : std::string();
}

std::string refusal(std::string_view request) {
  json::Document r = parse(request);
  auto out = toChatRequest(r);
  EXPECT_FALSE(out) << *out;
  return out ? std::string() : out.error().message;
}

TEST(ResponsesFormatTest, AStringInputAndInstructions) {
  EXPECT_EQ(R"({"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]})",
            chat(R"({"model":"m","instructions":"be brief","input":"hi"})"));
}

TEST(ResponsesFormatTest, MessagesWithTextAndImagePartsAndTheDeveloperRole) {
  EXPECT_EQ(R"({"model":"m","messages":[{"role":"system","content":"rules"},)"
            R"({"role":"user","content":[{"type":"text","text":"what is this"},)"
            R"({"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},)"
            R"({"role":"assistant","content":[{"type":"text","text":"a cat"}]}]})",
            chat(R"({"model":"m","input":[{"role":"developer","content":"rules"},)"
                 R"({"type":"message","role":"user","content":[{"type":"input_text","text":"what is this"},)"
                 R"({"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},)"
                 R"({"role":"assistant","content":[{"type":"output_text","text":"a cat"}]}]})"));
}

TEST(ResponsesFormatTest, FunctionCallsAndTheirOutputs) {
  EXPECT_EQ(
      R"({"model":"m","messages":[{"role":"user","content":"weather?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[)"
      R"({"id":"c1","type":"function","function":{"name":"w","arguments":"{\"city\":\"a\"}"}},)"
      R"({"id":"c2","type":"function","function":{"name":"w","arguments":"{}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"sunny"},)"
      R"({"role":"tool","tool_call_id":"c2","content":"rain"}],)"
      R"("tools":[{"type":"function","function":{"name":"w","description":"weather","parameters":{"type":"object"}}}],)"
      R"("tool_choice":{"type":"function","function":{"name":"w"}}})",
      chat(R"({"model":"m","input":[{"role":"user","content":"weather?"},)"
           R"({"type":"function_call","call_id":"c1","name":"w","arguments":"{\"city\":\"a\"}"},)"
           R"({"type":"function_call","call_id":"c2","name":"w","arguments":"{}"},)"
           R"({"type":"function_call_output","call_id":"c1","output":"sunny"},)"
           R"({"type":"function_call_output","call_id":"c2","output":"rain"},)"
           R"({"type":"reasoning","id":"rs_1","summary":[]}],)"
           R"("tools":[{"type":"function","name":"w","description":"weather","parameters":{"type":"object"}}],)"
           R"("tool_choice":{"type":"function","name":"w"}})"));
}

TEST(ResponsesFormatTest, StructuredOutputAndTheOtherSettings) {
  EXPECT_EQ(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
      R"("response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object"},"strict":true}},)"
      R"("max_tokens":50,"temperature":0.5,"stream":true})",
      chat(R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"p",)"
           R"("schema":{"type":"object"},"strict":true}},"max_output_tokens":50,"temperature":0.5,)"
           R"("stream":true,"store":false,"metadata":{"a":"b"}})"));
  EXPECT_EQ(R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})",
            chat(R"({"model":"m","input":"x","text":{"format":{"type":"json_object"}}})"));
  EXPECT_EQ(R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
            chat(R"({"model":"m","input":"x","text":{"format":{"type":"text"}}})"));
}

TEST(ResponsesFormatTest, APreviousConversationComesFirstWithoutItsInstructions) {
  EXPECT_EQ(
      R"({"model":"m","messages":[{"role":"system","content":"new"},{"role":"user","content":"a"},)"
      R"({"role":"assistant","content":"b"},{"role":"user","content":"c"}]})",
      chat(
          R"({"model":"m","instructions":"new","input":"c","previous_response_id":"resp_j1"})",
          R"([{"role":"system","content":"old"},{"role":"user","content":"a"},{"role":"assistant","content":"b"}])"));
}

TEST(ResponsesFormatTest, WhatIsNotSupportedIsRefusedByName) {
  EXPECT_NE(std::string::npos,
            refusal(R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})").find("web_search"));
  EXPECT_NE(std::string::npos, refusal(R"({"model":"m","input":"x","prompt":{"id":"p"}})").find("\"prompt\""));
  EXPECT_NE(std::string::npos,
            refusal(R"({"model":"m","input":[{"type":"input_file","file_id":"f"}]})").find("input_file"));
  EXPECT_NE(std::string::npos,
            refusal(R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})")
                .find("file_id"));
  EXPECT_NE(std::string::npos, refusal(R"({"model":"m"})").find("input"));
  EXPECT_NE(std::string::npos, refusal(R"({"model":"m","input":42})").find("input"));
  EXPECT_NE(std::string::npos, refusal(R"({"model":"m","input":[{"role":"tool","content":"x"}]})").find("tool"));
  EXPECT_NE(std::string::npos,
            refusal(R"({"model":"m","input":"x","text":{"format":{"type":"grammar"}}})").find("grammar"));
}

TEST(ResponsesFormatTest, AChatCompletionBecomesAResponse) {
  json::Document completion = parse(
      R"({"id":"gen-1","object":"chat.completion","model":"openai/gpt-4o","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"hello","reasoning":"thought",)"
      R"("tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
      R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,)"
      R"("prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":3},"cost":0.001}})");
  json::Document request = parse(R"({"model":"openai/gpt-4o","input":"hi","instructions":"be nice"})");
  json::Document r = parse(fromChatCompletion(completion, "j7", 1700000000, request));
  EXPECT_STREQ("resp_j7", r["id"].GetString());
  EXPECT_STREQ("response", r["object"].GetString());
  EXPECT_EQ(1700000000, r["created_at"].GetInt64());
  EXPECT_STREQ("completed", r["status"].GetString());
  EXPECT_STREQ("openai/gpt-4o", r["model"].GetString());
  EXPECT_STREQ("be nice", r["instructions"].GetString());
  ASSERT_EQ(3u, r["output"].Size());
  EXPECT_STREQ("message", r["output"][0]["type"].GetString());
  EXPECT_STREQ("output_text", r["output"][0]["content"][0]["type"].GetString());
  EXPECT_STREQ("hello", r["output"][0]["content"][0]["text"].GetString());
  EXPECT_STREQ("function_call", r["output"][1]["type"].GetString());
  EXPECT_STREQ("c1", r["output"][1]["call_id"].GetString());
  EXPECT_STREQ("f", r["output"][1]["name"].GetString());
  EXPECT_STREQ("reasoning", r["output"][2]["type"].GetString());
  EXPECT_STREQ("thought", r["output"][2]["summary"][0]["text"].GetString());
  EXPECT_EQ(5, r["usage"]["input_tokens"].GetInt());
  EXPECT_EQ(2, r["usage"]["input_tokens_details"]["cached_tokens"].GetInt());
  EXPECT_EQ(7, r["usage"]["output_tokens"].GetInt());
  EXPECT_EQ(3, r["usage"]["output_tokens_details"]["reasoning_tokens"].GetInt());
  EXPECT_EQ(12, r["usage"]["total_tokens"].GetInt());
}

TEST(ResponsesFormatTest, ACutAnswerIsIncomplete) {
  json::Document completion = parse(
      R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hel"},"finish_reason":"length"}]})");
  json::Document request = parse(R"({"model":"m","input":"hi","max_output_tokens":1})");
  json::Document r = parse(fromChatCompletion(completion, "j1", 1, request));
  EXPECT_STREQ("incomplete", r["status"].GetString());
  EXPECT_STREQ("max_output_tokens", r["incomplete_details"]["reason"].GetString());
  EXPECT_EQ(1, r["max_output_tokens"].GetInt());
}

TEST(ResponsesFormatTest, ResponseIdsAreJobIds) {
  EXPECT_EQ("resp_j12", responseId("j12"));
  EXPECT_EQ("j12", jobIdOf("resp_j12").value_or(""));
  EXPECT_FALSE(jobIdOf("resp_"));
  EXPECT_FALSE(jobIdOf("j12"));
  EXPECT_FALSE(jobIdOf("resp_" + std::string(100, '1')));
}

}  // namespace
}  // namespace llmq::daemon::responses

namespace llmq::daemon::responses {
namespace {

// ---- native Responses: normalizeResponse, previousInput, withInputBefore -------

TEST(NormalizeResponseTest, TheIdNamesTheJobAndTheMessageComesFirstInOnePart) {
  json::Document upstream =
      parse(R"({"id":"resp_up","object":"response","status":"completed","model":"m","output":[)"
            R"({"type":"reasoning","id":"rs_1","summary":[]},)"
            R"({"type":"message","id":"msg_up","role":"assistant","content":[{"type":"output_text","text":"one "},)"
            R"({"type":"refusal","refusal":"no"},{"type":"output_text","text":"two"}]},)"
            R"({"type":"function_call","id":"fc_1","call_id":"c","name":"f","arguments":"{}"}],)"
            R"("usage":{"input_tokens":1},"extra":{"kept":true}})");
  json::Document request = parse(R"({"model":"m","input":"x"})");
  json::Document out = parse(normalizeResponse(upstream, "j000000000007", request));
  EXPECT_EQ("resp_j000000000007", std::string(out["id"].GetString()));
  ASSERT_EQ(3u, out["output"].Size());
  EXPECT_EQ("msg_j000000000007", std::string(out["output"][0]["id"].GetString()));
  ASSERT_EQ(1u, out["output"][0]["content"].Size());
  EXPECT_EQ("one two", std::string(out["output"][0]["content"][0]["text"].GetString()));
  EXPECT_EQ("function_call", std::string(out["output"][1]["type"].GetString()));
  EXPECT_EQ("reasoning", std::string(out["output"][2]["type"].GetString()));
  EXPECT_TRUE(out["extra"]["kept"].GetBool());
  EXPECT_EQ(1, out["usage"]["input_tokens"].GetInt());
  EXPECT_EQ(nullptr, json::member(out, "previous_response_id"));
}

TEST(NormalizeResponseTest, ThePreviousResponseIdIsTheRequestsAndAResponseWithoutOutputGetsOne) {
  json::Document upstream = parse(R"({"id":"x","status":"completed","previous_response_id":null})");
  json::Document request = parse(R"({"previous_response_id":"resp_j1","input":"x"})");
  json::Document out = parse(normalizeResponse(upstream, "j2", request));
  EXPECT_EQ("resp_j1", std::string(out["previous_response_id"].GetString()));
  ASSERT_TRUE(out["output"].IsArray());
  EXPECT_TRUE(out["output"].Empty());
}

TEST(PreviousInputTest, AResponsesJobGivesItsInputAndItsOutputWithoutReasoning) {
  json::Document job =
      parse(R"({"state":"succeeded","kind":"responses","request":{"model":"m","input":"find it"},)"
            R"("result":{"output":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},)"
            R"({"type":"reasoning","id":"rs","summary":[]}]}})");
  auto items = previousInput(job);
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(
      R"([{"role":"user","content":"find it"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}])",
      *items);
  json::Document list =
      parse(R"({"state":"succeeded","kind":"responses","request":{"input":[{"role":"user","content":"a"}]},)"
            R"("result":{"output":[]}})");
  auto list_items = previousInput(list);
  ASSERT_TRUE(list_items);
  EXPECT_EQ(R"([{"role":"user","content":"a"}])", *list_items);
}

TEST(PreviousInputTest, AChatJobGivesItsMessagesAndAnswerAsItemsWithoutSystemMessages) {
  json::Document job = parse(
      R"({"state":"succeeded","kind":"chat","request":{"messages":[{"role":"system","content":"s"},)"
      R"({"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:x"}}]},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"42"}]},)"
      R"("result":{"choices":[{"message":{"role":"assistant","content":"done"}}]}})");
  auto items = previousInput(job);
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(
      R"([{"role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:x"}]},)"
      R"({"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},)"
      R"({"type":"function_call_output","call_id":"c1","output":"42"},)"
      R"({"role":"assistant","content":"done"}])",
      *items);
  // And they read back as the same chat conversation.
  json::Document again = parse(withInputBefore(parse(R"({"model":"m","input":"next"})"), *items));
  EXPECT_EQ(
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"look"},)"
      R"({"type":"image_url","image_url":{"url":"data:x"}}]},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},)"
      R"({"role":"tool","tool_call_id":"c1","content":"42"},{"role":"assistant","content":"done"},)"
      R"({"role":"user","content":"next"}]})",
      chat(json::toString(again)));
}

TEST(PreviousInputTest, MessagesWithoutContentAreReadAsEmpty) {
  // job.submit checks a chat message's role only (found by fuzz_responses).
  json::Document job = parse(R"({"state":"succeeded","kind":"chat","request":{"messages":[{"role":"user"},)"
                             R"({"role":"tool","tool_call_id":"c"},{"role":"user","content":null}]},"result":{}})");
  auto items = previousInput(job);
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(R"([{"role":"user","content":""},{"type":"function_call_output","call_id":"c","output":""},)"
            R"({"role":"user","content":""}])",
            *items);
}

TEST(PreviousInputTest, AJobThatDidNotSucceedOrWasPrunedIsNoPreviousResponse) {
  for (const char* job : {R"({"state":"failed","kind":"responses","request":{"input":"x"},"result":null})",
                          R"({"state":"succeeded","kind":"responses","result":{"output":[]}})",
                          R"({"state":"succeeded","kind":"chat","request":{"model":"m"},"result":{}})",
                          R"({"state":"succeeded","kind":"embedding","request":{"input":"x"},"result":{}})"}) {
    EXPECT_FALSE(previousInput(parse(job))) << job;
  }
}

TEST(WithInputBeforeTest, ItemsGoBeforeTheRequestsOwnInputWhateverItsShape) {
  const std::string items = R"([{"role":"user","content":"a"}])";
  EXPECT_EQ(R"({"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"stream":true})",
            withInputBefore(parse(R"({"model":"m","input":"b","stream":true})"), items));
  EXPECT_EQ(
      R"({"input":[{"role":"user","content":"a"},{"type":"function_call_output","call_id":"c","output":"1"}]})",
      withInputBefore(parse(R"({"input":[{"type":"function_call_output","call_id":"c","output":"1"}]})"), items));
  EXPECT_EQ(R"({"model":"m","input":[{"role":"user","content":"a"}]})",
            withInputBefore(parse(R"({"model":"m"})"), items));
  EXPECT_EQ(R"({"input":[{"role":"user","content":"a"}]})", withInputBefore(parse(R"({"input":[]})"), items));
  EXPECT_EQ(R"({"input":[{"role":"user","content":"b"}]})", withInputBefore(parse(R"({"input":"b"})"), "[]"));
}

}  // namespace
}  // namespace llmq::daemon::responses
