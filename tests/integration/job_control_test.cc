// Integration: cancel, retry, idempotency, wait, pause/resume with priority order
// and fair share, against the real llmqd over its socket.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class JobControlTest : public DaemonFixture {
 protected:
  void SetUp() override {
    launchDaemon({.config_toml = "[daemon]\nmax_inflight = 1\n"
                                 "[retry]\nbase_ms = 20\ncap_ms = 50\n"
                                 "[circuit]\nfailures = 100\n"
                                 "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n"});
  }
  std::string get(const std::string& id, const char* field) {
    json::Document job = callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
    const json::Value& v = job[field];
    return v.IsString() ? v.GetString() : json::toString(v);
  }
};

TEST_F(JobControlTest, CancelQueuedJob) {
  callOk(*client_, "queue.pause", "{}");
  std::string id = submit(*client_);
  json::Document job = callOk(*client_, "job.cancel", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("cancelled", job["state"].GetString());
  EXPECT_STREQ("CANCELLED", job["error"]["code"].GetString());
  EXPECT_EQ(0, job["attempts"].GetInt());
  // Cancelling again is an invalid state; an unknown id is not found.
  EXPECT_EQ(-32004, callError(*client_, "job.cancel", "{\"job_id\":\"" + id + "\"}"));
  EXPECT_EQ(-32001, callError(*client_, "job.cancel", R"({"job_id":"j00000000ffff"})"));
  callOk(*client_, "queue.resume", "{}");
}

TEST_F(JobControlTest, CancelRunningJobStopsItsStream) {
  std::string id = submit(*client_, "mock/hang", R"("subscribe":true)");
  auto started = readEvents(*client_, [](const Event& e) { return e.name == "started"; });
  ASSERT_FALSE(started.empty());
  json::Document job = callOk(*client_, "job.cancel", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("cancelled", job["state"].GetString());
  auto rest = readEvents(*client_, [](const Event& e) { return e.name == "cancelled"; });
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ("cancelled", rest.back().name);
  // The slot is free again: the next job runs.
  std::string next = submit(*client_);
  EXPECT_EQ("succeeded", waitTerminal(*client_, next));
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(1, status["queue"]["cancelled"].GetInt());
}

TEST_F(JobControlTest, RetryableFailureRetriesThenFailsAndRetryRequeues) {
  std::string id = submit(*client_, "mock/fail-500", R"("max_attempts":3,"subscribe":true)");
  auto events = readEvents(*client_, [](const Event& e) {
    return e.name == "error" && e.data.find("\"retryable\":false") != std::string::npos;
  });
  int retrying = 0;
  for (const Event& e : events) {
    retrying += e.name == "retrying";
  }
  EXPECT_EQ(2, retrying);
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  EXPECT_EQ("3", get(id, "attempts"));

  json::Document again = callOk(*client_, "job.retry", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("queued", again["state"].GetString());
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  EXPECT_EQ("6", get(id, "attempts"));

  std::string ok = submit(*client_);
  EXPECT_EQ("succeeded", waitTerminal(*client_, ok));
  EXPECT_EQ(-32004, callError(*client_, "job.retry", "{\"job_id\":\"" + ok + "\"}"));
}

TEST_F(JobControlTest, InterruptedStreamSaysSoWhenItRetries) {
  std::string id = submit(*client_, "mock/interrupt", R"("subscribe":true)", R"("stream":true,"max_tokens":8)");
  auto events = readEvents(*client_, [](const Event& e) { return e.name == "final_response"; });
  std::vector<std::string> names;
  std::string retry_data;
  for (const Event& e : events) {
    names.push_back(e.name);
    if (e.name == "retrying") {
      retry_data = e.data;
    }
  }
  EXPECT_NE(std::string::npos, retry_data.find("\"reason\":\"stream_interrupted\"")) << retry_data;
  // queued, started, 4 chunks, error (retryable), retrying, started, 8 chunks, usage, final.
  ASSERT_EQ(19u, names.size());
  EXPECT_EQ("error", names[6]);
  EXPECT_EQ("retrying", names[7]);
  EXPECT_EQ("started", names[8]);
  EXPECT_EQ("2", get(id, "attempts"));
}

TEST_F(JobControlTest, LateSubscriberGetsTheTextSoFarThenLiveChunks) {
  // Six seconds of text; the late subscriber comes in once five chunks went out
  // (a state, not a sleep: on a busy machine 150 ms could pass before the job
  // started, or after it ended).
  std::string id = submit(*client_, "mock/late", R"("subscribe":true)",
                          R"("stream":true,"mock":{"tokens":300,"chunk_delay_ms":20})");
  int chunks = 0;
  readEvents(*client_, [&](const Event& e) { return e.name == "message_chunk" && ++chunks >= 5; });
  ASSERT_GE(chunks, 5);
  auto late = daemon_->connect();
  json::Document sub = callOk(*late, "events.subscribe", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("running", sub["state"].GetString());
  auto events = readEvents(*late, [](const Event& e) { return e.name == "final_response"; });
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ("message_chunk", events[0].name);
  EXPECT_GT(events[0].data.size(), 40u) << "the catch-up chunk carries several words";
  std::string text;
  int64_t seq = events[0].seq;
  for (const Event& e : events) {
    if (e.name == "message_chunk") {
      json::Document d;
      ASSERT_TRUE(json::parse(d, e.data, nullptr));
      text += d["delta"].GetString();
    }
    if (&e != events.data()) {
      EXPECT_EQ(++seq, e.seq);
    }
  }
  json::Document fin;
  ASSERT_TRUE(json::parse(fin, events.back().data, nullptr));
  EXPECT_EQ(fin["content"].GetString(), text);
  // A subscription to a job that has ended is refused politely.
  json::Document ended = callOk(*late, "events.subscribe", "{\"job_id\":\"" + id + "\"}");
  EXPECT_TRUE(ended["subscription"].IsNull());
  EXPECT_STREQ("succeeded", ended["state"].GetString());
}

TEST_F(JobControlTest, NonRetryableFailureFailsAtOnce) {
  std::string id = submit(*client_, "mock/fail-400");
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  json::Document job = callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
  EXPECT_EQ(1, job["attempts"].GetInt());
  EXPECT_STREQ("INVALID_REQUEST", job["error"]["code"].GetString());
  EXPECT_EQ(400, job["error"]["upstream_status"].GetInt());
  EXPECT_STREQ("upstream", job["error"]["source"].GetString());
}

TEST_F(JobControlTest, FlakyModelSucceedsOnSecondAttempt) {
  std::string id = submit(*client_, "mock/flaky");
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_EQ("2", get(id, "attempts"));
}

TEST_F(JobControlTest, IdempotentResubmitReturnsTheSameJob) {
  json::Document a = callOk(*client_, "job.submit", submitParams("mock/test", R"("idempotency_key":"k-1")"));
  json::Document b = callOk(*client_, "job.submit", submitParams("mock/test", R"("idempotency_key":"k-1")"));
  json::Document c = callOk(*client_, "job.submit", submitParams("mock/test", R"("idempotency_key":"k-2")"));
  EXPECT_STREQ(a["job_id"].GetString(), b["job_id"].GetString());
  EXPECT_FALSE(a["deduplicated"].GetBool());
  EXPECT_TRUE(b["deduplicated"].GetBool());
  EXPECT_STRNE(a["job_id"].GetString(), c["job_id"].GetString());
  // Still one job with that key after it ran.
  waitTerminal(*client_, a["job_id"].GetString());
  json::Document d = callOk(*client_, "job.submit", submitParams("mock/test", R"("idempotency_key":"k-1")"));
  EXPECT_STREQ(a["job_id"].GetString(), d["job_id"].GetString());
  json::Document list = callOk(*client_, "job.list", "{}");
  EXPECT_EQ(2u, list["jobs"].Size());
}

TEST_F(JobControlTest, WaitAnswersWithTheFinishedJob) {
  json::Document job = callOk(*client_, "job.submit", submitParams("mock/test", R"("wait":true)"));
  EXPECT_STREQ("succeeded", job["state"].GetString());
  EXPECT_TRUE(job["result"].IsObject());
}

TEST_F(JobControlTest, PausedQueueRunsByPriorityThenFairShareWhenResumed) {
  callOk(*client_, "queue.pause", "{}");
  // Three clients; priorities 0 and 5. Expected: all priority-5 jobs first, and
  // within a priority round-robin over clients, FIFO within a client.
  struct Sub {
    std::string client;
    int priority;
    std::string id;
  };
  std::vector<Sub> subs = {{"a", 0, ""}, {"a", 0, ""}, {"a", 0, ""}, {"b", 0, ""},
                           {"b", 0, ""}, {"c", 5, ""}, {"a", 5, ""}, {"c", 5, ""}};
  std::map<std::string, std::string> who;
  for (Sub& s : subs) {
    s.id =
        submit(*client_, "mock/test", "\"client\":\"" + s.client + "\",\"priority\":" + std::to_string(s.priority));
    who[s.id] = s.client + std::to_string(s.priority);
  }
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(8, status["queue"]["queued"].GetInt());
  EXPECT_TRUE(status["queue_state"]["paused"].GetBool());

  callOk(*client_, "events.subscribe", R"({"all":true,"events":["started"]})");
  callOk(*client_, "queue.resume", "{}");
  auto started = readEvents(*client_, [n = 0](const Event&) mutable { return ++n == 8; });
  std::vector<std::string> order;
  order.reserve(started.size());
  for (const Event& e : started) {
    order.push_back(who[e.job_id]);
  }
  std::vector<std::string> expected = {"a5", "c5", "c5", "a0", "b0", "a0", "b0", "a0"};
  EXPECT_EQ(expected, order);
}

TEST_F(JobControlTest, PausingOneClientHoldsOnlyItsJobs) {
  callOk(*client_, "queue.pause", R"({"client":"slow"})");
  std::string held = submit(*client_, "mock/test", R"("client":"slow")");
  std::string free_job = submit(*client_, "mock/test", R"("client":"fast")");
  EXPECT_EQ("succeeded", waitTerminal(*client_, free_job));
  EXPECT_EQ("queued", get(held, "state"));
  callOk(*client_, "queue.resume", R"({"client":"slow"})");
  EXPECT_EQ("succeeded", waitTerminal(*client_, held));
}

TEST_F(JobControlTest, ListFiltersAndPages) {
  callOk(*client_, "queue.pause", "{}");
  std::set<std::string> all;
  for (int i = 0; i < 7; ++i) {
    all.insert(submit(*client_, "mock/test", i % 2 ? R"("tags":["odd"])" : R"("tags":["even"])"));
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    std::string params = cursor.empty() ? R"({"limit":3})" : R"({"limit":3,"cursor":")" + cursor + "\"}";
    json::Document page = callOk(*client_, "job.list", params);
    ++pages;
    for (const auto& j : page["jobs"].GetArray()) {
      EXPECT_TRUE(seen.insert(j["job_id"].GetString()).second);
    }
    if (page["next_cursor"].IsNull()) {
      break;
    }
    cursor = page["next_cursor"].GetString();
  }
  EXPECT_EQ(all, seen);
  EXPECT_EQ(3, pages);
  json::Document exact = callOk(*client_, "job.list", R"({"limit":7})");
  EXPECT_EQ(7u, exact["jobs"].Size());
  EXPECT_TRUE(exact["next_cursor"].IsNull()) << "no next page when the jobs fill this one exactly";
  json::Document odd = callOk(*client_, "job.list", R"({"tag":"odd"})");
  EXPECT_EQ(3u, odd["jobs"].Size());
  json::Document queued = callOk(*client_, "job.list", R"({"state":"queued","limit":1000})");
  EXPECT_EQ(7u, queued["jobs"].Size());
  EXPECT_EQ(-32602, callError(*client_, "job.list", R"({"state":"sleeping"})"));
  callOk(*client_, "queue.resume", "{}");
}

TEST_F(JobControlTest, DeadlineExpiresAQueuedJob) {
  callOk(*client_, "queue.pause", "{}");
  std::string id = submit(*client_, "mock/test", R"("deadline_s":0.05)");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  callOk(*client_, "queue.resume", "{}");
  EXPECT_EQ("expired", waitTerminal(*client_, id));
}

TEST_F(JobControlTest, DeadlineExpiresAJobInAPausedQueueWithoutWaitingForResume) {
  callOk(*client_, "queue.pause", "{}");
  std::string id = submit(*client_, "mock/test", R"("deadline_s":0.1,"subscribe":true)");
  auto events = readEvents(
      *client_, [](const Event& e) { return e.name == "expired"; }, 30000);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ("expired", events.back().name);
  json::Document j = callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("expired", j["state"].GetString());
  EXPECT_STREQ("EXPIRED", j["error"]["code"].GetString());
  callOk(*client_, "queue.resume", "{}");
}

TEST_F(JobControlTest, AttemptTimeoutRetriesThenFails) {
  std::string id = submit(*client_, "mock/hang", R"("timeout_s":0.05,"max_attempts":2)");
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  json::Document job = callOk(*client_, "job.get", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("TIMEOUT", job["error"]["code"].GetString());
  EXPECT_STREQ("local", job["error"]["source"].GetString());
  EXPECT_EQ(2, job["attempts"].GetInt());
}

}  // namespace
}  // namespace llmq::testing
