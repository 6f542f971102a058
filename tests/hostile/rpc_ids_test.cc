// Hostile suite, JSON-RPC ids: an id is the client's, and comes back byte for byte
// whatever number it is: 2^63 and 2^64-1 (beyond int64), 2^64 and a 400-digit
// integer (beyond uint64 and beyond a double, which RapidJSON either rounds or
// refuses), negative ones, exponents. Also in a batch. An id that only looks
// like a number ("1-5e300") is a parse error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class RpcIdsTest : public DaemonFixture {
 protected:
  void SetUp() override { launchDaemon({}); }
  std::string exchange(const std::string& bytes) { return exchangeRaw(*client_, bytes, 10000); }
};

const std::vector<std::string>& hostileIds() {
  static const std::vector<std::string> ids = {
      "9223372036854775808",   // 2^63
      "18446744073709551615",  // 2^64-1
      "18446744073709551616",  // 2^64
      "-9223372036854775809",  // -2^63-1
      "-7",
      "1" + std::string(400, '0'),
      "-1" + std::string(400, '0'),
      "1e400",
      "1E2",
      "1.0",
      "-0",
      "0.1e-400",
  };
  return ids;
}

TEST_F(RpcIdsTest, NumericIdsComeBackByteIdentical) {
  for (const std::string& id : hostileIds()) {
    const std::string line = exchange(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"daemon.status"})" + "\n");
    EXPECT_EQ(0u, line.find(R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":{)")) << id << ": " << line;
    // Errors too.
    const std::string err = exchange(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"no.such"})" + "\n");
    EXPECT_EQ(0u, err.find(R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":{"code":-32601)")) << id << ": " << err;
  }
}

TEST_F(RpcIdsTest, NumericIdsInABatchComeBackByteIdentical) {
  std::string batch = "[";
  for (const std::string& id : hostileIds()) {
    batch +=
        (batch.size() > 1 ? "," : "") + std::string(R"({"jsonrpc":"2.0","id":)") + id + R"(,"method":"no.such"})";
  }
  batch += "]\n";
  const std::string line = exchange(batch);
  for (const std::string& id : hostileIds()) {
    EXPECT_NE(std::string::npos, line.find(R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":)")) << id;
  }
  // A frame that is broken for another reason is still a parse error.
  const std::string broken =
      exchange(R"({"jsonrpc":"2.0","id":1e400,"method":"daemon.status","params":{"x":1e999}})"
               "\n");
  EXPECT_NE(std::string::npos, broken.find("-32700")) << broken;
}

// Found by fuzzing: an "id" that only looks like a number went back out as it
// came, and the answer was not JSON. Such a frame is a parse error, and every
// answer line parses.
TEST_F(RpcIdsTest, AnIdThatOnlyLooksLikeANumberIsAParseError) {
  for (const char* id : {"1-5e300", "01", "1.", "-", "1e+", "--1", "1.2.3", "1e5e5"}) {
    const std::string line =
        exchange(std::string(R"({"jsonrpc":"2.0","id":)") + id + R"(,"method":"daemon.status"})" + "\n");
    EXPECT_NE(std::string::npos, line.find("-32700")) << id << ": " << line;
    json::Document doc;
    std::string error;
    EXPECT_TRUE(json::parse(doc, line, &error)) << id << ": " << error << " in " << line;
  }
}

}  // namespace
}  // namespace llmq::testing
