// Tests for ipc/jsonrpc: request envelope validation, the exact shape of result
// and error lines (parsed back), symbolic error names, and client request lines.
#include "ipc/jsonrpc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/json.h"

namespace llmq::ipc {
namespace {

struct Parsed {
  json::Document doc;
  RpcRequest req;
  RpcError err;
  bool ok = false;
};

// Parses `text` as JSON (which must succeed) and then as a request envelope.
void parseEnvelope(const std::string& text, Parsed* p) {
  std::string error;
  ASSERT_TRUE(json::parse(p->doc, text, &error)) << error << ": " << text;
  p->ok = parseRequest(p->doc, &p->req, &p->err);
}

TEST(JsonRpcTest, ParsesAFullRequest) {
  Parsed p;
  parseEnvelope(R"({"jsonrpc":"2.0","id":17,"method":"job.get","params":{"job_id":"j1"}})", &p);
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ("job.get", p.req.method);
  EXPECT_EQ("17", p.req.id_raw);
  EXPECT_FALSE(p.req.isNotification());
  ASSERT_NE(nullptr, p.req.params);
  EXPECT_TRUE(p.req.params->IsObject());
  EXPECT_EQ("{\"job_id\":\"j1\"}", json::toString(*p.req.params));
}

TEST(JsonRpcTest, KeepsStringAndNullIdsAsCompactJson) {
  Parsed s;
  parseEnvelope(R"({"jsonrpc":"2.0","id":"a\"b","method":"m"})", &s);
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(R"("a\"b")", s.req.id_raw);
  EXPECT_EQ(nullptr, s.req.params);

  Parsed n;
  parseEnvelope(R"({"jsonrpc":"2.0","id":null,"method":"m","params":[1,2]})", &n);
  ASSERT_TRUE(n.ok);
  EXPECT_EQ("null", n.req.id_raw);
  EXPECT_FALSE(n.req.isNotification());
  ASSERT_NE(nullptr, n.req.params);
  EXPECT_TRUE(n.req.params->IsArray());

  Parsed f;
  parseEnvelope(R"({"jsonrpc":"2.0","id":1.5,"method":"m"})", &f);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ("1.5", f.req.id_raw);
}

TEST(JsonRpcTest, ANotificationHasNoId) {
  Parsed p;
  parseEnvelope(R"({"jsonrpc":"2.0","method":"events.unsubscribe","params":{}})", &p);
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.req.isNotification());
  EXPECT_EQ("", p.req.id_raw);
  EXPECT_EQ("events.unsubscribe", p.req.method);
}

TEST(JsonRpcTest, RejectsNonObjects) {
  for (const char* text : {"[]", "1", "\"x\"", "null", "true"}) {
    Parsed p;
    parseEnvelope(text, &p);
    EXPECT_FALSE(p.ok) << text;
    EXPECT_EQ(rpc::kInvalidRequest, p.err.code) << text;
    EXPECT_EQ("", p.req.id_raw) << text;
  }
}

TEST(JsonRpcTest, RejectsAMissingOrWrongVersionButKeepsTheId) {
  for (const char* text : {R"({"id":3,"method":"m"})", R"({"jsonrpc":"1.0","id":3,"method":"m"})",
                           R"({"jsonrpc":2.0,"id":3,"method":"m"})", R"({"jsonrpc":"2.0 ","id":3,"method":"m"})"}) {
    Parsed p;
    parseEnvelope(text, &p);
    EXPECT_FALSE(p.ok) << text;
    EXPECT_EQ(rpc::kInvalidRequest, p.err.code) << text;
    EXPECT_NE(std::string::npos, p.err.message.find("jsonrpc")) << p.err.message;
    // The id was readable, so the error can be answered with it.
    EXPECT_EQ("3", p.req.id_raw) << text;
  }
}

TEST(JsonRpcTest, RejectsAMissingOrNonStringMethod) {
  for (const char* text :
       {R"({"jsonrpc":"2.0","id":"x"})", R"({"jsonrpc":"2.0","id":"x","method":7})",
        R"({"jsonrpc":"2.0","id":"x","method":null})", R"({"jsonrpc":"2.0","id":"x","method":["m"]})"}) {
    Parsed p;
    parseEnvelope(text, &p);
    EXPECT_FALSE(p.ok) << text;
    EXPECT_EQ(rpc::kInvalidRequest, p.err.code) << text;
    EXPECT_NE(std::string::npos, p.err.message.find("method")) << p.err.message;
    EXPECT_EQ("\"x\"", p.req.id_raw) << text;
  }
}

TEST(JsonRpcTest, RejectsScalarParams) {
  for (const char* text : {R"({"jsonrpc":"2.0","id":1,"method":"m","params":1})",
                           R"({"jsonrpc":"2.0","id":1,"method":"m","params":"x"})",
                           R"({"jsonrpc":"2.0","id":1,"method":"m","params":null})",
                           R"({"jsonrpc":"2.0","id":1,"method":"m","params":true})"}) {
    Parsed p;
    parseEnvelope(text, &p);
    EXPECT_FALSE(p.ok) << text;
    EXPECT_EQ(rpc::kInvalidRequest, p.err.code) << text;
    EXPECT_NE(std::string::npos, p.err.message.find("params")) << p.err.message;
    EXPECT_EQ("1", p.req.id_raw);
  }
}

TEST(JsonRpcTest, RejectsAnIdOfTheWrongTypeAndAnswersWithNull) {
  for (const char* text :
       {R"({"jsonrpc":"2.0","id":{},"method":"m"})", R"({"jsonrpc":"2.0","id":[1],"method":"m"})",
        R"({"jsonrpc":"2.0","id":true,"method":"m"})"}) {
    Parsed p;
    parseEnvelope(text, &p);
    EXPECT_FALSE(p.ok) << text;
    EXPECT_EQ(rpc::kInvalidRequest, p.err.code) << text;
    EXPECT_NE(std::string::npos, p.err.message.find("id")) << p.err.message;
    EXPECT_EQ("null", p.req.id_raw) << text;
  }
}

TEST(JsonRpcTest, AppendResultWritesOneExactLine) {
  std::string out = "prefix|";
  appendResult(out, "42", R"({"job_id":"j000000000001","n":[1,2]})");
  EXPECT_EQ(R"(prefix|{"jsonrpc":"2.0","id":42,"result":{"job_id":"j000000000001","n":[1,2]}})"
            "\n",
            out);

  json::Document doc;
  std::string line = out.substr(7, out.size() - 8);
  ASSERT_TRUE(json::parse(doc, line, nullptr));
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(3u, doc.MemberCount());
  EXPECT_EQ("2.0", json::view(doc["jsonrpc"]));
  EXPECT_EQ(42, doc["id"].GetInt());
  EXPECT_EQ("j000000000001", json::view(doc["result"]["job_id"]));
}

TEST(JsonRpcTest, AResultForANotificationCarriesANullId) {
  std::string out;
  appendResultObject(out, "", "{}");
  EXPECT_EQ(R"({"jsonrpc":"2.0","id":null,"result":{}})", out);
}

TEST(JsonRpcTest, AppendErrorEscapesTheMessageAndNamesTheCode) {
  std::string out;
  appendError(out, "\"req-1\"", RpcError{rpc::kInvalidParams, "bad \"priority\"\n\tvalue\\", {}});
  ASSERT_FALSE(out.empty());
  ASSERT_EQ('\n', out.back());
  EXPECT_EQ(1, std::count(out.begin(), out.end(), '\n'));  // One line, whatever the message.

  json::Document doc;
  std::string error;
  ASSERT_TRUE(json::parse(doc, std::string_view(out).substr(0, out.size() - 1), &error)) << error;
  EXPECT_EQ("2.0", json::view(doc["jsonrpc"]));
  EXPECT_EQ("req-1", json::view(doc["id"]));
  EXPECT_FALSE(doc.HasMember("result"));
  const json::Value& e = doc["error"];
  EXPECT_EQ(-32602, e["code"].GetInt());
  EXPECT_EQ("bad \"priority\"\n\tvalue\\", json::view(e["message"]));
  EXPECT_EQ("INVALID_PARAMS", json::view(e["data"]["code"]));
  EXPECT_EQ(1u, e["data"].MemberCount());
}

TEST(JsonRpcTest, AnErrorSymbolOverridesTheDefaultName) {
  std::string out;
  appendErrorObject(out, "", RpcError{rpc::kInvalidState, "nope", "JOB_FINISHED"});
  EXPECT_EQ(
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32004,"message":"nope","data":{"code":"JOB_FINISHED"}}})",
      out);
}

TEST(JsonRpcTest, SymbolForNamesEveryCode) {
  EXPECT_STREQ("PARSE_ERROR", rpc::symbolFor(-32700));
  EXPECT_STREQ("INVALID_REQUEST", rpc::symbolFor(-32600));
  EXPECT_STREQ("METHOD_NOT_FOUND", rpc::symbolFor(-32601));
  EXPECT_STREQ("INVALID_PARAMS", rpc::symbolFor(-32602));
  EXPECT_STREQ("INTERNAL_ERROR", rpc::symbolFor(-32603));
  EXPECT_STREQ("NOT_FOUND", rpc::symbolFor(-32001));
  EXPECT_STREQ("BUDGET_EXCEEDED", rpc::symbolFor(-32002));
  EXPECT_STREQ("PERMISSION_DENIED", rpc::symbolFor(-32003));
  EXPECT_STREQ("INVALID_STATE", rpc::symbolFor(-32004));
  EXPECT_STREQ("OVERLOADED", rpc::symbolFor(-32005));
  EXPECT_STREQ("STORAGE_FAILURE", rpc::symbolFor(-32006));
  EXPECT_STREQ("ERROR", rpc::symbolFor(0));
  EXPECT_STREQ("ERROR", rpc::symbolFor(-32000));
}

TEST(JsonRpcTest, MakeRequestBuildsALineTheServerAccepts) {
  std::string line = makeRequest("job.get", R"({"job_id":"j000000000001"})", 9);
  ASSERT_EQ('\n', line.back());
  Parsed p;
  parseEnvelope(line.substr(0, line.size() - 1), &p);
  ASSERT_TRUE(p.ok) << p.err.message;
  EXPECT_EQ("job.get", p.req.method);
  EXPECT_EQ("9", p.req.id_raw);
  ASSERT_NE(nullptr, p.req.params);

  std::string bare = makeRequest("daemon.status", "", 1);
  EXPECT_EQ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}\n", bare);
}

// Numeric ids are found as written, for a request and for each batch element, and
// only the request's own "id" (not one nested in params).
TEST(JsonRpcTest, ScanNumericIdsKeepsTheirText) {
  const std::string big = "1" + std::string(400, '0');
  const std::string one = R"({"jsonrpc":"2.0","params":{"id":5},"id":)" + big + R"(,"method":"m"})";
  auto ids = scanNumericIds(one);
  ASSERT_EQ(1u, ids.size());
  EXPECT_EQ(-1, ids[0].element);
  EXPECT_EQ(big, ids[0].text);
  EXPECT_EQ(big, one.substr(ids[0].begin, ids[0].end - ids[0].begin));
  EXPECT_EQ(R"({"jsonrpc":"2.0","params":{"id":5},"id":0,"method":"m"})", withIdsZeroed(one, ids));

  const std::string batch = R"([{"id":18446744073709551616},7,{"id":"s"},[1],{"x":{"id":3},"id":-1e400}])";
  ids = scanNumericIds(batch);
  ASSERT_EQ(2u, ids.size());
  EXPECT_EQ(0, ids[0].element);
  EXPECT_EQ("18446744073709551616", ids[0].text);
  EXPECT_EQ(4, ids[1].element);
  EXPECT_EQ("-1e400", ids[1].text);

  EXPECT_TRUE(scanNumericIds("{\"id\":").empty());
}

// Found by fuzz_ipc_dispatch: "1-5e300" was zeroed for the parser, which then
// accepted the frame, and went back out as the answer's id: not JSON.
TEST(JsonRpcTest, AnIdThatIsNotAJsonNumberIsNotKept) {
  for (const char* bad : {"1-5e300", "01", "1.", "-", "1e", "1e+", ".5", "1.2.3", "+1", "1E5-"}) {
    const std::string frame = std::string(R"({"jsonrpc":"2.0","id":)") + bad + R"(,"method":"m"})";
    EXPECT_TRUE(scanNumericIds(frame).empty()) << bad;
  }
  for (const char* good : {"0", "-0", "1.5", "-1e-400", "2E+3", "123456789012345678901234567890"}) {
    const std::string frame = std::string(R"({"jsonrpc":"2.0","id":)") + good + R"(,"method":"m"})";
    auto ids = scanNumericIds(frame);
    ASSERT_EQ(1u, ids.size()) << good;
    EXPECT_EQ(good, ids[0].text);
  }
}

}  // namespace
}  // namespace llmq::ipc
