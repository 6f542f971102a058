// Tests for ipc/protocol: job ids, state and event names, the Params reader and
// job.submit validation (ipc/PROTOCOL.md, "job.submit").
#include "ipc/protocol.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/json.h"

namespace llmq::ipc {
namespace {

json::Document parseOrDie(const std::string& text) {
  json::Document doc;
  std::string error;
  EXPECT_TRUE(json::parse(doc, text, &error)) << error << ": " << text;
  return doc;
}

// ---- job ids, states, events -------------------------------------------------

TEST(JobIdTest, FormatsTwelveLowercaseHexDigits) {
  EXPECT_EQ("j000000000001", formatJobId(1));
  EXPECT_EQ("j0000000000ff", formatJobId(255));
  EXPECT_EQ("j00000000abcd", formatJobId(0xabcd));
  EXPECT_EQ("jffffffffffff", formatJobId(0xffffffffffffLL));
}

TEST(JobIdTest, RoundTripsAndSortsInCreationOrder) {
  std::string previous;
  for (int64_t id : {int64_t{1}, int64_t{2}, int64_t{15}, int64_t{16}, int64_t{4095}, int64_t{1} << 32,
                     (int64_t{1} << 48) - 1}) {
    std::string text = formatJobId(id);
    int64_t back = 0;
    ASSERT_TRUE(parseJobId(text, &back)) << text;
    EXPECT_EQ(id, back);
    EXPECT_LT(previous, text);  // Lexical order is creation order.
    previous = text;
  }
}

TEST(JobIdTest, RejectsMalformedIds) {
  int64_t id = 77;
  for (const char* text :
       {"", "j", "j00000000001", "j0000000000001", "k000000000001", "J000000000001", "j00000000000A",
        "j00000000000g", "j-00000000001", "j 00000000001", "000000000001j", "j000000000000"}) {
    EXPECT_FALSE(parseJobId(text, &id)) << text;
  }
  EXPECT_EQ(77, id);  // Untouched on failure.
}

TEST(JobStateTest, NamesMatchPersistedNumbers) {
  EXPECT_EQ(0, parseJobState("queued"));
  EXPECT_EQ(1, parseJobState("running"));
  EXPECT_EQ(2, parseJobState("retry_wait"));
  EXPECT_EQ(3, parseJobState("held"));
  EXPECT_EQ(4, parseJobState("succeeded"));
  EXPECT_EQ(5, parseJobState("failed"));
  EXPECT_EQ(6, parseJobState("cancelled"));
  EXPECT_EQ(7, parseJobState("expired"));
  for (int i = 0; i < kJobStateCount; ++i) {
    EXPECT_EQ(i, parseJobState(jobStateName(i)));
  }
  EXPECT_EQ(-1, parseJobState("Queued"));
  EXPECT_EQ(-1, parseJobState(""));
  EXPECT_EQ(-1, parseJobState("queued "));
  EXPECT_STREQ("unknown", jobStateName(-1));
  EXPECT_STREQ("unknown", jobStateName(kJobStateCount));
}

TEST(EventNameTest, ParsesEveryNameItFormats) {
  const char* expected[] = {"queued", "started",   "message_chunk", "usage", "final_response", "retrying",
                            "error",  "cancelled", "expired",       "held",  "budget_alert"};
  ASSERT_EQ(static_cast<size_t>(kEventKindCount), sizeof expected / sizeof expected[0]);
  for (int i = 0; i < kEventKindCount; ++i) {
    auto kind = static_cast<EventKind>(i);
    EXPECT_STREQ(expected[i], eventName(kind));
    EventKind parsed = EventKind::kBudgetAlert;
    ASSERT_TRUE(parseEventName(expected[i], &parsed)) << expected[i];
    EXPECT_EQ(kind, parsed);
  }
  EventKind untouched = EventKind::kUsage;
  EXPECT_FALSE(parseEventName("chunk", &untouched));
  EXPECT_FALSE(parseEventName("", &untouched));
  EXPECT_FALSE(parseEventName("Queued", &untouched));
  EXPECT_EQ(EventKind::kUsage, untouched);
  EXPECT_EQ((1u << 11) - 1, kAllEvents);
}

// ---- Params --------------------------------------------------------------------

TEST(ParamsTest, AbsentParamsAreEmptyButRequiredOnesFail) {
  Params p(nullptr);
  EXPECT_TRUE(p.ok());
  EXPECT_FALSE(p.string("x").has_value());
  EXPECT_FALSE(p.integer("n", 0, 10).has_value());
  EXPECT_TRUE(p.ok());
  EXPECT_FALSE(p.string("job_id", true).has_value());
  EXPECT_FALSE(p.ok());
  EXPECT_EQ("missing parameter \"job_id\"", p.error());
}

TEST(ParamsTest, ArrayParamsAreRejected) {
  auto doc = parseOrDie("[1,2]");
  Params p(&doc);
  EXPECT_FALSE(p.ok());
  EXPECT_EQ("params must be an object", p.error());
}

TEST(ParamsTest, AllowOnlyNamesTheUnknownMember) {
  auto doc = parseOrDie(R"({"priority":1,"priorty":2})");
  Params ok(&doc);
  ok.allowOnly({"priority", "priorty"});
  EXPECT_TRUE(ok.ok());

  Params p(&doc);
  p.allowOnly({"priority"});
  EXPECT_FALSE(p.ok());
  EXPECT_EQ("unknown parameter \"priorty\"", p.error());
}

TEST(ParamsTest, ReadsEachTypeAndReportsTheFirstError) {
  auto doc = parseOrDie(R"({"s":"text","i":42,"n":2.5,"b":true,"a":["x","y"],"o":{"k":1},"wrong":1})");
  Params p(&doc);
  EXPECT_EQ("text", p.string("s").value());
  EXPECT_EQ(42, p.integer("i", 0, 100).value());
  EXPECT_DOUBLE_EQ(2.5, p.number("n", 0, 10).value());
  EXPECT_DOUBLE_EQ(42.0, p.number("i", 0, 100).value());  // An integer is a number.
  EXPECT_TRUE(p.boolean("b").value());
  EXPECT_EQ((std::vector<std::string>{"x", "y"}), p.strings("a", 4, 8).value());
  ASSERT_NE(nullptr, p.object("o"));
  EXPECT_TRUE(p.ok()) << p.error();

  EXPECT_FALSE(p.string("wrong").has_value());
  EXPECT_EQ("\"wrong\" must be a string", p.error());
  EXPECT_FALSE(p.integer("s", 0, 1).has_value());
  EXPECT_EQ("\"wrong\" must be a string", p.error());  // The first error is kept.
}

TEST(ParamsTest, TypeErrorsNameTheMember) {
  auto doc = parseOrDie(R"({"s":1,"i":1.5,"is":"3","n":"1","b":1,"a":"x","ae":[1],"o":[]})");
  struct Case {
    std::function<void(Params&)> read;
    const char* error;
  };
  const Case cases[] = {
      {[](Params& p) { (void)p.string("s"); }, "\"s\" must be a string"},
      {[](Params& p) { (void)p.integer("i", 0, 10); }, "\"i\" must be an integer"},
      {[](Params& p) { (void)p.integer("is", 0, 10); }, "\"is\" must be an integer"},
      {[](Params& p) { (void)p.number("n", 0, 10); }, "\"n\" must be a number"},
      {[](Params& p) { (void)p.boolean("b"); }, "\"b\" must be true or false"},
      {[](Params& p) { (void)p.strings("a", 4, 8); }, "\"a\" must be an array of strings"},
      {[](Params& p) { (void)p.strings("ae", 4, 8); }, "\"ae\" must hold non-empty strings of at most 8 bytes"},
      {[](Params& p) { EXPECT_EQ(nullptr, p.object("o")); }, "\"o\" must be an object"},
  };
  for (const auto& c : cases) {
    Params p(&doc);
    c.read(p);
    EXPECT_EQ(c.error, p.error());
  }
}

TEST(ParamsTest, RangesAreInclusive) {
  auto doc = parseOrDie(R"({"lo":-5,"hi":5,"under":-6,"over":6,"big":9223372036854775807})");
  Params p(&doc);
  EXPECT_EQ(-5, p.integer("lo", -5, 5).value());
  EXPECT_EQ(5, p.integer("hi", -5, 5).value());
  EXPECT_TRUE(p.ok());

  Params under(&doc);
  EXPECT_FALSE(under.integer("under", -5, 5).has_value());
  EXPECT_EQ("\"under\" must be between -5 and 5", under.error());
  Params over(&doc);
  EXPECT_FALSE(over.integer("over", -5, 5).has_value());
  EXPECT_EQ("\"over\" must be between -5 and 5", over.error());
  Params big(&doc);
  EXPECT_FALSE(big.integer("big", 0, 100).has_value());
  EXPECT_FALSE(big.ok());

  Params num(&doc);
  EXPECT_FALSE(num.number("over", 0.5, 5.5).has_value());
  EXPECT_EQ("\"over\" must be between 0.5 and 5.5", num.error());
}

TEST(ParamsTest, StringAndArrayLengthLimits) {
  auto doc = parseOrDie(R"({"s":"abcdef","a":["a","b","c"],"long":["abcdef"],"empty":[""]})");
  Params p(&doc);
  EXPECT_EQ("abcdef", p.string("s", false, 6).value());
  EXPECT_EQ(3u, p.strings("a", 3, 6)->size());
  EXPECT_TRUE(p.ok());

  Params s(&doc);
  EXPECT_FALSE(s.string("s", false, 5).has_value());
  EXPECT_EQ("\"s\" is longer than 5 bytes", s.error());
  Params a(&doc);
  EXPECT_FALSE(a.strings("a", 2, 6).has_value());
  EXPECT_EQ("\"a\" has more than 2 elements", a.error());
  Params l(&doc);
  EXPECT_FALSE(l.strings("long", 2, 5).has_value());
  EXPECT_FALSE(l.ok());
  Params e(&doc);
  EXPECT_FALSE(e.strings("empty", 2, 5).has_value());
  EXPECT_FALSE(e.ok());
}

// ---- job.submit ----------------------------------------------------------------

constexpr const char kRequest[] = R"("request":{"model":"mock/demo","messages":[{"role":"user","content":"hi"}]})";

// Parses `{kRequest + extra}` as submit params; returns the error ("" if valid).
std::string submitError(const std::string& body, SubmitParams* out = nullptr) {
  auto doc = parseOrDie(body);
  SubmitParams local;
  std::string error;
  bool ok = parseSubmitParams(&doc, out != nullptr ? out : &local, &error);
  EXPECT_EQ(ok, error.empty()) << error;
  return error;
}

std::string withRequest(const std::string& extra) {
  return std::string("{") + kRequest + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(SubmitParamsTest, MinimalRequestGetsTheDocumentedDefaults) {
  auto doc = parseOrDie(withRequest(""));
  SubmitParams p;
  std::string error;
  ASSERT_TRUE(parseSubmitParams(&doc, &p, &error)) << error;
  ASSERT_NE(nullptr, p.request);
  EXPECT_TRUE(p.request->IsObject());
  EXPECT_EQ("mock/demo", p.model);
  EXPECT_FALSE(p.route.has_value());
  EXPECT_EQ(0, p.priority);
  EXPECT_FALSE(p.client.has_value());
  EXPECT_TRUE(p.tags.empty());
  EXPECT_FALSE(p.idempotency_key.has_value());
  EXPECT_FALSE(p.max_attempts.has_value());
  EXPECT_FALSE(p.timeout_ms.has_value());
  EXPECT_FALSE(p.deadline_ms.has_value());
  EXPECT_TRUE(p.options.fallback_models.empty());
  EXPECT_FALSE(p.api_key.has_value());
  EXPECT_FALSE(p.options.cache);
  EXPECT_FALSE(p.on_restart_fail);
  EXPECT_FALSE(p.subscribe);
  EXPECT_FALSE(p.wait);
  EXPECT_FALSE(p.stream);
}

TEST(SubmitParamsTest, ReadsEveryParam) {
  auto doc = parseOrDie(R"({
    "request":{"model":"mock/echo","stream":true,"messages":[{"role":"system","content":"s"},
                                                              {"role":"user","content":"hi"}]},
    "priority":-7,"client":"alice","tags":["nightly","eval"],"idempotency_key":"k-1",
    "max_attempts":9,"timeout_s":1.5,"deadline_s":0.0015,"fallback_models":["mock/a","mock/b"],
    "api_key":"sk-secret","cache":true,"on_restart":"fail","subscribe":true,"wait":true})");
  SubmitParams p;
  std::string error;
  ASSERT_TRUE(parseSubmitParams(&doc, &p, &error)) << error;
  EXPECT_EQ("mock/echo", p.model);
  EXPECT_TRUE(p.stream);
  EXPECT_EQ(-7, p.priority);
  EXPECT_EQ("alice", p.client.value());
  EXPECT_EQ((std::vector<std::string>{"nightly", "eval"}), p.tags);
  EXPECT_EQ("k-1", p.idempotency_key.value());
  EXPECT_EQ(9, p.max_attempts.value_or(0));
  EXPECT_EQ(1500, p.timeout_ms.value());
  EXPECT_EQ(2, p.deadline_ms.value());  // Rounded up to whole milliseconds.
  EXPECT_EQ((std::vector<std::string>{"mock/a", "mock/b"}), p.options.fallback_models);
  EXPECT_EQ("sk-secret", p.api_key.value());
  EXPECT_TRUE(p.options.cache);
  EXPECT_TRUE(p.on_restart_fail);
  EXPECT_TRUE(p.subscribe);
  EXPECT_TRUE(p.wait);
}

TEST(SubmitParamsTest, OnRestartRequeueIsAccepted) {
  SubmitParams p;
  EXPECT_EQ("", submitError(withRequest(R"("on_restart":"requeue")"), &p));
  EXPECT_FALSE(p.on_restart_fail);
}

TEST(SubmitParamsTest, ARouteReplacesTheModel) {
  SubmitParams p;
  EXPECT_EQ("", submitError(R"({"request":{"messages":[{"role":"user"}]},"route":"cheap"})", &p));
  EXPECT_EQ("", p.model);
  EXPECT_EQ("cheap", p.route.value());
}

TEST(SubmitParamsTest, RejectsAMissingOrNonObjectRequest) {
  EXPECT_EQ("missing parameter \"request\"", submitError(R"({"priority":1})"));
  EXPECT_EQ("\"request\" must be an object", submitError(R"({"request":"hi"})"));
  auto doc = parseOrDie("[]");
  SubmitParams p;
  std::string error;
  EXPECT_FALSE(parseSubmitParams(&doc, &p, &error));
  EXPECT_EQ("params must be an object", error);
  EXPECT_FALSE(parseSubmitParams(nullptr, &p, &error));
  EXPECT_EQ("missing parameter \"request\"", error);
}

TEST(SubmitParamsTest, RejectsMissingMessages) {
  EXPECT_EQ("missing \"request.messages\"", submitError(R"({"request":{"model":"mock/demo"}})"));
}

TEST(SubmitParamsTest, RejectsEmptyOrNonArrayMessages) {
  EXPECT_EQ("\"request.messages\" must be a non-empty array",
            submitError(R"({"request":{"model":"mock/demo","messages":[]}})"));
  EXPECT_EQ("\"request.messages\" must be a non-empty array",
            submitError(R"({"request":{"model":"mock/demo","messages":{"role":"user"}}})"));
}

TEST(SubmitParamsTest, RejectsMessagesWithoutAStringRole) {
  const std::string expected = "each of \"request.messages\" must be an object with a string \"role\"";
  EXPECT_EQ(expected, submitError(R"({"request":{"model":"m","messages":["hi"]}})"));
  EXPECT_EQ(expected, submitError(R"({"request":{"model":"m","messages":[{"content":"x"}]}})"));
  EXPECT_EQ(expected, submitError(R"({"request":{"model":"m","messages":[{"role":"user"},{"role":1}]}})"));
}

TEST(SubmitParamsTest, RejectsABadModel) {
  const std::string expected = "\"request.model\" must be a non-empty string of at most 256 bytes";
  EXPECT_EQ(expected, submitError(R"({"request":{"model":7,"messages":[{"role":"user"}]}})"));
  EXPECT_EQ(expected, submitError(R"({"request":{"model":"","messages":[{"role":"user"}]}})"));
  std::string long_model(kMaxNameBytes + 1, 'm');
  EXPECT_EQ(expected, submitError(R"({"request":{"model":")" + long_model + R"(","messages":[{"role":"user"}]}})"));
  std::string max_model(kMaxNameBytes, 'm');
  EXPECT_EQ("", submitError(R"({"request":{"model":")" + max_model + R"(","messages":[{"role":"user"}]}})"));
  EXPECT_EQ("missing \"request.model\" (or a \"route\")",
            submitError(R"({"request":{"messages":[{"role":"user"}]}})"));
}

TEST(SubmitParamsTest, RejectsANonBooleanStream) {
  EXPECT_EQ("\"request.stream\" must be true or false",
            submitError(R"({"request":{"model":"m","stream":"yes","messages":[{"role":"user"}]}})"));
}

TEST(SubmitParamsTest, PriorityRange) {
  SubmitParams p;
  EXPECT_EQ("", submitError(withRequest(R"("priority":1000)"), &p));
  EXPECT_EQ(1000, p.priority);
  EXPECT_EQ("", submitError(withRequest(R"("priority":-1000)"), &p));
  EXPECT_EQ(-1000, p.priority);
  EXPECT_EQ("\"priority\" must be between -1000 and 1000", submitError(withRequest(R"("priority":1001)")));
  EXPECT_EQ("\"priority\" must be between -1000 and 1000", submitError(withRequest(R"("priority":-1001)")));
  EXPECT_EQ("\"priority\" must be an integer", submitError(withRequest(R"("priority":1.5)")));
  EXPECT_EQ("\"priority\" must be an integer", submitError(withRequest(R"("priority":"5")")));
}

TEST(SubmitParamsTest, RejectsBadTags) {
  std::string many;
  for (int i = 0; i <= kMaxTags; ++i) {
    many += std::string(i == 0 ? "" : ",") + "\"t" + std::to_string(i) + "\"";
  }
  EXPECT_EQ("\"tags\" has more than 32 elements", submitError(withRequest("\"tags\":[" + many + "]")));
  EXPECT_EQ("\"tags\" must be an array of strings", submitError(withRequest(R"("tags":"a")")));
  const std::string element_error = "\"tags\" must hold non-empty strings of at most 256 bytes";
  EXPECT_EQ(element_error, submitError(withRequest(R"("tags":["a",1])")));
  EXPECT_EQ(element_error, submitError(withRequest(R"("tags":[""])")));
  EXPECT_EQ(element_error, submitError(withRequest("\"tags\":[\"" + std::string(kMaxNameBytes + 1, 't') + "\"]")));
  // Exactly 32 is fine.
  std::string exactly;
  for (int i = 0; i < kMaxTags; ++i) {
    exactly += std::string(i == 0 ? "" : ",") + "\"t" + std::to_string(i) + "\"";
  }
  SubmitParams p;
  EXPECT_EQ("", submitError(withRequest("\"tags\":[" + exactly + "]"), &p));
  EXPECT_EQ(static_cast<size_t>(kMaxTags), p.tags.size());
  // Counted as given, before duplicates are dropped: 33 copies of one tag are
  // still too many.
  std::string copies;
  for (int i = 0; i <= kMaxTags; ++i) {
    copies += std::string(i == 0 ? "" : ",") + "\"same\"";
  }
  EXPECT_EQ("\"tags\" has more than 32 elements", submitError(withRequest("\"tags\":[" + copies + "]")));
}

TEST(SubmitParamsTest, RejectsABadOnRestart) {
  EXPECT_EQ("\"on_restart\" must be \"requeue\" or \"fail\"", submitError(withRequest(R"("on_restart":"never")")));
  EXPECT_EQ("\"on_restart\" must be \"requeue\" or \"fail\"", submitError(withRequest(R"("on_restart":"")")));
  EXPECT_EQ("\"on_restart\" must be a string", submitError(withRequest(R"("on_restart":1)")));
}

TEST(SubmitParamsTest, RejectsAnUnknownParam) {
  EXPECT_EQ("unknown parameter \"priorty\"", submitError(withRequest(R"("priorty":3)")));
  // Members of the request body itself are not checked: it is stored verbatim.
  EXPECT_EQ("", submitError(R"({"request":{"model":"m","messages":[{"role":"user"}],"temperature":0.2}})"));
}

TEST(SubmitParamsTest, RejectsOtherOutOfRangeOptions) {
  EXPECT_EQ("\"max_attempts\" must be between 1 and 100", submitError(withRequest(R"("max_attempts":0)")));
  EXPECT_EQ("\"max_attempts\" must be between 1 and 100", submitError(withRequest(R"("max_attempts":101)")));
  EXPECT_EQ("\"timeout_s\" must be between 0.001 and 86400", submitError(withRequest(R"("timeout_s":0)")));
  EXPECT_EQ("\"client\" must not be empty", submitError(withRequest(R"("client":"")")));
  EXPECT_EQ("\"idempotency_key\" must not be empty", submitError(withRequest(R"("idempotency_key":"")")));
  EXPECT_EQ("\"api_key\" must not be empty", submitError(withRequest(R"("api_key":"")")));
  EXPECT_EQ("\"cache\" must be true or false", submitError(withRequest(R"("cache":"yes")")));
  EXPECT_EQ("\"fallback_models\" has more than 16 elements",
            submitError(withRequest(
                R"("fallback_models":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"])")));
}

}  // namespace
}  // namespace llmq::ipc

namespace llmq::ipc {
namespace {

// ---- job.submit of kind "embedding" --------------------------------------------

std::string embeddingError(const std::string& request, const std::string& extra = "") {
  return submitError(R"({"kind":"embedding","request":)" + request + (extra.empty() ? "" : "," + extra) + "}");
}

TEST(EmbeddingSubmitTest, TheKindIsReadAndChatIsTheDefault) {
  SubmitParams p;
  EXPECT_EQ("", submitError(withRequest(""), &p));
  EXPECT_EQ(JobKind::kChat, p.kind);
  SubmitParams e;
  EXPECT_EQ("", submitError(R"({"kind":"embedding","request":{"model":"m","input":"x"}})", &e));
  EXPECT_EQ(JobKind::kEmbedding, e.kind);
  EXPECT_EQ("m", e.model);
  EXPECT_FALSE(e.stream);
  EXPECT_NE("", submitError(withRequest(R"("kind":"image")")));
  EXPECT_NE("", submitError(withRequest(R"("kind":1)")));
}

TEST(EmbeddingSubmitTest, EveryInputShapeOpenAiTakesIsAccepted) {
  for (const char* input : {R"("text")", R"(["a","b"])", R"([1,2,3])", R"([[1,2],[3]])", R"([0])"}) {
    EXPECT_EQ("", embeddingError(std::string(R"({"model":"m","input":)") + input + "}")) << input;
  }
  EXPECT_EQ("",
            embeddingError(R"({"model":"m","input":"x","dimensions":256,"encoding_format":"base64","user":"u"})"));
  EXPECT_EQ("", embeddingError(R"({"model":"m","input":"x","stream":false})"));
}

TEST(EmbeddingSubmitTest, EveryOtherInputIsRefusedWithItsReason) {
  const struct {
    const char* request;
    const char* says;
  } cases[] = {
      {R"({"model":"m"})", "missing \"request.input\""},
      {R"({"model":"m","input":""})", "non-empty string"},
      {R"({"model":"m","input":[]})", "non-empty string"},
      {R"({"model":"m","input":[""]})", "non-empty string"},
      {R"({"model":"m","input":["a",1]})", "non-empty string"},
      {R"({"model":"m","input":[1,"a"]})", "token ids"},
      {R"({"model":"m","input":[[1],[]]})", "token ids"},
      {R"({"model":"m","input":[[1],2]})", "token ids"},
      {R"({"model":"m","input":[-1]})", "token ids"},
      {R"({"model":"m","input":[1.5]})", "token ids"},
      {R"({"model":"m","input":[4294967296]})", "token ids"},
      {R"({"model":"m","input":null})", "non-empty string"},
      {R"({"model":"m","input":{"a":1}})", "non-empty string"},
      {R"({"model":"m","input":"x","stream":true})", "not streamed"},
      {R"({"model":"m","input":"x","stream":"no"})", "not streamed"},
      {R"({"model":"m","input":"x","encoding_format":"int8"})", "encoding_format"},
      {R"({"model":"m","input":"x","dimensions":0})", "dimensions"},
      {R"({"model":"m","input":"x","dimensions":1e9})", "dimensions"},
      {R"({"model":"m","input":"x","messages":[]})", "request.messages"},
      {R"({"input":"x"})", "request.model"},
  };
  for (const auto& c : cases) {
    const std::string error = embeddingError(c.request);
    EXPECT_NE(std::string::npos, error.find(c.says)) << c.request << " -> " << error;
  }
  std::string many = R"({"model":"m","input":[)";
  for (size_t i = 0; i <= kMaxEmbeddingInputs; ++i) {
    many += i > 0 ? ",1" : "1";
  }
  EXPECT_NE(std::string::npos, embeddingError(many + "]}").find("more than 2048 inputs"));
}

TEST(EmbeddingSubmitTest, AChatJobStillNeedsItsMessages) {
  EXPECT_NE(std::string::npos, submitError(R"({"request":{"model":"m","input":"x"}})").find("request.messages"));
}

}  // namespace
}  // namespace llmq::ipc
