// Tests for common/json_writer: the escaper (exact output, and a round trip
// through the strict parser), the writer's commas and nesting, and its numbers,
// each written byte for byte the way llmq wrote them by hand before.
#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "common/json.h"
#include "common/text.h"

namespace llmq::json {
namespace {

// appendString(s), parsed back: must be a JSON string equal to s, byte for byte.
void expectRoundTrip(const std::string& s) {
  std::string out;
  appendString(out, s);
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, out, &error)) << error << " in " << out;
  ASSERT_TRUE(doc.IsString()) << out;
  EXPECT_EQ(s, std::string(view(doc))) << out;
}

TEST(JsonAppendStringTest, EscapesQuotesBackslashesAndNamedControls) {
  std::string out = "x=";
  appendString(out, "a\"b\\c\nd\re\tf\bg\fh");
  EXPECT_EQ(R"(x="a\"b\\c\nd\re\tf\bg\fh")", out);
}

TEST(JsonAppendStringTest, EscapesOtherControlCharactersAsUnicode) {
  std::string out;
  appendString(out, std::string("\x00\x01\x1f\x7f", 4));
  // 0x7f (DEL) is not a control character for JSON and passes through.
  EXPECT_EQ(std::string("\"\\u0000\\u0001\\u001f\x7f\""), out);
}

TEST(JsonAppendStringTest, EmptyAndPlainStrings) {
  std::string out;
  appendString(out, "");
  EXPECT_EQ("\"\"", out);
  out.clear();
  appendString(out, "plain text, no escapes / at all");
  EXPECT_EQ("\"plain text, no escapes / at all\"", out);
}

TEST(JsonAppendStringTest, PassesUtf8Through) {
  const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // café € 😀
  std::string out;
  appendString(out, text);
  EXPECT_EQ("\"" + text + "\"", out);
  expectRoundTrip(text);
}

TEST(JsonAppendStringTest, EveryByteBelow0x80RoundTrips) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    all.push_back(static_cast<char>(c));
  }
  expectRoundTrip(all);
  // Escapes at the start, the end and back to back.
  expectRoundTrip("\"");
  expectRoundTrip("\\\\\"\"\n");
  expectRoundTrip("\nmiddle\n");
}
TEST(JsonAppendStringTest, InvalidUtf8IsCopiedNotRepaired) {
  // The caller's promise (valid UTF-8) is not checked: the escaper copies bytes.
  std::string out;
  appendString(out,
               "a\xff"
               "b");
  EXPECT_EQ(
      "\"a\xff"
      "b\"",
      out);
}

TEST(JsonAppendStringTest, AppendsAfterWhatTheStringHolds) {
  std::string out = "[1,";
  appendString(out, "x\"");
  EXPECT_EQ("[1,\"x\\\"\"", out);
}

}  // namespace
}  // namespace llmq::json

namespace llmq {
namespace {

TEST(JsonWriterTest, EmptyObjectAndArray) {
  std::string out;
  JsonWriter(out).beginObject().endObject();
  EXPECT_EQ("{}", out);
  out.clear();
  JsonWriter(out).beginArray().endArray();
  EXPECT_EQ("[]", out);
}

TEST(JsonWriterTest, PutsCommasBetweenMembersAndElements) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("a").int64(1);
  w.key("b").string("two");
  w.key("c").beginArray().int64(1).int64(2).string("3").endArray();
  w.key("d").null();
  w.endObject();
  EXPECT_EQ(R"({"a":1,"b":"two","c":[1,2,"3"],"d":null})", out);
}

TEST(JsonWriterTest, NestsObjectsInArraysInObjects) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("rows").beginArray();
  for (int i = 0; i < 3; ++i) {
    w.beginObject().key("i").int64(i).key("empty").beginObject().endObject().key("list").beginArray();
    w.beginArray().endArray().beginArray().boolean(i == 1).endArray();
    w.endArray().endObject();
  }
  w.endArray().key("after").boolean(false).endObject();
  EXPECT_EQ(R"({"rows":[{"i":0,"empty":{},"list":[[],[false]]},)"
            R"({"i":1,"empty":{},"list":[[],[true]]},)"
            R"({"i":2,"empty":{},"list":[[],[false]]}],"after":false})",
            out);
  json::Document doc;
  EXPECT_TRUE(json::parse(doc, out, nullptr));
}

TEST(JsonWriterTest, EscapesKeysAndStrings) {
  std::string out;
  JsonWriter(out).beginObject().key("k\"\n").string("v\\\x01\xc3\xa9").endObject();
  EXPECT_EQ("{\"k\\\"\\n\":\"v\\\\\\u0001\xc3\xa9\"}", out);
}

TEST(JsonWriterTest, RawIsCopiedAsIsAndCountsAsAValue) {
  std::string out;
  JsonWriter(out).beginArray().raw(R"({"x":[1, 2]})").raw("null").int64(3).endArray();
  EXPECT_EQ(R"([{"x":[1, 2]},null,3])", out);
}

TEST(JsonWriterTest, StringOrNull) {
  std::string out;
  JsonWriter(out).beginArray().stringOrNull("").stringOrNull("x").endArray();
  EXPECT_EQ(R"([null,"x"])", out);
}

TEST(JsonWriterTest, AppendsToWhatTheStringHolds) {
  std::string out = "prefix ";
  JsonWriter(out).beginObject().key("a").boolean(true).endObject();
  EXPECT_EQ(R"(prefix {"a":true})", out);
}

TEST(JsonWriterTest, AfterMemberStartsWithAComma) {
  // A job object that gets one more member: the string already holds members.
  std::string out = R"({"a":1)";
  JsonWriter w(out, JsonWriter::Start::kAfterMember);
  w.key("b").boolean(true).endObject();
  EXPECT_EQ(R"({"a":1,"b":true})", out);
  out = "[1";
  JsonWriter(out, JsonWriter::Start::kAfterMember).int64(2).endArray();
  EXPECT_EQ("[1,2]", out);
}

TEST(JsonWriterTest, IntegersAsToStringWritesThem) {
  std::string out;
  JsonWriter w(out);
  const int64_t ints[] = {0, -1, 7, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  w.beginArray();
  std::string expected = "[";
  for (int64_t n : ints) {
    w.int64(n);
    expected += (expected.size() > 1 ? "," : "") + std::to_string(n);
  }
  w.uint64(std::numeric_limits<uint64_t>::max()).endArray();
  expected += "," + std::to_string(std::numeric_limits<uint64_t>::max()) + "]";
  EXPECT_EQ(expected, out);
}

TEST(JsonWriterTest, DecimalAsCommonTextPrintsIt) {
  for (double d : {0.0, 0.000123, 2.5, 1e-12, 1e308, -3.25, 1.0 / 3, 123456789012.0, HUGE_VAL, std::nan("")}) {
    std::string out;
    JsonWriter(out).decimal(d);
    EXPECT_EQ(decimal(d), out) << d;
  }
  std::string out;
  JsonWriter(out).beginArray().decimal(0.1).decimal(HUGE_VAL).endArray();
  EXPECT_EQ("[0.1,null]", out);
}

TEST(JsonWriterTest, RoundTripAsRapidJsonsWriterPrintsIt) {
  for (double d : {0.0, 1.0, -2.0, 0.5, 0.1, 3e-7, 0.000003, 1.5e-8, 1e21, 1e22, 123456.789, 1.0 / 3, 5e-324,
                   std::numeric_limits<double>::max(), HUGE_VAL, -HUGE_VAL, std::nan("")}) {
    json::Buffer buf;
    json::Writer rapid(buf);
    rapid.Double(d);
    std::string out;
    JsonWriter(out).roundTrip(d);
    EXPECT_EQ(std::string(buf.GetString(), buf.GetSize()), out) << d;
  }
  std::string out;
  JsonWriter(out).roundTrip(1.0);
  EXPECT_EQ("1.0", out);
}

TEST(JsonWriterTest, AnEmptyViewWithoutStorageIsAnEmptyString) {
  // std::string_view{} holds a null pointer; found by fuzz_responses (UBSan: memcpy from null).
  std::string out;
  JsonWriter w(out);
  w.beginObject().key(std::string_view{}).string(std::string_view{}).endObject();
  EXPECT_EQ(R"({"":""})", out);
}

}  // namespace
}  // namespace llmq
