// daemon::admitJob, the admission code job.submit and the HTTP front share
// (daemon/api/job_admission.h), called with a typed ipc::SubmitParams as the
// front calls it, no JSON-RPC frame: a typed submit becomes the same stored job
// a job.submit would (owner and client label, tags, options); its value rules
// are job.submit's own (ipc::checkSubmitParams); a priority above [access]
// max_user_priority is for administrators; an idempotency key finds the job a
// socket client submitted with it, for the same owner only; [quota] refuses
// what would pass it; nothing is admitted while llmqd stops; a typed submit
// with `wait` is answered with the finished job. The facts of the request
// (prompt estimate, max_tokens, temperature 0) are taken at admission and stored
// with the job.
#include "daemon/api/job_admission.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "daemon/policy/response_cache.h"
#include "daemon/turn/responder.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using store::JobState;

constexpr char kChat[] = R"({"model":"test/a","messages":[{"role":"user","content":"hi"}]})";

class JobAdmissionTest : public llmq::testing::EngineTest {
 protected:
  static ipc::PeerCred cred(uid_t uid, const std::string& user) {
    ipc::PeerCred c;
    c.pid = ::getpid();
    c.uid = uid;
    c.gid = uid;
    c.user = user;
    return c;
  }

  // Admits `p` (its request `body`) as the HTTP front does, from `peer` on
  // `conn`; returns the JSON-RPC answer line, or "check: <why>" when
  // ipc::checkSubmitParams refused it first.
  std::string admit(uint64_t conn, const ipc::PeerCred& peer, ipc::SubmitParams p, const char* body = kChat) {
    json::Document doc;
    EXPECT_TRUE(json::parse(doc, body, nullptr));
    p.request = &doc;
    std::string error;
    if (!ipc::checkSubmitParams(&p, &error)) {
      return "check: " + error;
    }
    const std::string id = std::to_string(900000 + ++admitted_);
    engine_->server->hold(conn);
    Call submitted{*engine_, conn, peer, nullptr, Responder(*engine_->server, *engine_->cycle, conn, id)};
    admitJob(submitted, p);
    const std::string tag = "\"id\":" + id + ",";
    std::string answer;
    EXPECT_TRUE(runUntil(
        [&] {
          for (const std::string& line : lines(conn)) {
            if (line.find(tag) != std::string::npos) {
              answer = line;
              return true;
            }
          }
          return false;
        },
        kWaitMs))
        << "no answer";
    return answer;
  }

  int admitted_ = 0;
};

TEST_F(JobAdmissionTest, ATypedSubmitBecomesTheJobAJobSubmitWould) {
  start();
  const ipc::PeerCred alice = cred(4001, "alice");
  const uint64_t conn = connect(4001, "alice");
  ipc::SubmitParams p;
  p.client = "batch";
  p.tags = {"night", "eval", "night"};
  p.priority = 3;
  p.options.request_id = "req-1";
  p.options.fail_when_cooling = true;
  p.options.fallback_models = {"test/b"};
  const std::string a = admit(conn, alice, p);
  ASSERT_FALSE(isError(a)) << a;
  const store::JobRecord j = job(jobIdOf(a));
  EXPECT_EQ("alice:batch", j.client);  // The caller's identity decides the owner.
  EXPECT_EQ("alice", j.owner);
  EXPECT_EQ(R"(["night","eval"])", j.tags_json);  // Deduplicated by the shared check.
  EXPECT_EQ(3, j.priority);
  EXPECT_EQ("test/a", j.model);
  EXPECT_EQ("req-1", j.options.request_id.value_or(""));
  EXPECT_TRUE(j.options.fail_when_cooling);
  EXPECT_EQ(std::vector<std::string>{"test/b"}, j.options.fallback_models);
  EXPECT_FALSE(j.options.byok);
  // The request's facts, taken once here, travel with the job.
  ASSERT_TRUE(j.options.facts.has_value());
  EXPECT_EQ(static_cast<int64_t>(j.request_json.size() / 4 + 1), j.options.facts->prompt_tokens);
  EXPECT_FALSE(j.options.facts->completion_cap.has_value());
  EXPECT_FALSE(j.options.facts->deterministic);
  ASSERT_TRUE(reaches(jobIdOf(a), JobState::kSucceeded));
}

TEST_F(JobAdmissionTest, TheValueRulesAreJobSubmits) {
  start();
  const ipc::PeerCred alice = cred(4001, "alice");
  const uint64_t conn = connect(4001, "alice");
  struct Case {
    const char* what;
    ipc::SubmitParams p;
    const char* body;
  };
  ipc::SubmitParams empty_client;
  empty_client.client = "";
  ipc::SubmitParams long_client;
  long_client.client = std::string(300, 'c');
  ipc::SubmitParams bad_key;
  bad_key.api_key = "sk bad";
  ipc::SubmitParams bad_request_id;
  bad_request_id.options.request_id = "no spaces";
  ipc::SubmitParams many_tags;
  for (int i = 0; i < 40; ++i) {
    many_tags.tags.push_back("t" + std::to_string(i));
  }
  ipc::SubmitParams priority;
  priority.priority = 5000;
  const Case cases[] = {
      {"client", empty_client, kChat},
      {"client", long_client, kChat},
      {"api_key", bad_key, kChat},
      {"request_id", bad_request_id, kChat},
      {"tags", many_tags, kChat},
      {"priority", priority, kChat},
      {"messages", ipc::SubmitParams{}, R"({"model":"test/a"})"},
      {"model", ipc::SubmitParams{}, R"({"messages":[{"role":"user","content":"x"}]})"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    const std::string a = admit(conn, alice, k.p, k.body);
    EXPECT_EQ(0u, a.rfind("check: ", 0)) << a;
    EXPECT_NE(std::string::npos, a.find(k.what)) << a;
  }
  // A key twice is refused by the admission code itself, for both callers.
  const std::string twice =
      admit(conn, alice, ipc::SubmitParams{},
            R"({"model":"test/a","model":"test/b","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(-32602, errorCode(twice)) << twice;
  EXPECT_EQ("\"DUPLICATE_KEY\"", field(twice, "error.data.code")) << twice;
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(JobAdmissionTest, APriorityAboveTheUsersLimitIsForAdministrators) {
  config_.max_user_priority = 10;
  start();
  ipc::SubmitParams p;
  p.priority = 11;
  const std::string refused = admit(connect(4001, "alice"), cred(4001, "alice"), p);
  EXPECT_EQ(-32602, errorCode(refused)) << refused;
  EXPECT_NE(std::string::npos, refused.find("max_user_priority")) << refused;
  const std::string allowed = admit(admin(), cred(::getuid(), "admin"), p);
  EXPECT_FALSE(isError(allowed)) << allowed;
}

TEST_F(JobAdmissionTest, AnIdempotencyKeyFindsASocketClientsJobForItsOwnerOnly) {
  start();
  const uint64_t socket = connect(4001, "alice");
  const std::string first = submit(socket, "test/a", ",\"idempotency_key\":\"k1\"");
  ASSERT_FALSE(first.empty());
  ipc::SubmitParams p;
  p.idempotency_key = "k1";
  const std::string again = admit(connect(4001, "alice"), cred(4001, "alice"), p);
  EXPECT_EQ(first, jobIdOf(again)) << again;
  EXPECT_EQ("true", field(again, "result.deduplicated")) << again;
  const std::string bobs = admit(connect(4002, "bob"), cred(4002, "bob"), p);
  EXPECT_EQ("false", field(bobs, "result.deduplicated")) << bobs;
  EXPECT_NE(first, jobIdOf(bobs));
}

// A key sent again with another request is refused, not answered with the
// first request's job; one that differs only in how the answer is delivered
// (stream, stream_options) finds the job.
TEST_F(JobAdmissionTest, AnIdempotencyKeyReusedForAnotherRequestIsRefused) {
  start();
  const uint64_t socket = connect(4001, "alice");
  const std::string first = submit(socket, "test/a", ",\"idempotency_key\":\"k2\"");
  ASSERT_FALSE(first.empty());
  const std::string other =
      call(socket, "job.submit",
           R"({"request":{"model":"test/a","messages":[{"role":"user","content":"bye"}]},"idempotency_key":"k2"})");
  EXPECT_EQ(-32602, errorCode(other)) << other;
  EXPECT_EQ("\"IDEMPOTENCY_CONFLICT\"", field(other, "error.data.code")) << other;
  EXPECT_NE(std::string::npos, other.find(first)) << "the message names the job the key belongs to: " << other;

  ipc::SubmitParams p;
  p.idempotency_key = "k2";
  const std::string streamed = admit(
      connect(4001, "alice"), cred(4001, "alice"), p,
      R"({"model":"test/a","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})");
  EXPECT_EQ(first, jobIdOf(streamed)) << streamed;
  p.kind = JobKind::kEmbedding;
  const std::string embedding =
      admit(connect(4001, "alice"), cred(4001, "alice"), p, R"({"model":"test/a","input":"hi"})");
  EXPECT_EQ("\"IDEMPOTENCY_CONFLICT\"", field(embedding, "error.data.code")) << embedding;
}

// A job pinned to a provider must be servable there whole: its model and every
// fallback; the provider must exist. The pin is stored with the job.
TEST_F(JobAdmissionTest, APinnedProviderMustServeEveryModelTheJobMayTry) {
  start();
  const uint64_t c = admin();
  const std::string pinned = submit(c, "test/a", ",\"provider\":\"scripted\"");
  ASSERT_TRUE(reaches(pinned, JobState::kSucceeded));
  EXPECT_EQ("scripted", job(pinned).options.provider.value_or(""));
  const std::string fallback =
      call(c, "job.submit",
           R"({"request":{"model":"test/a","messages":[{"role":"user","content":"hi"}]},"provider":"scripted",)"
           R"("fallback_models":["mock/echo"]})");
  EXPECT_EQ("\"MODEL_NOT_SERVED\"", field(fallback, "error.data.code")) << fallback;
  EXPECT_NE(std::string::npos, fallback.find("mock/echo")) << fallback;
  const std::string unknown =
      call(c, "job.submit",
           R"({"request":{"model":"test/a","messages":[{"role":"user","content":"hi"}]},"provider":"nowhere"})");
  EXPECT_EQ("\"UNKNOWN_PROVIDER\"", field(unknown, "error.data.code")) << unknown;
}

TEST_F(JobAdmissionTest, TheQuotaRefusesWhatWouldPassIt) {
  config_.quota.max_stored_bytes = 10;
  start();
  const std::string a = admit(connect(4001, "alice"), cred(4001, "alice"), ipc::SubmitParams{});
  EXPECT_EQ("\"QUOTA_EXCEEDED\"", field(a, "error.data.code")) << a;
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(JobAdmissionTest, NothingIsAdmittedWhileLlmqdStops) {
  start();
  engine_->run.shutting_down = true;
  const std::string a = admit(connect(4001, "alice"), cred(4001, "alice"), ipc::SubmitParams{});
  EXPECT_EQ(-32005, errorCode(a)) << a;
  engine_->run.shutting_down = false;
}

TEST_F(JobAdmissionTest, TheFactsOfTheRequestAreTakenOnceAndStored) {
  start();
  const std::string a =
      admit(connect(4001, "alice"), cred(4001, "alice"), ipc::SubmitParams{},
            R"({"model":"test/a","max_tokens":77,"temperature":0,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_FALSE(isError(a)) << a;
  const store::JobRecord j = job(jobIdOf(a));  // Read back from the database.
  ASSERT_TRUE(j.options.facts.has_value());
  EXPECT_EQ(77, j.options.facts->completion_cap.value_or(-1));
  EXPECT_TRUE(j.options.facts->deterministic);
  EXPECT_EQ(static_cast<int64_t>(j.request_json.size() / 4 + 1), j.options.facts->prompt_tokens);
}

TEST_F(JobAdmissionTest, WaitAnswersWithTheFinishedJob) {
  start();
  ipc::SubmitParams p;
  p.wait = true;
  const std::string a = admit(connect(4001, "alice"), cred(4001, "alice"), p);
  EXPECT_EQ("\"succeeded\"", field(a, "result.state")) << a;
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// A retry of a request that a route's defaults added to finds its job: the
// stored request (with the defaults) is compared with the retry's, defaults
// applied the same way.
TEST_F(JobAdmissionTest, AnIdempotentRetryOfARouteWithDefaultsFindsItsJob) {
  config_.routes.push_back(RouteRule{"extract", {"test/a"}, RouteStrategy::kOrdered, {}, "", "Answer briefly."});
  start();
  const uint64_t c = admin();
  const std::string params =
      R"({"request":{"messages":[{"role":"user","content":"hi"}]},"route":"extract","idempotency_key":"rd-1"})";
  const std::string first = jobIdOf(call(c, "job.submit", params));
  ASSERT_FALSE(first.empty());
  const std::string again = call(c, "job.submit", params);
  EXPECT_EQ(first, jobIdOf(again)) << again;
  EXPECT_EQ("true", field(again, "result.deduplicated")) << again;
}

// A job pinned to a provider gets no OPENROUTER_PREFERRED_MODELS it did not ask
// for (they may not be served there), and its cache key is its own.
TEST_F(JobAdmissionTest, APinnedJobGetsNoPreferredModelsAndItsOwnCacheKey) {
  config_.preferred_models = {"mock/echo"};
  start();
  const std::string pinned = submit(admin(), "test/a", ",\"provider\":\"scripted\"");
  ASSERT_FALSE(pinned.empty());
  EXPECT_FALSE(job(pinned).options.routing.has_value());
  ASSERT_TRUE(reaches(pinned, JobState::kSucceeded));
  EXPECT_NE(ResponseCache::key("m", "{}", JobKind::kChat), ResponseCache::key("m", "{}", JobKind::kChat, "p"));
  EXPECT_NE(ResponseCache::key("m", "{}", JobKind::kChat, "p"), ResponseCache::key("m", "{}", JobKind::kChat, "q"));
}

}  // namespace
}  // namespace llmq::daemon
