// Integration: a stream carries everything the non-streamed answer carries. The
// same request to the fake's `rich` model (reasoning text and details, logprobs,
// tool calls, n choices) is sent streamed and not through llmqd; the stream,
// assembled as an SDK assembles it, must equal the plain answer field by field:
// per choice its role, content, reasoning, reasoning_details, logprobs, tool
// calls and finish_reason, and the usage with its cost. Also the replay of a
// stored answer as a stream (an Idempotency-Key retry after a restart).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

// One choice as an SDK has it after a stream, or from a plain answer.
struct Choice {
  std::string role, content, reasoning, details_text, finish;
  bool content_null = true;
  std::vector<std::string> logprob_tokens;
  std::vector<std::string> tool_calls;  // "id|name|arguments"
  bool operator==(const Choice&) const = default;
};

std::ostream& operator<<(std::ostream& o, const Choice& c) {
  o << "{role=" << c.role << " content=" << (c.content_null ? "null" : c.content) << " reasoning=" << c.reasoning
    << " details=" << c.details_text << " finish=" << c.finish << " logprobs=" << c.logprob_tokens.size()
    << " tool_calls=";
  for (const auto& t : c.tool_calls) {
    o << t << ";";
  }
  return o << "}";
}

std::string str(const json::Value& v, const char* name) { return strMember(v, name); }

std::map<int, Choice> fromPlain(const json::Value& answer) {
  std::map<int, Choice> out;
  for (const auto& ch : answer["choices"].GetArray()) {
    Choice c;
    const json::Value& m = ch["message"];
    c.role = str(m, "role");
    c.content_null = !m["content"].IsString();
    c.content = str(m, "content");
    c.reasoning = str(m, "reasoning");
    if (const json::Value* d = json::member(m, "reasoning_details"); d != nullptr && d->IsArray()) {
      for (const auto& part : d->GetArray()) {
        c.details_text += str(part, "text");
      }
    }
    c.finish = str(ch, "finish_reason");
    if (const json::Value* lp = json::member(ch, "logprobs"); lp != nullptr && lp->IsObject()) {
      for (const auto& t : (*lp)["content"].GetArray()) {
        c.logprob_tokens.push_back(str(t, "token"));
      }
    }
    if (const json::Value* tc = json::member(m, "tool_calls"); tc != nullptr && tc->IsArray()) {
      for (const auto& t : tc->GetArray()) {
        c.tool_calls.push_back(str(t, "id") + "|" + str(t["function"], "name") + "|" +
                               str(t["function"], "arguments"));
      }
    }
    out[ch["index"].GetInt()] = c;
  }
  return out;
}

struct Assembled {
  std::map<int, Choice> choices;
  std::map<int, int> role_chunks;  // How many chunks of each choice said its role.
  json::Document usage;
  bool done = false;
};

Assembled fromStream(const std::string& body) {
  Assembled a;
  std::map<int, std::map<int, std::vector<std::string>>> calls;  // choice -> call index -> id,name,args
  for (const std::string& e : sseEvents(body)) {
    if (e == "[DONE]") {
      a.done = true;
      continue;
    }
    json::Document d = parseJsonText(e);
    if (d.HasMember("usage") && d["usage"].IsObject()) {
      a.usage.CopyFrom(d["usage"], a.usage.GetAllocator());
    }
    for (const auto& ch : d["choices"].GetArray()) {
      const int i = ch["index"].GetInt();
      Choice& c = a.choices[i];
      const json::Value& delta = ch["delta"];
      if (!str(delta, "role").empty()) {
        c.role = str(delta, "role");
        ++a.role_chunks[i];
      }
      if (delta.HasMember("content") && delta["content"].IsString()) {
        c.content += str(delta, "content");
      }
      c.reasoning += str(delta, "reasoning");
      if (const json::Value* rd = json::member(delta, "reasoning_details"); rd != nullptr && rd->IsArray()) {
        for (const auto& part : rd->GetArray()) {
          c.details_text += str(part, "text");
        }
      }
      if (const json::Value* lp = json::member(ch, "logprobs"); lp != nullptr && lp->IsObject()) {
        for (const auto& t : (*lp)["content"].GetArray()) {
          c.logprob_tokens.push_back(str(t, "token"));
        }
      }
      if (const json::Value* tc = json::member(delta, "tool_calls"); tc != nullptr && tc->IsArray()) {
        for (const auto& t : tc->GetArray()) {
          auto& call = calls[i][t["index"].GetInt()];
          call.resize(3);
          call[0] += str(t, "id");
          if (const json::Value* f = json::member(t, "function")) {
            call[1] += str(*f, "name");
            call[2] += str(*f, "arguments");
          }
        }
      }
      if (!str(ch, "finish_reason").empty()) {
        c.finish = str(ch, "finish_reason");
      }
    }
  }
  for (auto& [i, c] : a.choices) {
    c.content_null = c.content.empty() && !calls[i].empty();  // A tool-call answer has no content.
    for (auto& [k, call] : calls[i]) {
      c.tool_calls.push_back(call[0] + "|" + call[1] + "|" + call[2]);
    }
  }
  return a;
}

class HttpStreamFieldsTest : public HttpFrontFixture {
 protected:
  // The same request, plain and streamed; both answers.
  std::pair<json::Document, Assembled> both(const std::string& extra) {
    HttpResponse plain = post(chat("fake/rich", "alpha beta gamma", extra));
    EXPECT_EQ(200, plain.status) << plain.body;
    HttpResponse streamed = post(
        chat("fake/rich", "alpha beta gamma", extra + R"(,"stream":true,"stream_options":{"include_usage":true})"));
    EXPECT_EQ(200, streamed.status) << streamed.body;
    return {parseJsonText(plain.body), fromStream(streamed.body)};
  }
  static void expectSame(const json::Document& plain, const Assembled& s) {
    const std::map<int, Choice> want = fromPlain(plain);
    ASSERT_EQ(want.size(), s.choices.size());
    for (const auto& [i, c] : want) {
      EXPECT_EQ(c, s.choices.at(i)) << "choice " << i;
      EXPECT_EQ(1, s.role_chunks.contains(i) ? s.role_chunks.at(i) : 0) << "choice " << i << " says its role once";
    }
    EXPECT_TRUE(s.done);
  }
};

TEST_F(HttpStreamFieldsTest, ReasoningTextAndDetailsAreStreamed) {
  auto [plain, s] = both("");
  expectSame(plain, s);
  EXPECT_FALSE(s.choices.at(0).reasoning.empty());
  EXPECT_FALSE(s.choices.at(0).details_text.empty());
}

TEST_F(HttpStreamFieldsTest, LogprobsAreStreamed) {
  auto [plain, s] = both(R"(,"logprobs":true)");
  expectSame(plain, s);
  EXPECT_FALSE(s.choices.at(0).logprob_tokens.empty());
}

TEST_F(HttpStreamFieldsTest, EachOfSeveralChoicesHasItsRoleAndItsFinishReason) {
  auto [plain, s] = both(R"(,"n":3)");
  expectSame(plain, s);
  ASSERT_EQ(3u, s.choices.size());
  EXPECT_EQ("length", s.choices.at(1).finish);  // Choice 1's own reason, not choice 0's.
}

TEST_F(HttpStreamFieldsTest, ToolCallsAreStreamed) {
  auto [plain, s] = both(R"(,"tools":[{"type":"function","function":{"name":"lookup","parameters":{}}}])");
  expectSame(plain, s);
  ASSERT_EQ(1u, s.choices.at(0).tool_calls.size());
  EXPECT_EQ("call_0|lookup|{\"x\":0}", s.choices.at(0).tool_calls[0]);
}

TEST_F(HttpStreamFieldsTest, TheLastChunkCarriesTheUsageWithItsCost) {
  auto [plain, s] = both("");
  ASSERT_TRUE(s.usage.IsObject());
  ASSERT_TRUE(s.usage.HasMember("cost")) << json::toString(s.usage);
  EXPECT_DOUBLE_EQ(plain["usage"]["cost"].GetDouble(), s.usage["cost"].GetDouble());
  EXPECT_EQ(plain["usage"]["completion_tokens"].GetInt(), s.usage["completion_tokens"].GetInt());
}

// The case the docs recommend an Idempotency-Key for: the answer is stored, the
// client asks again for it as a stream (after a restart, or a timeout).
TEST_F(HttpStreamFieldsTest, AStoredToolCallAnswerReplayedAsAStreamKeepsEverything) {
  const std::string extra = R"(,"n":2,"logprobs":true,"tools":[{"type":"function","function":{"name":"f"}}])";
  HttpResponse plain = post(chat("fake/rich", "replay me", extra), {{"Idempotency-Key", "replay-1"}});
  ASSERT_EQ(200, plain.status) << plain.body;
  restart();
  const size_t upstream = fake_.stats().total;
  HttpResponse replay =
      post(chat("fake/rich", "replay me", extra + R"(,"stream":true)"), {{"Idempotency-Key", "replay-1"}});
  ASSERT_EQ(200, replay.status) << replay.body;
  EXPECT_EQ(upstream, fake_.stats().total) << "replayed, not run again";
  EXPECT_EQ(plain.header("x-llmq-job-id"), replay.header("x-llmq-job-id"));
  Assembled s = fromStream(replay.body);
  expectSame(parseJsonText(plain.body), s);
  EXPECT_EQ(2u, s.choices.size());
  EXPECT_EQ(1u, s.choices.at(1).tool_calls.size());
}

// The answer llmqd assembles from a stream and stores is the whole answer: a
// later non-streamed request for it (the same Idempotency-Key) gets everything
// the stream carried.
TEST_F(HttpStreamFieldsTest, AStreamedAnswerIsStoredWithEverythingItCarried) {
  const std::string extra = R"(,"n":2,"logprobs":true)";
  HttpResponse streamed =
      post(chat("fake/rich", "store me", extra + R"(,"stream":true)"), {{"Idempotency-Key", "s-1"}});
  ASSERT_EQ(200, streamed.status) << streamed.body;
  HttpResponse stored = post(chat("fake/rich", "store me", extra), {{"Idempotency-Key", "s-1"}});
  ASSERT_EQ(200, stored.status) << stored.body;
  EXPECT_EQ(streamed.header("x-llmq-job-id"), stored.header("x-llmq-job-id"));
  expectSame(parseJsonText(stored.body), fromStream(streamed.body));
}

}  // namespace
}  // namespace llmq::testing
