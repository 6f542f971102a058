// Integration: llmqd is the one retry layer, SDKs included. A request whose job
// failed after llmqd's own attempts is answered with X-Should-Retry: false, and
// the SDK's retry of the very same request (LangChain retries 5xx whatever the
// header says) gets the same answer without a new job or upstream request; a job
// an operator cancelled stays cancelled (daemon/api/recent_failures.h,
// docs/http-api.md "Retries").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr int kMaxAttempts = 4;  // llmqd's default [retry] max_attempts.

// Breakers that do not open within a test: each request's job has its attempts.
class HttpRetryTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "[circuit]\nfailures = 1000\n"; }
};

TEST_F(HttpRetryTest, ARetriedRequestAfterAPersistentFailureCostsNoMoreUpstreamRequests) {
  const std::string body = chat("fake/fault-502", "persistent");
  std::string first_job;
  for (int sdk_try = 0; sdk_try < 7; ++sdk_try) {  // LangChain's default: 1 + 6 retries.
    HttpResponse r = post(body);
    EXPECT_EQ(502, r.status) << r.body;
    EXPECT_EQ("false", r.header("x-should-retry")) << "try " << sdk_try;
    EXPECT_EQ("upstream_error", strMember(parseJsonText(r.body)["error"], "code")) << r.body;
    if (sdk_try == 0) {
      first_job = r.header("x-llmq-job-id");
      ASSERT_FALSE(first_job.empty());
    } else {
      EXPECT_EQ(first_job, r.header("x-llmq-job-id")) << "the same job's answer, not a new job";
    }
  }
  EXPECT_EQ(static_cast<size_t>(kMaxAttempts), fake_.stats().total);
  json::Document list = callOk(*client_, "job.list", "{}");
  EXPECT_EQ(1u, list["jobs"].Size()) << "one job in all";
}

TEST_F(HttpRetryTest, AnotherRequestOrAnotherClientRunsAfresh) {
  ASSERT_EQ(502, post(chat("fake/fault-502", "one")).status);
  ASSERT_EQ(502, post(chat("fake/fault-502", "two")).status);  // Another body.
  ASSERT_EQ(502, post(chat("fake/fault-502", "one"), {{"X-Llmq-Client", "other"}}).status);
  EXPECT_EQ(static_cast<size_t>(3 * kMaxAttempts), fake_.stats().total);
}

TEST_F(HttpRetryTest, AStreamThatFailsBeforeItsFirstTokenIsRememberedToo) {
  const std::string body = chat("fake/fault-503", "streamed", R"(,"stream":true)");
  HttpResponse first = post(body);
  EXPECT_EQ(502, first.status) << first.body;
  EXPECT_EQ("false", first.header("x-should-retry"));
  HttpResponse again = post(body);
  EXPECT_EQ(first.status, again.status);
  EXPECT_EQ(first.body, again.body);
  EXPECT_EQ(first.header("x-llmq-job-id"), again.header("x-llmq-job-id"));
  EXPECT_EQ(static_cast<size_t>(kMaxAttempts), fake_.stats().total);
}

TEST_F(HttpRetryTest, AJobAnOperatorCancelledStaysCancelled) {
  const std::string body = chat("fake/fault-hang", "cancel me");
  HttpResponse answer;
  std::thread waiter([&] { answer = post(body, {}, 60000); });
  // The job is running (its request reached the fake), then an operator cancels it.
  ASSERT_TRUE(fake_.waitForRequests(1, 30000));
  json::Document list = callOk(*client_, "job.list", "{}");
  ASSERT_EQ(1u, list["jobs"].Size());
  const std::string job_id = strMember(list["jobs"][0], "job_id");
  callOk(*client_, "job.cancel", "{\"job_id\":\"" + job_id + "\"}");
  waiter.join();
  EXPECT_EQ(409, answer.status) << answer.body;
  EXPECT_EQ("false", answer.header("x-should-retry"));
  EXPECT_EQ("cancelled", strMember(parseJsonText(answer.body)["error"], "code"));
  // The SDK's retry does not bring it back.
  HttpResponse retry = post(body);
  EXPECT_EQ(409, retry.status) << retry.body;
  EXPECT_EQ(job_id, retry.header("x-llmq-job-id"));
  EXPECT_EQ(1u, callOk(*client_, "job.list", "{}")["jobs"].Size());
  EXPECT_EQ(1u, fake_.stats().total);
}

TEST_F(HttpRetryTest, ErrorsAboutTheRequestSayDoNotRetry) {
  HttpResponse bad = post("{not json");
  EXPECT_EQ(400, bad.status);
  EXPECT_EQ("false", bad.header("x-should-retry"));
  HttpResponse upstream400 = post(chat("fake/fault-400", "x"));
  EXPECT_EQ(400, upstream400.status);
  EXPECT_EQ("false", upstream400.header("x-should-retry"));
}

TEST_F(HttpRetryTest, AServerKeyOutOfCreditSaysRetryingWillNotHelp) {
  HttpResponse spent = post(chat("fake/fault-402", "x"));
  EXPECT_EQ(503, spent.status) << spent.body;
  EXPECT_EQ("false", spent.header("x-should-retry"));
  // Every later request is answered by llmqd itself, and says so.
  HttpResponse later = post(chat("fake/ok", "y"));
  EXPECT_EQ(503, later.status) << later.body;
  EXPECT_EQ("false", later.header("x-should-retry"));
  EXPECT_NE(std::string::npos, strMember(parseJsonText(later.body)["error"], "message").find("will not change"))
      << later.body;
}

TEST_F(HttpRetryTest, RequestsWithAnIdempotencyKeyAreAnsweredFromTheirJob) {
  const std::string body = chat("fake/fault-502", "keyed");
  HttpResponse first = post(body, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(502, first.status);
  HttpResponse again = post(body, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(502, again.status);
  EXPECT_EQ(first.header("x-llmq-job-id"), again.header("x-llmq-job-id"));
  EXPECT_EQ(static_cast<size_t>(kMaxAttempts), fake_.stats().total);
}

class HttpRetryMemoryOffTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "retry_memory_s = 0\n[circuit]\nfailures = 1000\n"; }
};

TEST_F(HttpRetryMemoryOffTest, EachRequestIsANewJob) {
  const std::string body = chat("fake/fault-502", "no memory");
  HttpResponse first = post(body);
  HttpResponse second = post(body);
  EXPECT_EQ(502, first.status);
  EXPECT_EQ(502, second.status);
  EXPECT_EQ("false", second.header("x-should-retry"));
  EXPECT_NE(first.header("x-llmq-job-id"), second.header("x-llmq-job-id"));
  EXPECT_EQ(static_cast<size_t>(2 * kMaxAttempts), fake_.stats().total);
}

// The default breaker (5 failures in 30 s) with a long cooldown.
class HttpCoolingTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "[circuit]\nfailures = 5\ncooldown_s = 600\n"; }
};

TEST_F(HttpCoolingTest, WhileEveryPathCoolsDownARequestFailsAtOnceWithRetryAfter) {
  // Two failing jobs open the model's breaker (4 + 1 failures).
  ASSERT_EQ(502, post(chat("fake/fault-502", "one")).status);
  HttpResponse second = post(chat("fake/fault-502", "two"));
  const size_t spent = fake_.stats().total;
  EXPECT_EQ(5u, spent);
  // The second job's first attempt opened it: the job ends at once, not after
  // the 600 s cooldown, and says when to come back.
  EXPECT_EQ(503, second.status) << second.body;
  EXPECT_EQ("cooling_down", strMember(parseJsonText(second.body)["error"], "code")) << second.body;
  const int retry_after = std::atoi(second.header("retry-after").c_str());
  EXPECT_GT(retry_after, 500) << second.header("retry-after");
  EXPECT_LE(retry_after, 600);
  EXPECT_EQ("", second.header("x-should-retry")) << "the SDK may come back after Retry-After";
  // A new request while it cools: refused without an upstream request, each time
  // (not remembered: once the breaker half-opens it may run).
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = post(chat("fake/fault-502", "three"));
    EXPECT_EQ(503, r.status) << r.body;
    EXPECT_FALSE(r.header("retry-after").empty());
    EXPECT_NE("", r.header("x-llmq-job-id"));
  }
  EXPECT_EQ(spent, fake_.stats().total);
  // A socket client's job waits for the breaker, as before.
  json::Document submitted =
      callOk(*client_, "job.submit",
             R"({"request":{"model":"fake/fault-502","messages":[{"role":"user","content":"q"}]}})");
  const std::string id = strMember(submitted, "job_id");
  json::Document j;
  for (int i = 0; i < 600; ++i) {  // 30 s at most.
    j = job(id);
    if (strMember(j, "state") != "queued") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ("retry_wait", strMember(j, "state"));
  // So does a request with an Idempotency-Key: failing it would answer every
  // retry with that key the same cooling_down for as long as the key lives.
  HttpConnection keyed;
  ASSERT_TRUE(keyed.connect(port_));
  ASSERT_TRUE(keyed.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-502", "keyed"),
                                auth({{"Idempotency-Key", "cool-1"}})));
  std::string keyed_state;
  for (int i = 0; i < 600 && keyed_state != "retry_wait"; ++i) {  // 30 s at most.
    json::Document list = callOk(*client_, "job.list", R"({"state":"retry_wait"})");
    keyed_state = list["jobs"].Size() == 2 ? "retry_wait" : "";
    if (keyed_state.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ("retry_wait", keyed_state);
  EXPECT_EQ(spent, fake_.stats().total);
}

}  // namespace
}  // namespace llmq::testing
