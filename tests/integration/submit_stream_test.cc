// Integration: the real llmqd on a temporary socket and database; a job is
// submitted, streamed back over events and stored with its result.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

json::Document parse(const std::string& line) {
  json::Document d;
  EXPECT_TRUE(json::parse(d, line, nullptr)) << line;
  return d;
}

TEST(SubmitStreamTest, StreamsChunksThenFinalResponseAndStoresResult) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[mock]\nchunk_delay_ms = 2\nfirst_chunk_delay_ms = 1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  ASSERT_NE(nullptr, client);

  auto submitted =
      client->call("job.submit",
                   R"({"request":{"model":"mock/demo","messages":[{"role":"user","content":"stream please"}],)"
                   R"("stream":true,"max_tokens":6},"subscribe":true,"client":"it"})",
                   5000);
  ASSERT_TRUE(submitted) << submitted.error().message;
  ASSERT_TRUE(submitted->ok()) << submitted->error.message;
  std::string job_id = (*submitted->result)["job_id"].GetString();

  std::vector<std::string> names;
  std::string streamed;
  std::string final_content;
  int64_t last_seq = 0;
  while (final_content.empty()) {
    auto line = client->nextNotification(5000);
    ASSERT_TRUE(line) << line.error().message;
    ASSERT_TRUE(line->has_value()) << "timed out waiting for events";
    json::Document ev = parse(**line);
    const json::Value& params = ev["params"];
    EXPECT_EQ(job_id, params["job_id"].GetString());
    EXPECT_EQ(last_seq + 1, params["seq"].GetInt64()) << "events out of order or lost";
    last_seq = params["seq"].GetInt64();
    std::string name = params["event"].GetString();
    names.push_back(name);
    if (name == "message_chunk") {
      streamed += params["data"]["delta"].GetString();
    } else if (name == "final_response") {
      final_content = params["data"]["content"].GetString();
    }
  }
  ASSERT_GE(names.size(), 5u);
  EXPECT_EQ("queued", names[0]);
  EXPECT_EQ("started", names[1]);
  EXPECT_EQ("message_chunk", names[2]);
  EXPECT_EQ("usage", names[names.size() - 2]);
  EXPECT_EQ(streamed, final_content);

  auto got = client->call("job.get", "{\"job_id\":\"" + job_id + "\"}", 5000);
  ASSERT_TRUE(got && got->ok());
  const json::Value& job = *got->result;
  EXPECT_STREQ("succeeded", job["state"].GetString());
  EXPECT_STREQ("it", job["client"].GetString());
  EXPECT_EQ(1, job["attempts"].GetInt());
  EXPECT_EQ(final_content, job["result"]["choices"][0]["message"]["content"].GetString());
  EXPECT_EQ(6, job["usage"]["completion_tokens"].GetInt());
  EXPECT_GT(job["usage"]["cost_usd"].GetDouble(), 0.0);
  ASSERT_TRUE(daemon.stop());
}

}  // namespace
}  // namespace llmq::testing
