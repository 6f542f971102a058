// Tests for common/json_writer: the escaper (exact output, and a round trip
// through the strict parser), the writer's commas and nesting, and its numbers,
// each written byte for byte the way llmq wrote them by hand before.
#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

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

// The byte-at-a-time definition firstToEscape() must agree with.
size_t naiveFirstToEscape(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') {
      return i;
    }
  }
  return s.size();
}

TEST(JsonFirstToEscapeTest, FindsEachEscapableByteAtEveryPositionOfAWord) {
  // Lengths around the eight-byte steps, every byte value at every position,
  // after clean bytes of both halves (ASCII and UTF-8 continuation bytes).
  for (size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int c = 0; c < 256; ++c) {
        for (char fill : {'a', static_cast<char>(0xa9)}) {
          std::string s(len, fill);
          s[pos] = static_cast<char>(c);
          ASSERT_EQ(naiveFirstToEscape(s), firstToEscape(s)) << "len " << len << " pos " << pos << " byte " << c;
        }
      }
    }
  }
}

TEST(JsonFirstToEscapeTest, TakesTheFirstOfSeveralAndIgnoresBytesAboveThem) {
  // A borrow in the word-wide subtraction may mark a clean byte above a byte to
  // escape: the first byte must still be the one found.
  EXPECT_EQ(2u, firstToEscape(std::string("ab\x00\x01\x20\x21\x23\x5d", 8)));
  EXPECT_EQ(0u, firstToEscape(std::string("\"\x1f\\\n", 4)));
  EXPECT_EQ(9u, firstToEscape("012345678\\"));
  EXPECT_EQ(0u, firstToEscape(""));
  EXPECT_EQ(0u, firstToEscape(std::string_view{}));
  EXPECT_EQ(12u, firstToEscape("clean text /"));
}

TEST(JsonFirstToEscapeTest, AgreesWithTheByteLoopOnRandomText) {
  uint64_t x = 0x9e3779b97f4a7c15;  // xorshift64: the same text on every run.
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const size_t len = static_cast<size_t>(round % 70);
    for (size_t i = 0; i < len; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      // Mostly clean bytes, now and then one to escape.
      s.push_back(static_cast<char>(x % 16 == 0 ? x % 0x23 : 0x20 + (x >> 8) % 0xe0));
    }
    ASSERT_EQ(naiveFirstToEscape(s), firstToEscape(s)) << round;
  }
}

TEST(JsonAppendStringTest, EscapesAtEveryPositionOfALongString) {
  // The clean runs before, between and after escapes cross the eight-byte steps.
  for (size_t pos = 0; pos < 20; ++pos) {
    std::string s(20, 'x');
    s[pos] = '\n';
    std::string out;
    appendString(out, s);
    EXPECT_EQ("\"" + std::string(pos, 'x') + "\\n" + std::string(19 - pos, 'x') + "\"", out);
    expectRoundTrip(s + "\"" + s + "\x02");
  }
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

TEST(JsonWriterTest, LiteralKeysPlaceCommasAsRuntimeKeysDo) {
  std::string literal;
  JsonWriter a(literal);
  a.beginObject().key<"a">().int64(1).key<"b">().beginArray().string("x").endArray();
  a.key<"c">().beginObject().key<"d">().null().key<"e">().boolean(true).endObject();
  a.key<"f">().string("two").endObject();
  std::string runtime;
  JsonWriter b(runtime);
  b.beginObject().key("a").int64(1).key("b").beginArray().string("x").endArray();
  b.key("c").beginObject().key("d").null().key("e").boolean(true).endObject();
  b.key("f").string("two").endObject();
  EXPECT_EQ(R"({"a":1,"b":["x"],"c":{"d":null,"e":true},"f":"two"})", literal);
  EXPECT_EQ(runtime, literal);
}

TEST(JsonWriterTest, LiteralKeysMixWithRuntimeKeys) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("run\"time").int64(1).key<"literal">().int64(2).key("again").int64(3);
  w.key<"nested">().beginObject().key<"first">().string("v").endObject().endObject();
  EXPECT_EQ(R"({"run\"time":1,"literal":2,"again":3,"nested":{"first":"v"}})", out);
}

TEST(JsonWriterTest, EveryKindOfValueAfterALiteralKey) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key<"s">().string("x").key<"e">().string("").key<"q">().string("a\"b");
  w.key<"i">().int64(-3).key<"u">().uint64(4).key<"d">().decimal(0.5).key<"r">().roundTrip(1.0);
  w.key<"t">().boolean(true).key<"f">().boolean(false).key<"n">().null().key<"j">().raw("[1]");
  w.key<"o">().beginObject().endObject().key<"a">().beginArray().endArray().key<"sn">().stringOrNull("");
  w.key<"v">().rawValue().append("7");
  w.endObject();
  EXPECT_EQ(R"({"s":"x","e":"","q":"a\"b","i":-3,"u":4,"d":0.5,"r":1.0,"t":true,"f":false,"n":null,)"
            R"("j":[1],"o":{},"a":[],"sn":null,"v":7})",
            out);
}

TEST(JsonWriterTest, LiteralKeyAfterMemberStartsWithAComma) {
  std::string out = R"({"a":1)";
  JsonWriter(out, JsonWriter::Start::kAfterMember).key<"b">().string("c").endObject();
  EXPECT_EQ(R"({"a":1,"b":"c"})", out);
}

TEST(JsonWriterTest, LiteralKeyTextIsBuiltWhenCompiling) {
  // `,"name":"`: the writer drops the comma for a first member, and the quote
  // unless a string value follows.
  constexpr json::LiteralKey key("state");
  static_assert(std::string_view(key.text, sizeof key.text) == R"(,"state":")");
  constexpr json::LiteralKey empty("");
  static_assert(std::string_view(empty.text, sizeof empty.text) == R"(,"":")");
  std::string out;
  JsonWriter(out).beginObject().key<"">().int64(0).endObject();
  EXPECT_EQ(R"({"":0})", out);
}

TEST(JsonWriterTest, LongAndEscapedStringValuesAfterLiteralKeys) {
  // Past the writer's stack buffer, and with escapes: appendString's paths.
  const std::string long_text(300, 'y');
  std::string out;
  JsonWriter(out).beginObject().key<"long">().string(long_text).key<"esc">().string("a\tb").endObject();
  EXPECT_EQ("{\"long\":\"" + long_text + "\",\"esc\":\"a\\tb\"}", out);
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
