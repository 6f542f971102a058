// Tests for common/json: appendString escaping (exact output and a round trip
// through the strict parser), and what the strict parser refuses.
#include "common/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

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

TEST(JsonParseTest, AcceptsValidDocumentsWithSurroundingWhitespace) {
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, " \n{\"a\":[1,\"\xc3\xa9\"]}\r\n ", &error)) << error;
  const Value* a = member(doc, "a");
  ASSERT_NE(nullptr, a);
  EXPECT_EQ("[1,\"\xc3\xa9\"]", toString(*a));
  EXPECT_EQ(nullptr, member(doc, "b"));
  EXPECT_EQ(nullptr, member((*a)[0], "a"));  // Not an object.
}

TEST(JsonParseTest, RejectsInvalidUtf8) {
  const char* bad[] = {
      "\"\xff\"",              // Never valid in UTF-8.
      "\"\x80\"",              // A lone continuation byte.
      "\"\xc3\"",              // Truncated two-byte sequence.
      "\"\xe2\x82\"",          // Truncated three-byte sequence.
      "\"\xc0\xaf\"",          // Overlong encoding of '/'.
      "\"\xed\xa0\x80\"",      // An encoded UTF-16 surrogate.
      "{\"k\xfe\":1}",         // In a key.
  };
  for (const char* text : bad) {
    Document doc;
    std::string error;
    EXPECT_FALSE(parse(doc, text, &error)) << text;
    EXPECT_FALSE(error.empty());
  }
}

TEST(JsonParseTest, RejectsTrailingGarbage) {
  for (const char* text : {"{} x", "{}}", "1 2", "[1] [2]", "\"a\"\"b\"", "{\"a\":1},"}) {
    Document doc;
    std::string error;
    EXPECT_FALSE(parse(doc, text, &error)) << text;
    EXPECT_NE(std::string::npos, error.find("at offset")) << error;
  }
}

TEST(JsonParseTest, RejectsNonStandardSyntax) {
  for (const char* text : {"", "{'a':1}", "[1,]", "{\"a\":1,}", "NaN", "// c\n1", "{a:1}"}) {
    Document doc;
    EXPECT_FALSE(parse(doc, text, nullptr)) << text;
  }
}

TEST(JsonParseTest, ParsesOnlyTheGivenLengthNotToTheNul) {
  // The view ends before the garbage; parse must not read past it.
  std::string buffer = "{\"a\":1}garbage";
  Document doc;
  std::string error;
  EXPECT_TRUE(parse(doc, std::string_view(buffer).substr(0, 7), &error)) << error;
  EXPECT_FALSE(parse(doc, buffer, &error));
}

TEST(JsonWriterTest, WriteRawEmbedsCompactJson) {
  Buffer buf;
  Writer w(buf);
  w.StartObject();
  writeKey(w, "raw");
  writeRaw(w, "{\"x\":[1,2]}");
  writeKey(w, "s");
  writeString(w, std::string_view("a\"b", 3));
  w.EndObject();
  EXPECT_EQ(R"({"raw":{"x":[1,2]},"s":"a\"b"})", std::string(buf.GetString(), buf.GetSize()));
}


std::string nested(int depth, const std::string& open, const std::string& inner, const std::string& close) {
  std::string s;
  for (int i = 0; i < depth; ++i) {
    s += open;
  }
  s += inner;
  for (int i = 0; i < depth; ++i) {
    s += close;
  }
  return s;
}

TEST(JsonParseTest, AcceptsNestingUpToTheLimit) {
  Document doc;
  std::string error;
  EXPECT_TRUE(parse(doc, nested(kMaxDepth, "[", "1", "]"), &error)) << error;
  EXPECT_TRUE(parse(doc, nested(kMaxDepth, "{\"a\":", "1", "}"), &error)) << error;
  // Brackets inside strings (escaped quotes too) are not nesting.
  const std::string in_string = "[\"" + std::string(10000, '[') + "\\\"" + std::string(10000, '{') + "\"]";
  EXPECT_TRUE(parse(doc, in_string, &error)) << error;
  ASSERT_TRUE(doc.IsArray());
  EXPECT_EQ(20001u, doc[0].GetStringLength());
}

TEST(JsonParseTest, RefusesNestingPastTheLimitWithAClearError) {
  Document doc;
  std::string error;
  EXPECT_FALSE(parse(doc, nested(kMaxDepth + 1, "[", "1", "]"), &error));
  EXPECT_EQ("JSON nested deeper than 128 levels at offset 128", error);
  EXPECT_FALSE(parse(doc, nested(kMaxDepth + 1, "{\"a\":", "1", "}"), &error));
  EXPECT_NE(std::string::npos, error.find("nested deeper than 128 levels")) << error;
}

// llmqd's answers wrap values parsed with kMaxDepth a few levels deeper; readers
// of those answers allow kMaxAnswerDepth.
TEST(JsonParseTest, AnswersMayNestDeeperUpToTheirOwnLimit) {
  Document doc;
  std::string error;
  const std::string wrapped = "{\"result\":{\"job\":" + nested(kMaxDepth, "[", "1", "]") + "}}";
  EXPECT_FALSE(parse(doc, wrapped, &error));
  EXPECT_TRUE(parse(doc, wrapped, &error, kMaxAnswerDepth)) << error;
  EXPECT_FALSE(parse(doc, nested(kMaxAnswerDepth + 1, "[", "1", "]"), &error, kMaxAnswerDepth));
  EXPECT_NE(std::string::npos, error.find("nested deeper than 256 levels")) << error;
}

// 200,000 '[' (one IPC line far under the frame limit) used to overflow the stack
// of RapidJSON's recursive parser: SIGSEGV.
TEST(JsonParseTest, HostileDepthFailsInsteadOfCrashing) {
  Document doc;
  std::string error;
  EXPECT_FALSE(parse(doc, std::string(200000, '['), &error));
  EXPECT_NE(std::string::npos, error.find("nested deeper")) << error;
  EXPECT_FALSE(parse(doc, nested(200000, "{\"a\":", "1", "}"), &error));
  EXPECT_FALSE(parse(doc, nested(200000, "[", "", "]"), &error));
  // Unbalanced and invalid text is scanned the same way up to where it goes deep.
  EXPECT_FALSE(parse(doc, "]]]]" + std::string(200000, '['), &error));
  EXPECT_FALSE(parse(doc, "[\"unterminated" + std::string(200000, '['), &error));
}

TEST(JsonFindTooDeepTest, SkipsStringsAndEscapes) {
  EXPECT_EQ(std::string_view::npos, findTooDeep("[[\"[[[[[\"]]", 2));
  EXPECT_EQ(std::string_view::npos, findTooDeep("[[\"\\\"[[[[\"]]", 2));
  EXPECT_EQ(2u, findTooDeep("[[[\"\"]]]", 2));
  EXPECT_EQ(11u, findTooDeep("[\"\\\\\"], [[[[]]]]", 3));
}

// JSON has no infinity or NaN: the writer puts null there instead of leaving a
// key without a value (RapidJSON's own writer writes nothing and returns false).
TEST(JsonWriterTest, WritesNonFiniteDoublesAsNull) {
  Buffer buf;
  Writer w(buf);
  w.StartObject();
  writeKey(w, "a");
  w.Double(HUGE_VAL);
  writeKey(w, "b");
  w.Double(std::nan(""));
  writeKey(w, "c");
  w.Double(-HUGE_VAL);
  writeKey(w, "d");
  w.Double(1.5);
  w.EndObject();
  const std::string out(buf.GetString(), buf.GetSize());
  EXPECT_EQ(R"({"a":null,"b":null,"c":null,"d":1.5})", out);

  Document doc;
  doc.SetObject();
  doc.AddMember("x", Value(HUGE_VAL), doc.GetAllocator());
  EXPECT_EQ(R"({"x":null})", toString(doc));
}

}  // namespace
}  // namespace llmq::json
