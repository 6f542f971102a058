// Integration: the fake OpenRouter upstream itself (tests/fake_upstream), through
// FakeUpstream and its raw HTTP client, so the daemon's HTTP-path tests can trust
// what it sends: response shapes, keep-alive, every fault, fail-N, recording,
// concurrency and client-disconnect detection.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

std::string chatBody(const std::string& model, const std::string& content, bool stream = false,
                     int max_tokens = -1) {
  std::string body = "{\"model\":";
  json::appendString(body, model);
  body += ",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":";
  json::appendString(body, content);
  body += "}]";
  if (stream) {
    body += ",\"stream\":true";
  }
  if (max_tokens >= 0) {
    body += ",\"max_tokens\":" + std::to_string(max_tokens);
  }
  return body + "}";
}

bool parseInto(json::Document& doc, const std::string& text) {
  std::string error;
  bool ok = json::parse(doc, text, &error);
  EXPECT_TRUE(ok) << error << ": " << text;
  return ok;
}

// The SSE events of a stream body, split on blank lines.
std::vector<std::string> sseEvents(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t end; (end = body.find("\n\n", pos)) != std::string::npos; pos = end + 2) {
    out.push_back(body.substr(pos, end - pos));
  }
  if (pos < body.size()) {
    out.push_back(body.substr(pos));
  }
  return out;
}

// The text streamed by data: chunks that parse, concatenated.
std::string streamedText(const std::vector<std::string>& events) {
  std::string text;
  for (const auto& e : events) {
    if (e.rfind("data: {", 0) != 0) {
      continue;
    }
    json::Document d;
    if (!json::parse(d, e.substr(6), nullptr) || !d["choices"].IsArray() || d["choices"].Empty()) {
      continue;
    }
    const json::Value* content = json::member(d["choices"][0]["delta"], "content");
    if (content != nullptr && content->IsString()) {
      text += content->GetString();
    }
  }
  return text;
}

class FakeUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake_.start()); }

  HttpResponse chat(const std::string& model, const std::string& content, bool stream = false,
                    const HttpHeaders& headers = {}, int max_tokens = -1) {
    return fake_.post(fake_.path("/chat/completions"), chatBody(model, content, stream, max_tokens), headers);
  }

  FakeUpstream fake_;
};

TEST_F(FakeUpstreamTest, BaseUrlHasThePrefix) {
  EXPECT_GT(fake_.port(), 0);
  EXPECT_EQ("http://127.0.0.1:" + std::to_string(fake_.port()) + "/api/v1", fake_.baseUrl());
}

TEST_F(FakeUpstreamTest, NonStreamBodyShapeAndCost) {
  HttpResponse r = chat("fake/ok", "hello there world", false, {{"Authorization", "Bearer sk-or-v1-abc"}}, 5);
  ASSERT_EQ(200, r.status) << r.body;
  ASSERT_TRUE(r.complete);
  EXPECT_EQ("application/json", r.header("Content-Type"));
  json::Document d;
  ASSERT_TRUE(parseInto(d, r.body));
  std::string id = d["id"].GetString();
  EXPECT_EQ(0u, id.rfind("gen-", 0));
  EXPECT_EQ(id, r.header("X-Generation-Id"));
  EXPECT_STREQ("chat.completion", d["object"].GetString());
  EXPECT_GT(d["created"].GetInt64(), 1700000000);
  EXPECT_STREQ("fake/ok", d["model"].GetString());
  EXPECT_STREQ("FakeProvider", d["provider"].GetString());
  const json::Value& choice = d["choices"][0];
  EXPECT_STREQ("assistant", choice["message"]["role"].GetString());
  EXPECT_STREQ("hello there world hello there", choice["message"]["content"].GetString());
  EXPECT_STREQ("stop", choice["finish_reason"].GetString());
  const json::Value& usage = d["usage"];
  // Prompt tokens are the words of every message: "be brief" + "hello there world".
  EXPECT_EQ(5, usage["prompt_tokens"].GetInt());
  EXPECT_EQ(5, usage["completion_tokens"].GetInt());
  EXPECT_EQ(10, usage["total_tokens"].GetInt());
  ASSERT_TRUE(usage["cost"].IsDouble());
  EXPECT_NEAR(5 * 0.000001 + 5 * 0.000002, usage["cost"].GetDouble(), 1e-12);
  EXPECT_EQ(0, usage["prompt_tokens_details"]["cached_tokens"].GetInt());
  EXPECT_EQ(0, usage["completion_tokens_details"]["reasoning_tokens"].GetInt());

  ASSERT_TRUE(fake_.waitForIdle(2000));  // t_end is set just after the last byte goes out.
  auto recs = fake_.requests();
  ASSERT_EQ(1u, recs.size());
  EXPECT_EQ("POST", recs[0].method);
  EXPECT_EQ("/api/v1/chat/completions", recs[0].path);
  EXPECT_EQ("Bearer sk-or-v1-abc", recs[0].header("authorization"));
  EXPECT_EQ(chatBody("fake/ok", "hello there world", false, 5), recs[0].body);
  EXPECT_EQ("fake/ok", recs[0].model);
  EXPECT_EQ(200, recs[0].status);
  EXPECT_EQ(1, recs[0].concurrency);
  EXPECT_FALSE(recs[0].disconnected);
  EXPECT_GT(recs[0].t, 0.0);
  EXPECT_GE(recs[0].t_end, recs[0].t);
}

TEST_F(FakeUpstreamTest, DefaultReplyIsEightWordsAndPathWithoutPrefixWorks) {
  HttpResponse r = fake_.post("/chat/completions", chatBody("openai/gpt-4o-mini", "one two"));
  ASSERT_EQ(200, r.status) << r.body;
  json::Document d;
  ASSERT_TRUE(parseInto(d, r.body));
  EXPECT_STREQ("one two one two one two one two", d["choices"][0]["message"]["content"].GetString());
  EXPECT_EQ(8, d["usage"]["completion_tokens"].GetInt());
  EXPECT_STREQ("openai/gpt-4o-mini", d["model"].GetString());
}

TEST_F(FakeUpstreamTest, StreamShape) {
  HttpResponse r = chat("fake/ok", "alpha beta gamma", true, {}, 4);
  ASSERT_EQ(200, r.status);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ("text/event-stream", r.header("content-type"));
  EXPECT_EQ("chunked", r.header("transfer-encoding"));
  std::string gen = r.header("x-generation-id");
  EXPECT_EQ(0u, gen.rfind("gen-", 0));
  // One HTTP chunk per SSE event.
  std::vector<std::string> events = sseEvents(r.body);
  ASSERT_EQ(r.chunks.size(), events.size());
  // comment, 4 words, finish, usage, [DONE]
  ASSERT_EQ(8u, events.size()) << r.body;
  EXPECT_EQ(": OPENROUTER PROCESSING", events[0]);
  EXPECT_EQ("data: [DONE]", events.back());
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    ASSERT_EQ(0u, events[i].rfind("data: {", 0)) << events[i];
    json::Document c;
    ASSERT_TRUE(parseInto(c, events[i].substr(6)));
    EXPECT_STREQ("chat.completion.chunk", c["object"].GetString());
    EXPECT_EQ(gen, c["id"].GetString());
    EXPECT_STREQ("fake/ok", c["model"].GetString());
    EXPECT_FALSE(c.HasMember("usage") && i < 6) << "usage only in the last chunk";
  }
  json::Document first;
  ASSERT_TRUE(parseInto(first, events[1].substr(6)));
  EXPECT_STREQ("assistant", first["choices"][0]["delta"]["role"].GetString());
  EXPECT_TRUE(first["choices"][0]["finish_reason"].IsNull());
  json::Document finish;
  ASSERT_TRUE(parseInto(finish, events[5].substr(6)));
  EXPECT_STREQ("stop", finish["choices"][0]["finish_reason"].GetString());
  json::Document usage;
  ASSERT_TRUE(parseInto(usage, events[6].substr(6)));
  ASSERT_TRUE(usage["choices"].IsArray());
  EXPECT_TRUE(usage["choices"].Empty());
  EXPECT_EQ(5, usage["usage"]["prompt_tokens"].GetInt());
  EXPECT_EQ(4, usage["usage"]["completion_tokens"].GetInt());
  EXPECT_EQ(9, usage["usage"]["total_tokens"].GetInt());
  EXPECT_NEAR(5 * 0.000001 + 4 * 0.000002, usage["usage"]["cost"].GetDouble(), 1e-12);
  EXPECT_EQ("alpha beta gamma alpha", streamedText(events));

  auto recs = fake_.requests();
  ASSERT_EQ(1u, recs.size());
  EXPECT_TRUE(recs[0].stream);
}

TEST_F(FakeUpstreamTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(fake_.port()));
  HttpResponse a = c.request("POST", fake_.path("/chat/completions"), chatBody("fake/ok", "one"));
  ASSERT_EQ(200, a.status);
  ASSERT_TRUE(a.complete);
  HttpResponse b = c.request("POST", fake_.path("/chat/completions"), chatBody("fake/ok", "two", true));
  ASSERT_EQ(200, b.status);
  ASSERT_TRUE(b.complete);
  EXPECT_NE(std::string::npos, b.body.find("data: [DONE]"));
  HttpResponse e = c.request("POST", fake_.path("/chat/completions"), chatBody("fake/fault-429", "x"));
  EXPECT_EQ(429, e.status);
  HttpResponse m = c.request("GET", fake_.path("/models"));
  ASSERT_EQ(200, m.status);
  EXPECT_FALSE(m.eof);
  EXPECT_TRUE(c.raw().empty());
  auto recs = fake_.requests();
  ASSERT_EQ(4u, recs.size());
  for (const auto& rec : recs) {
    EXPECT_EQ(recs[0].connection, rec.connection) << "a new connection for request " << rec.id;
  }
}

TEST_F(FakeUpstreamTest, ModelsListIsOpenRouterShaped) {
  HttpResponse r = fake_.get(fake_.path("/models"));
  ASSERT_EQ(200, r.status);
  json::Document d;
  ASSERT_TRUE(parseInto(d, r.body));
  const json::Value& data = d["data"];
  ASSERT_TRUE(data.IsArray());
  ASSERT_GE(data.Size(), 3u);
  bool found = false;
  for (const auto& m : data.GetArray()) {
    EXPECT_TRUE(m["id"].IsString());
    EXPECT_TRUE(m["name"].IsString());
    EXPECT_TRUE(m["context_length"].IsInt());
    EXPECT_TRUE(m["pricing"]["prompt"].IsString()) << "prices are strings, USD per token";
    EXPECT_TRUE(m["pricing"]["completion"].IsString());
    EXPECT_TRUE(m["top_provider"].IsObject());
    EXPECT_TRUE(m["architecture"].IsObject());
    if (std::string(m["id"].GetString()) == "openai/gpt-4o-mini") {
      found = true;
      EXPECT_EQ(128000, m["context_length"].GetInt());
      EXPECT_STREQ("0.00000015", m["pricing"]["prompt"].GetString());
      EXPECT_STREQ("0.0000006", m["pricing"]["completion"].GetString());
      EXPECT_STREQ("0", m["pricing"]["request"].GetString());
      EXPECT_STREQ("0.000000075", m["pricing"]["input_cache_read"].GetString());
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(200, fake_.get("/models").status) << "the unprefixed path works too";
}

TEST_F(FakeUpstreamTest, KeyEndpoint) {
  HttpResponse r = fake_.get(fake_.path("/key"), {{"Authorization", "Bearer sk-or-v1-test"}});
  ASSERT_EQ(200, r.status);
  json::Document d;
  ASSERT_TRUE(parseInto(d, r.body));
  EXPECT_STREQ("sk-or-v1-tes...", d["data"]["label"].GetString());
  EXPECT_DOUBLE_EQ(10.0, d["data"]["limit"].GetDouble());
  EXPECT_DOUBLE_EQ(1.25, d["data"]["usage"].GetDouble());
  EXPECT_DOUBLE_EQ(8.75, d["data"]["limit_remaining"].GetDouble());
  EXPECT_FALSE(d["data"]["is_free_tier"].GetBool());
  EXPECT_EQ(-1, d["data"]["rate_limit"]["requests"].GetInt());
  // Status faults apply to GET endpoints through the header.
  EXPECT_EQ(401, fake_.get(fake_.path("/key"), {{"X-Fake-Fault", "401"}}).status);
}

TEST_F(FakeUpstreamTest, GetRouteFaultsForClientsThatSendNoHeader) {
  // llmqd's own GET /models carries no X-Fake-Fault: the route's default fault
  // makes it fail, for `times` requests, leaving chat completions and other
  // routes alone.
  ASSERT_TRUE(fake_.setFault("500", 2, "/models"));
  EXPECT_EQ(200, chat("fake/ok", "hi").status) << "chat completions keep their own default";
  EXPECT_EQ(200, fake_.get(fake_.path("/key")).status);
  HttpResponse r = fake_.get(fake_.path("/models"));
  EXPECT_EQ(500, r.status);
  EXPECT_NE(std::string::npos, r.body.find("Internal Server Error"));
  EXPECT_EQ(200, fake_.get(fake_.path("/models"), {{"X-Fake-Fault", ""}}).status)
      << "an explicit (empty) header still wins";
  EXPECT_EQ(500, fake_.get(fake_.path("/models")).status);
  EXPECT_EQ(200, fake_.get(fake_.path("/models")).status) << "only `times` requests fail";

  ASSERT_TRUE(fake_.setFault("malformed", -1, "/models"));
  HttpResponse html = fake_.get(fake_.path("/models"));
  EXPECT_EQ(200, html.status);
  EXPECT_NE(std::string::npos, html.body.find("<html>"));
  ASSERT_TRUE(fake_.reset());
  EXPECT_EQ(200, fake_.get(fake_.path("/models")).status) << "reset clears route faults";

  HttpResponse bad = fake_.post("/_fake/fault", R"({"fault":"500","route":"/chat/completions"})");
  EXPECT_EQ(400, bad.status) << "only GET routes take a route fault";
}

struct StatusCase {
  const char* fault;
  int status;
  const char* message_part;
  const char* retry_after;  // nullptr: no Retry-After header.
};

TEST_F(FakeUpstreamTest, StatusFaultsViaModelAndHeader) {
  const StatusCase cases[] = {
      {"429", 429, "Rate limit exceeded", "2"},          {"429-0", 429, "Rate limit exceeded", "0"},
      {"429-bare", 429, "Rate limit exceeded", nullptr}, {"429-reset", 429, "Rate limit exceeded", nullptr},
      {"402", 402, "Insufficient credits", nullptr},     {"401", 401, "No auth credentials", nullptr},
      {"400", 400, "Invalid request", nullptr},          {"403", 403, "flagged by moderation", nullptr},
      {"404", 404, "No endpoints found for", nullptr},   {"408", 408, "timed out", nullptr},
      {"500", 500, "Internal Server Error", nullptr},    {"502", 502, "Provider returned error", nullptr},
      {"503", 503, "No available model provider", "2"},  {"503-1", 503, "No available model provider", "1"},
      {"418", 418, "Fake upstream error 418", nullptr},
  };
  for (const auto& c : cases) {
    for (bool via_header : {false, true}) {
      SCOPED_TRACE(std::string(c.fault) + (via_header ? " via header" : " via model"));
      HttpResponse r = via_header ? chat("fake/ok", "hi", false, {{"X-Fake-Fault", c.fault}})
                                  : chat(std::string("fake/fault-") + c.fault, "hi");
      ASSERT_EQ(c.status, r.status) << r.body;
      EXPECT_TRUE(r.complete);
      EXPECT_EQ("application/json", r.header("content-type"));
      json::Document d;
      ASSERT_TRUE(parseInto(d, r.body));
      EXPECT_EQ(c.status, d["error"]["code"].GetInt());
      EXPECT_NE(std::string::npos, std::string(d["error"]["message"].GetString()).find(c.message_part)) << r.body;
      if (c.retry_after != nullptr) {
        EXPECT_EQ(c.retry_after, r.header("retry-after"));
      } else {
        EXPECT_FALSE(r.hasHeader("retry-after")) << r.header("retry-after");
      }
      if (c.status == 429 && std::string(c.fault) != "429-bare") {
        EXPECT_EQ("0", r.header("x-ratelimit-remaining"));
        EXPECT_GT(std::stoll(r.header("x-ratelimit-reset")), 1700000000000LL);
      }
      if (c.status == 402) {
        EXPECT_STREQ("key", d["error"]["metadata"]["limit_source"].GetString());
      }
    }
  }
}

TEST_F(FakeUpstreamTest, RetryAfterAsHttpDate) {
  HttpResponse r = chat("fake/fault-429-date", "hi");
  ASSERT_EQ(429, r.status);
  std::string after = r.header("retry-after");
  EXPECT_NE(std::string::npos, after.find(" GMT")) << after;
  EXPECT_EQ(29u, after.size()) << "IMF-fixdate, e.g. 'Sun, 06 Nov 1994 08:49:37 GMT': " << after;
}

TEST_F(FakeUpstreamTest, HeaderFaultWinsOverModelFault) {
  EXPECT_EQ(429, chat("fake/fault-500", "hi", false, {{"X-Fake-Fault", "429"}}).status);
  EXPECT_EQ(200, chat("fake/fault-500", "hi", false, {{"X-Fake-Fault", "ok"}}).status);
}

TEST_F(FakeUpstreamTest, UnknownFaultAndBadRequestsAre400) {
  HttpResponse r = chat("fake/fault-no-such-thing", "hi");
  EXPECT_EQ(400, r.status);
  EXPECT_NE(std::string::npos, r.body.find("unknown fault")) << r.body;
  EXPECT_EQ(400, fake_.post(fake_.path("/chat/completions"), "{not json").status);
  EXPECT_EQ(400, fake_.post(fake_.path("/chat/completions"), R"({"model":"fake/ok"})").status);
  EXPECT_EQ(404, fake_.get(fake_.path("/nope")).status);
}

TEST_F(FakeUpstreamTest, DelayHoldsTheHeaders) {
  auto t0 = std::chrono::steady_clock::now();
  HttpResponse r = chat("fake/fault-delay-300", "hi");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(200, r.status);
  EXPECT_GE(ms, 290);
  // Faults compose with '+': a delayed 503.
  EXPECT_EQ(503, chat("fake/ok", "hi", false, {{"X-Fake-Fault", "delay-50+503-0"}}).status);
}

TEST_F(FakeUpstreamTest, DripPacesTheStream) {
  auto t0 = std::chrono::steady_clock::now();
  HttpResponse r = chat("fake/fault-drip-50", "a b c", true, {}, 4);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(200, r.status);
  EXPECT_TRUE(r.complete);
  EXPECT_GE(ms, 4 * 50 - 10);
  EXPECT_EQ("a b c a", streamedText(sseEvents(r.body)));
}

TEST_F(FakeUpstreamTest, ResetCutsTheStreamWithRst) {
  HttpResponse r = chat("fake/fault-reset", "a b c d e f", true);
  EXPECT_EQ(200, r.status);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.error == ECONNRESET || r.eof) << "errno " << r.error;
  EXPECT_EQ(ECONNRESET, r.error) << "SO_LINGER 0 should make the client see a reset";
  EXPECT_EQ(std::string::npos, r.body.find("[DONE]"));
  EXPECT_EQ(std::string::npos, r.body.find("\"usage\""));
}

TEST_F(FakeUpstreamTest, ResetCutsAPlainBody) {
  HttpResponse r = chat("fake/fault-reset", "a b c d e f");
  EXPECT_EQ(200, r.status);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.error == ECONNRESET || r.eof) << "errno " << r.error;
  EXPECT_LT(r.body.size(), std::stoul(r.header("content-length")));
}

TEST_F(FakeUpstreamTest, DropAndCloseSendNoResponse) {
  HttpResponse drop = chat("fake/fault-drop", "hi");
  EXPECT_EQ(0, drop.status);
  EXPECT_EQ(ECONNRESET, drop.error);
  HttpResponse closed = chat("fake/fault-close", "hi");
  EXPECT_EQ(0, closed.status);
  EXPECT_TRUE(closed.eof);
  EXPECT_EQ(0, closed.error);
}

TEST_F(FakeUpstreamTest, NoDoneEndsCleanlyWithoutDone) {
  HttpResponse r = chat("fake/fault-no-done", "a b", true, {}, 3);
  ASSERT_EQ(200, r.status);
  EXPECT_TRUE(r.complete) << "the chunked body itself ends properly";
  EXPECT_EQ(std::string::npos, r.body.find("[DONE]"));
  EXPECT_NE(std::string::npos, r.body.find("\"usage\""));
  EXPECT_EQ("a b a", streamedText(sseEvents(r.body)));
}

TEST_F(FakeUpstreamTest, MalformedBodyAndChunk) {
  HttpResponse plain = chat("fake/fault-malformed", "hi");
  ASSERT_EQ(200, plain.status);
  ASSERT_TRUE(plain.complete);
  json::Document d;
  EXPECT_FALSE(json::parse(d, plain.body, nullptr)) << plain.body;

  HttpResponse stream = chat("fake/fault-malformed", "a b c d", true, {}, 4);
  ASSERT_EQ(200, stream.status);
  ASSERT_TRUE(stream.complete);
  int bad = 0;
  for (const auto& e : sseEvents(stream.body)) {
    if (e.rfind("data: {", 0) == 0 && !json::parse(d, e.substr(6), nullptr)) {
      ++bad;
    }
  }
  EXPECT_EQ(1, bad);
  EXPECT_NE(std::string::npos, stream.body.find("data: [DONE]"));
}

TEST_F(FakeUpstreamTest, MidstreamErrorChunk) {
  HttpResponse r = chat("fake/fault-midstream-error", "a b c d e", true);
  ASSERT_EQ(200, r.status);
  ASSERT_TRUE(r.complete);
  auto events = sseEvents(r.body);
  ASSERT_EQ(4u, events.size()) << r.body;  // comment, 2 words, the error chunk
  EXPECT_EQ("a b", streamedText(events));
  json::Document last;
  ASSERT_TRUE(parseInto(last, events.back().substr(6)));
  EXPECT_EQ(502, last["error"]["code"].GetInt());
  EXPECT_TRUE(last["error"]["message"].IsString());
  EXPECT_STREQ("error", last["choices"][0]["finish_reason"].GetString());
  EXPECT_EQ(std::string::npos, r.body.find("[DONE]"));

  HttpResponse plain = chat("fake/fault-midstream-error", "a b");
  ASSERT_EQ(200, plain.status);
  json::Document d;
  ASSERT_TRUE(parseInto(d, plain.body));
  EXPECT_EQ(502, d["error"]["code"].GetInt());
  EXPECT_STREQ("error", d["choices"][0]["finish_reason"].GetString());
}

TEST_F(FakeUpstreamTest, FailOnceByFakeKeyThenByAuthorizationAndModel) {
  const HttpHeaders k1 = {{"X-Fake-Fault", "fail-once-503"}, {"X-Fake-Key", "job-1"}};
  const HttpHeaders k2 = {{"X-Fake-Fault", "fail-once-503"}, {"X-Fake-Key", "job-2"}};
  EXPECT_EQ(503, chat("fake/ok", "hi", false, k1).status);
  EXPECT_EQ(200, chat("fake/ok", "hi", false, k1).status);
  EXPECT_EQ(200, chat("fake/ok", "hi", false, k1).status);
  EXPECT_EQ(503, chat("fake/ok", "hi", false, k2).status);

  const HttpHeaders a = {{"Authorization", "Bearer A"}};
  const HttpHeaders b = {{"Authorization", "Bearer B"}};
  EXPECT_EQ(429, chat("fake/fault-fail-once-429", "hi", false, a).status);
  EXPECT_EQ(200, chat("fake/fault-fail-once-429", "hi", false, a).status);
  EXPECT_EQ(429, chat("fake/fault-fail-once-429", "hi", false, b).status);

  // fail-N, and the prefix covers the rest of the spec.
  const HttpHeaders n = {{"X-Fake-Fault", "fail-2-delay-10+500"}, {"X-Fake-Key", "n"}};
  EXPECT_EQ(500, chat("fake/ok", "hi", false, n).status);
  EXPECT_EQ(500, chat("fake/ok", "hi", false, n).status);
  EXPECT_EQ(200, chat("fake/ok", "hi", false, n).status);

  // A fail-once stream fault: the retry gets the whole stream.
  const HttpHeaders s = {{"X-Fake-Fault", "fail-once-reset"}, {"X-Fake-Key", "s"}};
  EXPECT_FALSE(chat("fake/ok", "a b c d", true, s).complete);
  EXPECT_TRUE(chat("fake/ok", "a b c d", true, s).complete);

  ASSERT_TRUE(fake_.reset());
  EXPECT_EQ(503, chat("fake/ok", "hi", false, k1).status) << "reset() forgets fail-once state";
}

TEST_F(FakeUpstreamTest, DefaultFaultForTheNextRequests) {
  ASSERT_TRUE(fake_.setFault("503-0", 2));
  EXPECT_EQ(503, chat("openai/gpt-4o-mini", "hi").status);
  EXPECT_EQ(503, chat("openai/gpt-4o-mini", "hi").status);
  EXPECT_EQ(200, chat("openai/gpt-4o-mini", "hi").status);
  ASSERT_TRUE(fake_.setFault("429"));
  EXPECT_EQ(429, chat("openai/gpt-4o-mini", "hi").status);
  EXPECT_EQ(200, chat("fake/ok", "hi", false, {{"X-Fake-Fault", ""}}).status) << "an explicit header wins";
  ASSERT_TRUE(fake_.setFault(""));
  EXPECT_EQ(200, chat("openai/gpt-4o-mini", "hi").status);
  EXPECT_FALSE(fake_.setFault("bogus"));
}

TEST_F(FakeUpstreamTest, ResetClearsRecordsAndCounters) {
  EXPECT_EQ(200, chat("fake/ok", "hi").status);
  EXPECT_EQ(429, chat("fake/fault-429", "hi").status);
  ASSERT_TRUE(fake_.waitForRequests(2, 30000));
  EXPECT_EQ(2u, fake_.requests().size());
  ASSERT_TRUE(fake_.waitForIdle(2000));  // Else the peak restarts at the requests still finishing.
  ASSERT_TRUE(fake_.reset());
  FakeStats s = fake_.stats();
  EXPECT_EQ(0u, s.total);
  EXPECT_EQ(0u, s.peak_concurrency);
  EXPECT_EQ(0u, s.disconnects);
  EXPECT_TRUE(fake_.requests().empty());
  EXPECT_FALSE(fake_.waitForRequests(1, 50));
  // Generation ids keep counting, so they stay unique for the process's life.
  json::Document d;
  ASSERT_TRUE(parseInto(d, chat("fake/ok", "hi").body));
  EXPECT_STREQ("gen-2", d["id"].GetString());
}

TEST_F(FakeUpstreamTest, ConcurrencyIsRecorded) {
  constexpr int kClients = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([this, &ok] {
      HttpConnection c;
      if (c.connect(fake_.port()) &&
          c.request("POST", fake_.path("/chat/completions"), chatBody("fake/fault-delay-200", "hi")).status ==
              200) {
        ++ok;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(kClients, ok.load());
  FakeStats s = fake_.stats();
  EXPECT_EQ(static_cast<size_t>(kClients), s.total);
  EXPECT_GE(s.peak_concurrency, 5u);
  EXPECT_TRUE(fake_.waitForIdle(2000));
  int max_seen = 0;
  for (const auto& r : fake_.requests()) {
    max_seen = std::max(max_seen, r.concurrency);
  }
  EXPECT_EQ(static_cast<int>(s.peak_concurrency), max_seen);
}

TEST_F(FakeUpstreamTest, DisconnectDetectedDuringHang) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(fake_.port()));
  ASSERT_TRUE(c.sendRequest("POST", fake_.path("/chat/completions"), chatBody("fake/fault-hang", "hi")));
  ASSERT_TRUE(fake_.waitForRequests(1, 30000));
  HttpResponse nothing = c.readResponse(200);
  EXPECT_TRUE(nothing.timed_out);
  EXPECT_EQ(0, nothing.status);
  EXPECT_EQ(1u, fake_.stats().in_flight);
  c.close();
  ASSERT_TRUE(fake_.waitForDisconnects(1, 30000));
  auto recs = fake_.requests();
  ASSERT_EQ(1u, recs.size());
  EXPECT_TRUE(recs[0].disconnected);
  EXPECT_EQ(0, recs[0].status);
  EXPECT_EQ("hang", recs[0].fault);
}

TEST_F(FakeUpstreamTest, DisconnectDetectedDuringDripAndGenerationMarkedCancelled) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(fake_.port()));
  ASSERT_TRUE(c.sendRequest("POST", fake_.path("/chat/completions"),
                            chatBody("fake/fault-drip-100", "slow words here", true, 50)));
  ASSERT_TRUE(c.readUntil("\"role\":\"assistant\"", 3000)) << c.raw();
  std::string gen_id;
  {
    size_t at = c.raw().find("x-generation-id: ");
    at = at == std::string::npos ? c.raw().find("X-Generation-Id: ") : at;
    ASSERT_NE(std::string::npos, at);
    at += 17;
    gen_id = c.raw().substr(at, c.raw().find("\r\n", at) - at);
  }
  c.close();
  ASSERT_TRUE(fake_.waitForDisconnects(1, 30000));
  auto recs = fake_.requests();
  ASSERT_EQ(1u, recs.size());
  EXPECT_TRUE(recs[0].disconnected);
  EXPECT_EQ(200, recs[0].status);

  // The generation endpoint still knows it, for cost reconciliation.
  HttpResponse g = fake_.get(fake_.path("/generation?id=" + gen_id));
  ASSERT_EQ(200, g.status) << gen_id << " " << g.body;
  json::Document d;
  ASSERT_TRUE(parseInto(d, g.body));
  EXPECT_EQ(gen_id, d["data"]["id"].GetString());
  EXPECT_TRUE(d["data"]["cancelled"].GetBool());
  EXPECT_TRUE(d["data"]["streamed"].GetBool());
  EXPECT_GT(d["data"]["total_cost"].GetDouble(), 0.0);
  EXPECT_EQ(404, fake_.get(fake_.path("/generation?id=gen-999999")).status);
}

TEST_F(FakeUpstreamTest, StopsOnSigtermEvenWithAHangingRequest) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(fake_.port()));
  ASSERT_TRUE(c.sendRequest("POST", fake_.path("/chat/completions"), chatBody("fake/fault-hang", "hi")));
  ASSERT_TRUE(fake_.waitForRequests(1, 30000));
  EXPECT_TRUE(fake_.stop(3000));
  EXPECT_FALSE(fake_.running());
  HttpResponse r = c.readResponse(2000);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(0, r.status);
}

TEST(FakeUpstreamOptionsTest, RecordFileAndRequireAuth) {
  TempDir dir;
  std::string record = dir.file("requests.jsonl");
  FakeUpstream fake({.extra_args = {"--record", record, "--require-auth"}});
  ASSERT_TRUE(fake.start());
  EXPECT_EQ(401, fake.post(fake.path("/chat/completions"), chatBody("fake/ok", "hi")).status);
  EXPECT_EQ(200, fake.post(fake.path("/chat/completions"), chatBody("fake/ok", "hi"),
                           {{"Authorization", "Bearer sk-or-v1-x"}})
                     .status);
  ASSERT_TRUE(fake.stop());
  std::ifstream in(record);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  ASSERT_EQ(2u, lines.size()) << ::testing::PrintToString(lines);
  // Lines are written as requests end, so in completion order: find request 2.
  json::Document d;
  ASSERT_TRUE(parseInto(d, lines[0]));
  if (d["id"].GetInt() != 2) {
    ASSERT_TRUE(parseInto(d, lines[1]));
  }
  EXPECT_EQ(2, d["id"].GetInt());
  EXPECT_EQ(200, d["status"].GetInt()) << lines[1];
  EXPECT_STREQ("Bearer sk-or-v1-x", d["headers"]["authorization"].GetString());
}

TEST_F(FakeUpstreamTest, KeyAndUpstreamRateLimitsHaveTheirOwnBodies) {
  HttpResponse key = chat("fake/fault-429", "hi");
  ASSERT_EQ(429, key.status);
  json::Document d;
  ASSERT_TRUE(parseInto(d, key.body));
  EXPECT_NE(std::string::npos, std::string(d["error"]["message"].GetString()).find("limit_rpm")) << key.body;
  EXPECT_TRUE(d["error"]["metadata"]["headers"].HasMember("X-RateLimit-Reset")) << key.body;
  EXPECT_FALSE(d["error"]["metadata"].HasMember("provider_name")) << key.body;
  HttpResponse upstream = chat("fake/fault-429+upstream", "hi");
  ASSERT_EQ(429, upstream.status);
  ASSERT_TRUE(parseInto(d, upstream.body));
  EXPECT_TRUE(d["error"]["metadata"].HasMember("provider_name")) << upstream.body;
  EXPECT_NE(std::string::npos,
            std::string(d["error"]["metadata"]["raw"].GetString()).find("rate-limited upstream"));
}

TEST_F(FakeUpstreamTest, RateLimitCountsPerAuthorizationOverASlidingWindow) {
  ASSERT_TRUE(fake_.setRateLimit(3, 60000));
  const HttpHeaders a = {{"Authorization", "Bearer sk-or-v1-testa"}};
  const HttpHeaders b = {{"Authorization", "Bearer sk-or-v1-testb"}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(200, chat("fake/ok", "hi", false, a).status) << i;
  }
  HttpResponse over = chat("fake/ok", "hi", false, a);
  EXPECT_EQ(429, over.status);
  EXPECT_GE(std::stoi(over.header("retry-after")), 59);
  EXPECT_GT(std::stoll(over.header("x-ratelimit-reset")), 1700000000000LL);
  EXPECT_EQ(200, chat("fake/ok", "hi", false, b).status) << "another key has its own window";
  EXPECT_EQ(1u, fake_.stats().rate_limited);
  ASSERT_TRUE(fake_.setRateLimit(0));
  EXPECT_EQ(200, chat("fake/ok", "hi", false, a).status);
  EXPECT_EQ(400, fake_.post("/_fake/ratelimit", "{\"rps\":-1}").status);
}

TEST(FakeUpstreamOptionsTest, PrefixIsConfigurable) {
  FakeUpstream fake({.prefix = "/v1"});
  ASSERT_TRUE(fake.start());
  EXPECT_EQ("http://127.0.0.1:" + std::to_string(fake.port()) + "/v1", fake.baseUrl());
  EXPECT_EQ(200, fake.get("/v1/models").status);
  EXPECT_EQ(200, fake.get("/models").status);
}

}  // namespace
}  // namespace llmq::testing
