// Integration: llmq::client, the C++ client library, against a real llmqd: typed
// calls and their errors, pipelined submits, events through a handler, wait()
// and its timeout, list paging; and the installed package, used by a project
// outside the tree through find_package(llmq).
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "llmq/client.h"
#include "tests/support/daemon_fixture.h"

namespace llmq::testing {
namespace {

namespace lc = llmq::client;

std::string echoRequest(const std::string& text, bool stream = false) {
  return R"({"model":"mock/echo","messages":[{"role":"user","content":")" + text + "\"}]" +
         (stream ? R"(,"stream":true)" : "") + "}";
}

class CppClientTest : public DaemonFixture {
 protected:
  // The fixture's ipc::Client stays unconnected: every call goes through the library.
  void SetUp() override {
    launchDaemon({.config_toml = "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n"}, /*connect=*/false);
    auto c = lc::Client::connect(daemon_->socketPath());
    ASSERT_TRUE(c) << c.error().message;
    cpp_client_ = std::move(c.value());
  }
  void TearDown() override {
    cpp_client_.reset();
    DaemonFixture::TearDown();
  }

  std::unique_ptr<lc::Client> cpp_client_;
};

TEST_F(CppClientTest, ConnectFailureSaysWhere) {
  auto c = lc::Client::connect(dir_.file("nobody.sock"));
  ASSERT_FALSE(c);
  EXPECT_EQ(lc::ErrorKind::kConnect, c.error().kind);
  EXPECT_NE(std::string::npos, c.error().message.find(dir_.file("nobody.sock"))) << c.error().message;
  EXPECT_NE(std::string::npos, c.error().message.find("is llmqd running?")) << c.error().message;
}

TEST_F(CppClientTest, StatusSubmitWaitAndTypedJob) {
  auto status = cpp_client_->status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_FALSE(status->version.empty());
  EXPECT_EQ(lc::kProtocolVersion, status->protocol_version);
  EXPECT_EQ(daemon_->pid(), status->pid);

  lc::SubmitRequest req;
  req.request_json = echoRequest("typed calls");
  req.priority = 5;
  req.client = "cpp";
  req.tags = {"t1", "t2"};
  req.idempotency_key = "cpp-1";
  req.max_attempts = 2;
  req.timeout_s = 30;
  auto ack = cpp_client_->submit(req);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_EQ('j', ack->job_id[0]);
  EXPECT_FALSE(ack->deduplicated);

  auto job = cpp_client_->wait(ack->job_id, 20000);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ("succeeded", job->state);
  EXPECT_TRUE(job->finished());
  EXPECT_EQ(5, job->priority);
  EXPECT_EQ("cpp", job->client);
  EXPECT_EQ((std::vector<std::string>{"t1", "t2"}), job->tags);
  EXPECT_EQ("cpp-1", job->idempotency_key);
  EXPECT_EQ("mock/echo", job->model_used);
  EXPECT_NE(std::string::npos, job->result_json.find("typed calls")) << job->result_json;
  ASSERT_TRUE(job->usage.has_value());
  EXPECT_GT(job->usage->cost_usd, 0);
  EXPECT_FALSE(job->error.has_value());
  EXPECT_NE(std::string::npos, job->json.find("\"job_id\":\"" + ack->job_id + "\""));

  // The same key again: the first job answers.
  auto again = cpp_client_->submit(req);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(ack->job_id, again->job_id);
  EXPECT_EQ("succeeded", again->state);

  // wait() on a job that has already ended returns at once.
  auto ended = cpp_client_->wait(ack->job_id, 1000);
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ("succeeded", ended->state);
}

TEST_F(CppClientTest, ErrorsCarryTheirKindCodeAndSymbol) {
  auto missing = cpp_client_->get("j0000000fffff");
  ASSERT_FALSE(missing);
  EXPECT_EQ(lc::ErrorKind::kRpc, missing.error().kind);
  EXPECT_EQ(-32001, missing.error().code);
  EXPECT_EQ("NOT_FOUND", missing.error().symbol);

  auto method = cpp_client_->call("no.such.method");
  ASSERT_FALSE(method);
  EXPECT_EQ(-32601, method.error().code);
  EXPECT_EQ("METHOD_NOT_FOUND", method.error().symbol);

  auto typo = cpp_client_->call("job.list", R"({"limt":3})");
  ASSERT_FALSE(typo);
  EXPECT_EQ("INVALID_PARAMS", typo.error().symbol);

  // Refused before sending: llmqd could not match its answer to the request.
  for (const std::string& bad : {std::string("{"), std::string("[1]"), std::string("{\"x\":\"\xff\"}")}) {
    auto r = cpp_client_->call("job.list", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(lc::ErrorKind::kInvalidArgument, r.error().kind) << bad;
  }
  // The connection is still good.
  auto list = cpp_client_->list({});
  EXPECT_TRUE(list) << list.error().message;

  // A job error is typed on the job.
  lc::SubmitRequest req;
  req.request_json = R"({"model":"mock/fail-400","messages":[{"role":"user","content":"x"}]})";
  auto ack = cpp_client_->submit(req);
  ASSERT_TRUE(ack);
  auto job = cpp_client_->wait(ack->job_id, 20000);
  ASSERT_TRUE(job);
  EXPECT_EQ("failed", job->state);
  ASSERT_TRUE(job->error.has_value());
  EXPECT_EQ("INVALID_REQUEST", job->error->code);
  EXPECT_EQ(400, job->error->upstream_status);
}

TEST_F(CppClientTest, PipelinedSubmitsComeBackInOrderAndDeduplicate) {
  constexpr int kJobs = 1000;
  std::vector<lc::SubmitRequest> reqs(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    reqs[i].request_json = echoRequest("n" + std::to_string(i));
    reqs[i].idempotency_key = "pipe-" + std::to_string(i);
    reqs[i].tags = {"pipe"};
  }
  reqs[500].request_json = R"({"messages":[{"role":"user","content":"no model"}]})";
  auto acks = cpp_client_->submitMany(reqs, 64);
  ASSERT_TRUE(acks) << acks.error().message;
  ASSERT_EQ(static_cast<size_t>(kJobs), acks->size());
  std::string previous;
  for (int i = 0; i < kJobs; ++i) {
    const auto& a = (*acks)[i];
    if (i == 500) {
      ASSERT_FALSE(a);
      EXPECT_EQ("INVALID_PARAMS", a.error().symbol);
      continue;
    }
    ASSERT_TRUE(a) << i << ": " << a.error().message;
    EXPECT_GT(a->job_id, previous) << "job ids follow the request order";
    previous = a->job_id;
  }
  // The same requests again: every one answered by its first job.
  auto again = cpp_client_->submitMany(reqs);
  ASSERT_TRUE(again);
  for (int i = 0; i < kJobs; ++i) {
    if (i != 500) {
      ASSERT_TRUE((*again)[i]);
      EXPECT_TRUE((*again)[i]->deduplicated);
      EXPECT_EQ((*acks)[i]->job_id, (*again)[i]->job_id);
    }
  }

  // callPipelined's callback sees each answer as it arrives and can stop early.
  std::vector<std::string> params(100, R"({"job_id":"j000000000001"})");
  size_t seen = 0;
  auto partial = cpp_client_->callPipelined("job.get", params, 8, [&seen](size_t index, const lc::Reply& r) {
    EXPECT_EQ(seen, index);
    EXPECT_TRUE(r.ok);
    return ++seen < 20;
  });
  ASSERT_TRUE(partial) << partial.error().message;
  EXPECT_EQ(20u, seen);
  EXPECT_GE(partial->size(), 20u);
  EXPECT_LE(partial->size(), 28u);     // At most a window's worth beyond.
  EXPECT_TRUE(cpp_client_->status());  // Nothing of the pipeline is left unread.

  // Paging through job.list.
  lc::ListQuery q;
  q.tag = "pipe";
  q.limit = 300;
  std::set<std::string> listed;
  int pages = 0;
  do {
    auto page = cpp_client_->list(q);
    ASSERT_TRUE(page) << page.error().message;
    ++pages;
    for (const lc::Job& j : page->jobs) {
      listed.insert(j.job_id);
    }
    q.cursor = page->next_cursor;
  } while (!q.cursor.empty());
  EXPECT_EQ(static_cast<size_t>(kJobs - 1), listed.size());
  EXPECT_EQ(4, pages);
}

// Collects one tag's events until `jobs` of them have ended.
class Collector : public lc::EventHandler {
 public:
  explicit Collector(int jobs) : left_(jobs) {}
  bool onEvent(const lc::Event& e) override {
    events.push_back(e);
    if (e.terminal) {
      --left_;
    }
    return left_ > 0;
  }
  std::vector<lc::Event> events;

 private:
  int left_;
};

TEST_F(CppClientTest, EventsReachTheHandlerInOrder) {
  lc::SubscribeRequest sub;
  sub.tag = "ev";
  auto s = cpp_client_->subscribe(sub);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->subscription.empty());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    lc::SubmitRequest req;
    req.request_json = echoRequest("one two three " + std::to_string(i), /*stream=*/true);
    req.tags = {"ev"};
    auto ack = cpp_client_->submit(req);
    ASSERT_TRUE(ack);
    ids.push_back(ack->job_id);
  }
  Collector collector(3);
  auto n = cpp_client_->readEvents(collector, 20000);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(collector.events.size(), *n);
  for (size_t j = 0; j < ids.size(); ++j) {
    std::string text;
    std::string final_text;
    int64_t seq = 0;
    for (const lc::Event& e : collector.events) {
      if (e.job_id != ids[j]) {
        continue;
      }
      EXPECT_EQ(s->subscription, e.subscription);
      EXPECT_GT(e.seq, seq) << e.name;
      seq = e.seq;
      if (e.name == "message_chunk") {
        text += e.text;
      } else if (e.name == "final_response") {
        final_text = e.text;
        EXPECT_TRUE(e.terminal);
      } else if (e.name == "usage") {
        EXPECT_GT(e.cost_usd, 0);
      }
      EXPECT_EQ('{', e.data_json[0]);
      EXPECT_NE(std::string::npos, e.params_json.find("\"job_id\":\"" + ids[j] + "\""));
    }
    EXPECT_EQ("one two three " + std::to_string(j), final_text);
    EXPECT_EQ(final_text, text);
  }
  EXPECT_TRUE(cpp_client_->unsubscribe(s->subscription));
  auto none = cpp_client_->nextEvent(50);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(CppClientTest, WaitTimesOutAndKeepsOtherSubscribersEvents) {
  lc::SubscribeRequest sub;
  sub.all = true;
  sub.events = {"queued", "cancelled"};
  auto s = cpp_client_->subscribe(sub);
  ASSERT_TRUE(s);
  lc::SubmitRequest req;
  req.request_json = R"({"model":"mock/hang","messages":[{"role":"user","content":"x"}]})";
  auto ack = cpp_client_->submit(req);
  ASSERT_TRUE(ack);

  auto timed_out = cpp_client_->wait(ack->job_id, 200);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(lc::ErrorKind::kTimeout, timed_out.error().kind);
  auto cancelled = cpp_client_->cancel(ack->job_id);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ("cancelled", cancelled->state);

  // The "all" subscription's events waited through wait() and cancel().
  std::vector<std::string> names;
  auto n = cpp_client_->readEvents(
      [&](const lc::Event& e) {
        EXPECT_EQ(s->subscription, e.subscription);
        names.push_back(e.name);
        return e.name != "cancelled";
      },
      10000);
  ASSERT_TRUE(n);
  EXPECT_EQ((std::vector<std::string>{"queued", "cancelled"}), names);

  auto retried = cpp_client_->retry(ack->job_id);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ("queued", retried->state);
  ASSERT_TRUE(cpp_client_->cancel(ack->job_id));
}

// The library as another project sees it: installed into a temporary DESTDIR,
// found with find_package(llmq), linked as llmq::client, run against llmqd.
TEST_F(CppClientTest, InstalledPackageWorksFromAnotherProject) {
  const std::string root = dir_.file("root");
  CommandResult install = runCommand({LLMQ_CMAKE_COMMAND, "--install", LLMQ_BUILD_DIR, "--prefix", "/usr"}, "",
                                     {"DESTDIR=" + root}, 120000);
  ASSERT_EQ(0, install.exit_code) << install.output;
  EXPECT_EQ(0, ::access((root + "/usr/include/llmq/client.h").c_str(), R_OK));
  for (const char* file : {"llmqConfig.cmake", "llmqConfigVersion.cmake", "llmqTargets.cmake"}) {
    EXPECT_NE(std::string::npos, install.output.find(std::string("/cmake/llmq/") + file)) << file;
  }
  EXPECT_NE(std::string::npos, install.output.find("libllmq_client.a")) << install.output;

  const std::string build = dir_.file("consumer-build");
  CommandResult configure =
      runCommand({LLMQ_CMAKE_COMMAND, "-S", std::string(LLMQ_TEST_DATA_DIR) + "/find_package_consumer", "-B", build,
                  "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_PREFIX_PATH=" + root + "/usr"},
                 "", {}, 120000);
  ASSERT_EQ(0, configure.exit_code) << configure.output;
  CommandResult compile = runCommand({LLMQ_CMAKE_COMMAND, "--build", build}, "", {}, 120000);
  ASSERT_EQ(0, compile.exit_code) << compile.output;

  CommandResult run = runCommand({build + "/consumer", daemon_->socketPath()}, "", {}, 30000);
  ASSERT_EQ(0, run.exit_code) << run.output;
  EXPECT_NE(std::string::npos, run.output.find("status: llmqd ")) << run.output;
  EXPECT_NE(std::string::npos, run.output.find(" protocol 1\n")) << run.output;
  EXPECT_NE(std::string::npos, run.output.find("answer: succeeded ")) << run.output;
  EXPECT_NE(std::string::npos, run.output.find("hello from a consumer")) << run.output;
}

}  // namespace
}  // namespace llmq::testing
