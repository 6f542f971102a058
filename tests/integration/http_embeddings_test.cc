// Integration: embeddings through the queue. POST /v1/embeddings (and job.submit
// with kind "embedding") becomes a job of its own kind that an HTTP upstream gets
// as POST /embeddings, with usage and cost in the job and the ledger, its own
// worst case under budgets (input only: an embedding answers no completion), the
// daemon's retries, and a kind that survives a restart (docs/http-api.md,
// ipc/PROTOCOL.md).
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpEmbeddingsTest : public HttpFrontFixture {
 protected:
  // Breakers that do not open within a test: each request's job has its attempts.
  std::string extraConfig() const override { return "[circuit]\nfailures = 1000\n"; }

  HttpResponse embed(const std::string& body, HttpHeaders headers = {}) {
    return request("POST", "/v1/embeddings", body, std::move(headers));
  }
  // The requests the fake got on one endpoint.
  std::vector<FakeRequest> upstreamRequests(const std::string& endpoint) {
    std::vector<FakeRequest> out;
    for (FakeRequest& r : fake_.requests()) {
      if (r.path == fake_.path(endpoint)) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }
};

TEST_F(HttpEmbeddingsTest, AnEmbeddingRequestRunsAsAJobAgainstTheUpstreamsEmbeddingsEndpoint) {
  const std::string body = R"({"model":"fake/ok","input":["the first text","a second"],"dimensions":5})";
  HttpResponse r = embed(body);
  ASSERT_EQ(200, r.status) << r.body;
  json::Document answer = parseJsonText(r.body);
  EXPECT_EQ("list", strMember(answer, "object"));
  ASSERT_TRUE(answer["data"].IsArray());
  ASSERT_EQ(2u, answer["data"].Size());
  for (rapidjson::SizeType i = 0; i < 2; ++i) {
    EXPECT_EQ(static_cast<int>(i), answer["data"][i]["index"].GetInt());
    ASSERT_TRUE(answer["data"][i]["embedding"].IsArray());
    EXPECT_EQ(5u, answer["data"][i]["embedding"].Size());
  }
  // The fake counts a word a token: 3 + 2.
  EXPECT_EQ(5, answer["usage"]["prompt_tokens"].GetInt());

  // The upstream got the body as sent, on /embeddings, and no chat completion.
  std::vector<FakeRequest> sent = upstreamRequests("/embeddings");
  ASSERT_EQ(1u, sent.size());
  json::Document upstream_body = parseJsonText(sent[0].body);
  json::Document client_body = parseJsonText(body);
  EXPECT_TRUE(upstream_body == client_body) << sent[0].body;
  EXPECT_EQ("Bearer " + std::string(kFixtureKey), sent[0].headers["authorization"]);
  EXPECT_TRUE(upstreamRequests("/chat/completions").empty());

  // The job says what it was and what it cost; the ledger has it.
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("succeeded", strMember(j, "state"));
  EXPECT_EQ("embedding", strMember(j, "kind"));
  EXPECT_FALSE(j["stream"].GetBool());
  EXPECT_EQ(5, j["usage"]["prompt_tokens"].GetInt());
  EXPECT_EQ(0, j["usage"]["completion_tokens"].GetInt());
  EXPECT_DOUBLE_EQ(5 * 0.000001, j["usage"]["cost_usd"].GetDouble());
  EXPECT_FALSE(r.header("x-llmq-cost-usd").empty());
  json::Document report = callOk(*client_, "usage.report", R"({"group_by":["model"]})");
  ASSERT_TRUE(report["totals"].IsObject()) << json::toString(report);
  EXPECT_EQ(1, report["totals"]["requests"].GetInt());
  EXPECT_EQ(5, report["totals"]["prompt_tokens"].GetInt());
  EXPECT_EQ(0, report["totals"]["completion_tokens"].GetInt());
  EXPECT_DOUBLE_EQ(5 * 0.000001, report["totals"]["cost_usd"].GetDouble());
}

TEST_F(HttpEmbeddingsTest, Base64VectorsComeBackAsTheUpstreamSentThem) {
  HttpResponse r = embed(R"({"model":"fake/ok","input":"one","encoding_format":"base64","dimensions":3})");
  ASSERT_EQ(200, r.status) << r.body;
  json::Document answer = parseJsonText(r.body);
  ASSERT_TRUE(answer["data"][0]["embedding"].IsString()) << r.body;
  EXPECT_EQ(16u, answer["data"][0]["embedding"].GetStringLength());  // 12 bytes of float32s.
  // The same input, the same vector: the answer was passed on, not rebuilt.
  HttpResponse again = embed(R"({"model":"fake/ok","input":"one","encoding_format":"base64","dimensions":3})");
  json::Document second = parseJsonText(again.body);
  EXPECT_EQ(strMember(answer["data"][0], "embedding"), strMember(second["data"][0], "embedding"));
}

TEST_F(HttpEmbeddingsTest, BadEmbeddingRequestsAreRefusedWithTheReasonAndNothingRuns) {
  const struct {
    const char* body;
    const char* says;
  } cases[] = {
      {R"({"model":"fake/ok"})", "missing \"request.input\""},
      {R"({"model":"fake/ok","input":""})", "non-empty string"},
      {R"({"model":"fake/ok","input":[]})", "non-empty string"},
      {R"({"model":"fake/ok","input":["a",2]})", "non-empty string"},
      {R"({"model":"fake/ok","input":[[1,-2]]})", "token ids"},
      {R"({"model":"fake/ok","input":[{"text":"a"}]})", "non-empty string"},
      {R"({"model":"fake/ok","input":"a","stream":true})", "not streamed"},
      {R"({"model":"fake/ok","input":"a","encoding_format":"int8"})", "encoding_format"},
      {R"({"model":"fake/ok","input":"a","dimensions":0})", "dimensions"},
      {R"({"model":"fake/ok","messages":[{"role":"user","content":"a"}]})", "not \"request.messages\""},
      {R"({"input":"a"})", "request.model"},
  };
  for (const auto& c : cases) {
    HttpResponse r = embed(c.body);
    EXPECT_EQ(400, r.status) << c.body;
    json::Document e = parseJsonText(r.body);
    EXPECT_NE(std::string::npos, strMember(e["error"], "message").find(c.says)) << c.body << " -> " << r.body;
    EXPECT_EQ("false", r.header("x-should-retry")) << c.body;
  }
  std::string many = R"({"model":"fake/ok","input":[)";
  for (int i = 0; i < 2049; ++i) {
    many += i > 0 ? ",\"x\"" : "\"x\"";
  }
  HttpResponse r = embed(many + "]}");
  EXPECT_EQ(400, r.status);
  EXPECT_NE(std::string::npos, r.body.find("more than 2048 inputs")) << r.body;
  EXPECT_EQ(405, request("GET", "/v1/embeddings").status);
  EXPECT_TRUE(upstreamRequests("/embeddings").empty());
}

TEST_F(HttpEmbeddingsTest, APersistentUpstreamFailureCostsNoMoreThanTheDaemonsOwnAttempts) {
  HttpResponse r = embed(R"({"model":"fake/fault-503","input":"x"})");
  EXPECT_EQ(502, r.status) << r.body;
  EXPECT_EQ("false", r.header("x-should-retry"));
  EXPECT_EQ(4u, upstreamRequests("/embeddings").size());  // llmqd's default [retry] max_attempts.
  // An answer without vectors is a failure, not a success with nothing in it.
  ASSERT_TRUE(fake_.reset());
  HttpResponse cut = embed(R"({"model":"fake/fault-malformed","input":"x"})");
  EXPECT_EQ(502, cut.status) << cut.body;
  json::Document j = job(cut.header("x-llmq-job-id"));
  EXPECT_EQ("failed", strMember(j, "state"));
  EXPECT_EQ("UPSTREAM_ERROR", strMember(j["error"], "code"));
}

TEST_F(HttpEmbeddingsTest, ABudgetPricesTheInputOnlyAndRefusesAnInputItCannotPayFor) {
  callOk(*client_, "models.list", R"({"refresh":true})");  // fake/ok's prices.
  callOk(*client_, "budget.set", R"({"scope":"global","period":"day","limit_usd":0.001})");
  // A chat request without max_tokens may answer up to 4096 tokens ($0.008): refused.
  HttpResponse chat_r = post(chat("fake/ok", "hello"));
  EXPECT_EQ(402, chat_r.status) << chat_r.body;
  // An embedding of a short input costs its input at most: it runs.
  HttpResponse ok = embed(R"({"model":"fake/ok","input":"a short text"})");
  EXPECT_EQ(200, ok.status) << ok.body;
  // An input of 2000 bytes may be 2000 tokens ($0.002): refused before it runs.
  HttpResponse big = embed(R"({"model":"fake/ok","input":")" + std::string(2000, 'x') + R"("})");
  EXPECT_EQ(402, big.status) << big.body;
  EXPECT_NE(std::string::npos, big.body.find("budget")) << big.body;
  EXPECT_EQ(1u, upstreamRequests("/embeddings").size());
}

TEST_F(HttpEmbeddingsTest, AQueuedEmbeddingJobIsStillOneAfterARestart) {
  callOk(*client_, "queue.pause", "{}");
  json::Document ack =
      callOk(*client_, "job.submit", R"({"kind":"embedding","request":{"model":"fake/ok","input":["kept"]}})");
  const std::string id = strMember(ack, "job_id");
  restart();
  callOk(*client_, "queue.resume", "{}");
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  json::Document done = job(id);
  EXPECT_EQ("embedding", strMember(done, "kind"));
  EXPECT_EQ(1u, upstreamRequests("/embeddings").size());
  EXPECT_TRUE(upstreamRequests("/chat/completions").empty());
}

TEST_F(HttpEmbeddingsTest, AnEmbeddingThatOptsInIsCachedAndAResponsesJobNeverIs) {
  const std::string embedding =
      R"({"kind":"embedding","cache":true,"wait":true,"request":{"model":"fake/ok","input":"same"}})";
  json::Document first = callOk(*client_, "job.submit", embedding);
  json::Document second = callOk(*client_, "job.submit", embedding);
  EXPECT_EQ("succeeded", strMember(second, "state"));
  EXPECT_TRUE(first["result"] == second["result"]);
  EXPECT_EQ(1u, upstreamRequests("/embeddings").size()) << "the second came from the cache";
  const std::string responses =
      R"({"kind":"responses","cache":true,"wait":true,"request":{"model":"fake/ok","input":"same","temperature":0}})";
  callOk(*client_, "job.submit", responses);
  json::Document again = callOk(*client_, "job.submit", responses);
  EXPECT_EQ("succeeded", strMember(again, "state"));
  EXPECT_EQ(2u, upstreamRequests("/responses").size()) << "a Response names its job: never cached";
}

TEST_F(HttpEmbeddingsTest, TheMockAnswersEmbeddingsWithoutAnUpstream) {
  HttpResponse r = embed(R"({"model":"mock/embed","input":["same","same","other"],"dimensions":4})");
  ASSERT_EQ(200, r.status) << r.body;
  json::Document a = parseJsonText(r.body);
  ASSERT_EQ(3u, a["data"].Size());
  EXPECT_TRUE(a["data"][0]["embedding"] == a["data"][1]["embedding"]);
  EXPECT_FALSE(a["data"][0]["embedding"] == a["data"][2]["embedding"]);
  double norm = 0;
  for (const json::Value& x : a["data"][0]["embedding"].GetArray()) {
    norm += x.GetDouble() * x.GetDouble();
  }
  EXPECT_NEAR(1.0, norm, 1e-5);
  EXPECT_TRUE(upstreamRequests("/embeddings").empty());
  // Past the mock's bound on one answer, it refuses instead of building it.
  std::string twenty = "\"a\"";
  for (int i = 1; i < 20; ++i) {
    twenty += ",\"a\"";
  }
  HttpResponse huge = embed(R"({"model":"mock/embed","input":[)" + twenty + R"(],"dimensions":65536})");
  EXPECT_EQ(400, huge.status) << huge.body.substr(0, 300);
}

// An upstream's embeddings list larger than [http] max_response_bytes is cut off
// while it arrives: the job fails RESPONSE_TOO_LARGE at once, without a retry
// that would fetch it again.
class HttpEmbeddingsBoundTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "[http]\nmax_response_bytes = 65536\n"; }
};

TEST_F(HttpEmbeddingsBoundTest, AListPastMaxResponseBytesFailsWithoutARetry) {
  // 8 inputs × 4096 floats: about 700 KB of JSON.
  std::string inputs = "\"a\"";
  for (int i = 1; i < 8; ++i) {
    inputs += ",\"w" + std::to_string(i) + "\"";
  }
  HttpResponse r =
      request("POST", "/v1/embeddings", R"({"model":"fake/ok","dimensions":4096,"input":[)" + inputs + "]}");
  EXPECT_EQ(500, r.status) << r.body.substr(0, 300);  // response_too_large (docs/http-api.md, Errors).
  EXPECT_EQ("response_too_large", strMember(parseJsonText(r.body)["error"], "code"));
  EXPECT_EQ("false", r.header("x-should-retry"));
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("failed", strMember(j, "state"));
  EXPECT_EQ("RESPONSE_TOO_LARGE", strMember(j["error"], "code"));
  EXPECT_EQ(1, j["attempts"].GetInt());
  // A list within the bound still comes through.
  EXPECT_EQ(200,
            request("POST", "/v1/embeddings", R"({"model":"fake/ok","dimensions":64,"input":"small"})").status);
}

}  // namespace
}  // namespace llmq::testing
