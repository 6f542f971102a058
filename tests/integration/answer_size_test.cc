// Integration: answers whose size grows with stored data. job.list pages by
// bytes ([ipc] max_answer_bytes) as well as by count, and an answer too large
// for the connection's output bound comes back as a -32005 error instead of a
// connection cut off without a word.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

// A mock/echo job whose result carries `bytes` of text.
std::string bigSubmit(size_t bytes, int n) {
  return R"({"request":{"model":"mock/echo","messages":[{"role":"user","content":")" + std::to_string(n) +
         std::string(bytes, 'y') + R"("}]}})";
}

class AnswerSizeTest : public DaemonFixture {
 protected:
  void start(const std::string& ipc_toml) { launchDaemon({.config_toml = "[ipc]\n" + ipc_toml}); }
};

TEST_F(AnswerSizeTest, JobListPagesByBytes) {
  start("max_answer_bytes = 16384\n");
  for (int i = 0; i < 12; ++i) {
    json::Document ack = callOk(*client_, "job.submit", bigSubmit(3000, i));
    ASSERT_EQ("succeeded", waitTerminal(*client_, ack["job_id"].GetString()));
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 20; ++pages) {
    std::string params = R"({"include_result":true,"limit":100)";
    if (!cursor.empty()) {
      params += R"(,"cursor":")" + cursor + "\"";
    }
    params += "}";
    auto r = client_->call("job.list", params);
    ASSERT_TRUE(r && r->ok());
    std::string text = json::toString(*r->result);
    EXPECT_LE(text.size(), 16384u + 64) << "a page stays within max_answer_bytes";
    const json::Value& jobs = (*r->result)["jobs"];
    ASSERT_GE(jobs.Size(), 1u);
    for (const auto& j : jobs.GetArray()) {
      seen.insert(j["job_id"].GetString());
      EXPECT_TRUE(j["result"].IsObject());
    }
    const json::Value& next = (*r->result)["next_cursor"];
    if (next.IsNull()) {
      break;
    }
    cursor = next.GetString();
  }
  EXPECT_GE(pages, 2) << "12 results of 3 KB do not fit in one 16 KiB page";
  EXPECT_EQ(12u, seen.size()) << "paging reaches every job once";
}

TEST_F(AnswerSizeTest, AJobLargerThanThePageIsListedWithoutItsResult) {
  start("max_answer_bytes = 8192\n");
  json::Document ack = callOk(*client_, "job.submit", bigSubmit(20000, 0));
  ASSERT_EQ("succeeded", waitTerminal(*client_, ack["job_id"].GetString()));
  json::Document list = callOk(*client_, "job.list", R"({"include_result":true})");
  ASSERT_EQ(1u, list["jobs"].Size());
  EXPECT_TRUE(list["jobs"][0]["result"].IsNull());
  EXPECT_TRUE(list["jobs"][0]["result_omitted"].GetBool());
}

// An answer larger than the connection may hold (a waited job with a big result, a
// small output bound): a -32005 error, and the connection still works.
TEST_F(AnswerSizeTest, AnAnswerTooLargeForTheConnectionIsAnError) {
  start("max_pending_output_bytes = 65536\nmax_pending_output_hard_bytes = 65536\n");
  std::string params = bigSubmit(100000, 0);
  params.insert(params.size() - 1, R"(,"wait":true)");
  auto r = client_->call("job.submit", params);
  ASSERT_TRUE(r) << "the client got no answer: " << r.error().message;
  EXPECT_EQ(-32005, r->error.code);
  EXPECT_NE(std::string::npos, r->error.message.find("max_pending_output_hard_bytes")) << r->error.message;
  callOk(*client_, "daemon.status", "{}");
}

}  // namespace
}  // namespace llmq::testing
