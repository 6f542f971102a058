// Tests for daemon/turn/event_line: the prefix and tail of an event
// notification byte for byte, and that together they are one JSON-RPC line.
#include "daemon/turn/event_line.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/json.h"

namespace llmq::daemon {
namespace {

TEST(EventLineTest, Prefix) {
  EXPECT_EQ(R"({"jsonrpc":"2.0","method":"event","params":{"subscription":"s7")", eventPrefix(7));
  EXPECT_EQ(R"({"jsonrpc":"2.0","method":"event","params":{"subscription":"s18446744073709551615")",
            eventPrefix(UINT64_MAX));
}

TEST(EventLineTest, TailWithDataAndWithout) {
  EXPECT_EQ(
      R"(,"job_id":"j00000001e240","seq":3,"event":"message_chunk","ts":"2025-11-24T16:00:00.123Z",)"
      R"("data":{"delta":"x","index":0}}})"
      "\n",
      eventTail("j00000001e240", 3, ipc::EventKind::kMessageChunk, R"({"delta":"x","index":0})", 1764000000123));
  EXPECT_EQ(R"(,"job_id":"j000000000001","seq":1,"event":"queued","ts":"1970-01-01T00:00:00.000Z","data":{}}})"
            "\n",
            eventTail("j000000000001", 1, ipc::EventKind::kQueued, "", 0));
}

TEST(EventLineTest, PrefixAndTailMakeOneNotification) {
  const std::string line =
      eventPrefix(2) + eventTail("j000000000005", 9, ipc::EventKind::kUsage, R"({"cost_usd":0.1})", 1000);
  ASSERT_EQ('\n', line.back());
  json::Document doc;
  ASSERT_TRUE(json::parse(doc, std::string_view(line).substr(0, line.size() - 1), nullptr)) << line;
  const json::Value& params = doc["params"];
  EXPECT_EQ(std::string("s2"), params["subscription"].GetString());
  EXPECT_EQ(9, params["seq"].GetInt64());
  EXPECT_EQ(std::string("usage"), params["event"].GetString());
}

}  // namespace
}  // namespace llmq::daemon
