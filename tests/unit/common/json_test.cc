// Tests for common/json: what the strict parser accepts and refuses, depth,
// surrogates and duplicate keys. The escaper's tests are in json_writer_test.cc.
#include "common/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace llmq::json {
namespace {

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
      "\"\xff\"",          // Never valid in UTF-8.
      "\"\x80\"",          // A lone continuation byte.
      "\"\xc3\"",          // Truncated two-byte sequence.
      "\"\xe2\x82\"",      // Truncated three-byte sequence.
      "\"\xc0\xaf\"",      // Overlong encoding of '/'.
      "\"\xed\xa0\x80\"",  // An encoded UTF-16 surrogate.
      "{\"k\xfe\":1}",     // In a key.
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

// Arrays and objects interleaved: `depth` levels, alternating "[" and {"k":.
std::string mixed(int depth) {
  std::string open;
  std::string close;
  for (int i = 0; i < depth; ++i) {
    open += i % 2 == 0 ? "[" : "{\"k\":";
    close.insert(0, i % 2 == 0 ? "]" : "}");
  }
  return open + "null" + close;
}

TEST(JsonParseTest, DepthLimitIsExactForMixedObjectsAndArrays) {
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, mixed(kMaxDepth), &error)) << error;
  EXPECT_EQ(mixed(kMaxDepth), toString(doc));
  const std::string deeper = mixed(kMaxDepth + 1);
  EXPECT_FALSE(parse(doc, deeper, &error));
  // The offset of the opener of level 129: 64 '[' and 64 {"k": before it.
  EXPECT_EQ("JSON nested deeper than 128 levels at offset " + std::to_string(64 + 64 * 5), error);
  EXPECT_EQ(findTooDeep(deeper), 64u + 64u * 5u);
  EXPECT_TRUE(doc.IsNull());  // Nothing half-built is left behind.
  // The same for the answers' limit.
  EXPECT_TRUE(parse(doc, mixed(kMaxAnswerDepth), &error, kMaxAnswerDepth)) << error;
  EXPECT_FALSE(parse(doc, mixed(kMaxAnswerDepth + 1), &error, kMaxAnswerDepth));
  EXPECT_EQ("JSON nested deeper than 256 levels at offset " + std::to_string(128 + 128 * 5), error);
}

// Closing a container gives its level back: many siblings, each 128 deep in total.
TEST(JsonParseTest, DepthIsCountedPerPathNotPerDocument) {
  std::string text = "[";
  for (int i = 0; i < 50; ++i) {
    text += (i > 0 ? "," : "") + mixed(kMaxDepth - 1);
  }
  text += "]";
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, text, &error)) << error;
  EXPECT_EQ(50u, doc.Size());
  EXPECT_FALSE(parse(doc, "[" + mixed(kMaxDepth - 1) + "," + mixed(kMaxDepth) + "]", &error));
  EXPECT_NE(std::string::npos, error.find("nested deeper than 128 levels")) << error;
}

TEST(JsonParseTest, BracketsInStringsAtTheLimitAreNotNesting) {
  // 200,000 '[' and '{' inside keys and values of a document already 128 deep.
  const std::string brackets = std::string(100000, '[') + "\\\"" + std::string(100000, '{');
  const std::string inner = "{\"" + brackets + "\":\"" + brackets + "\"}";
  const std::string text = nested(kMaxDepth - 1, "[", inner, "]");
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, text, &error)) << error;
  const Value* v = &doc;
  for (int i = 0; i < kMaxDepth - 1; ++i) {
    ASSERT_TRUE(v->IsArray());
    v = &(*v)[0];
  }
  ASSERT_TRUE(v->IsObject());
  EXPECT_EQ(200001u, v->MemberBegin()->name.GetStringLength());
  EXPECT_EQ(200001u, v->MemberBegin()->value.GetStringLength());
  // One more level of real nesting is refused.
  EXPECT_FALSE(parse(doc, "[" + text + "]", &error));
  EXPECT_NE(std::string::npos, error.find("nested deeper than 128 levels")) << error;
}

TEST(JsonParseTest, TwoHundredThousandBracketsFailAtTheFirstLevelTooMany) {
  Document doc;
  std::string error;
  EXPECT_FALSE(parse(doc, std::string(200000, '['), &error));
  EXPECT_EQ("JSON nested deeper than 128 levels at offset 128", error);
  EXPECT_FALSE(parse(doc, std::string(200000, '{'), &error));  // Invalid at '{' #2, deep later.
  EXPECT_EQ("JSON nested deeper than 128 levels at offset 128", error);
  EXPECT_FALSE(parse(doc, nested(200000, "{\"a\":", "1", "}"), &error));
  EXPECT_EQ("JSON nested deeper than 128 levels at offset " + std::to_string(128 * 5), error);
  EXPECT_FALSE(parse(doc, std::string(200000, '['), &error, kMaxAnswerDepth));
  EXPECT_EQ("JSON nested deeper than 256 levels at offset 256", error);
}

// Invalid text that also nests too deep past its first error reports the depth,
// at the offset findTooDeep gives (the error parse() always gave for it).
TEST(JsonParseTest, InvalidTextThatGoesTooDeepReportsTheDepth) {
  for (const std::string& text : {"]]]]" + std::string(200000, '['), "[] " + std::string(200, '['),
                                  "[1 2" + std::string(200, '['), "{\"a\" 1," + std::string(200, '{')}) {
    Document doc;
    std::string error;
    EXPECT_FALSE(parse(doc, text, &error));
    const size_t deep = findTooDeep(text);
    ASSERT_NE(std::string_view::npos, deep) << text.substr(0, 20);
    EXPECT_EQ("JSON nested deeper than 128 levels at offset " + std::to_string(deep), error);
  }
}

// parse() builds exactly what Document::Parse<kStrictParse> builds, and fails
// with exactly its message when the text is not too deep.
TEST(JsonParseTest, SameResultsAsRapidJsonsOwnParse) {
  const char* texts[] = {
      "0",
      "-0",
      "-0.0",
      "1.5e300",
      "1e400",
      "-1e-400",
      "2147483647",
      "2147483648",
      "4294967296",
      "-2147483649",
      "9223372036854775807",
      "9223372036854775808",
      "18446744073709551615",
      "18446744073709551616",
      "0.1",
      "3.141592653589793238462643383279",
      "123456789012345678901234567890",
      "true",
      "false",
      "null",
      "\"\"",
      "\"\\u0000\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
      "\"caf\xc3\xa9\"",
      "{\"a\":{\"b\":[1,2.5,\"x\",null,true,{}]},\"a\":[]}",
      " [ ] ",
      "{}",
      // Invalid: each must fail with RapidJSON's own message and offset. (A lone
      // surrogate, which RapidJSON refuses, parse() reads as U+FFFD: JsonLoneSurrogateTest.)
      "",
      " ",
      "[",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{1:1}",
      "NaN",
      "Infinity",
      "-Infinity",
      "01",
      "1.",
      "1e",
      "-",
      "+1",
      "\"\\x\"",
      "\"\xff\"",
      "[1] x",
      "tru",
      "nul",
      "\"a\nb\"",
      "[1,2",
      "\"abc",
  };
  for (const char* text : texts) {
    Document ours;
    std::string error;
    const bool ok = parse(ours, text, &error);
    Document theirs;
    theirs.Parse<kStrictParse>(text, std::strlen(text));
    ASSERT_EQ(!theirs.HasParseError(), ok) << text << ": " << error;
    if (ok) {
      EXPECT_EQ(toString(theirs), toString(ours)) << text;
      EXPECT_EQ(theirs.IsInt(), ours.IsInt()) << text;
      EXPECT_EQ(theirs.IsUint(), ours.IsUint()) << text;
      EXPECT_EQ(theirs.IsInt64(), ours.IsInt64()) << text;
      EXPECT_EQ(theirs.IsUint64(), ours.IsUint64()) << text;
      EXPECT_EQ(theirs.IsDouble(), ours.IsDouble()) << text;
      if (theirs.IsDouble()) {
        EXPECT_EQ(std::signbit(theirs.GetDouble()), std::signbit(ours.GetDouble())) << text;
      }
    } else {
      EXPECT_EQ(std::string(rapidjson::GetParseError_En(theirs.GetParseError())) + " at offset " +
                    std::to_string(theirs.GetErrorOffset()),
                error)
          << text;
    }
  }
}

// A Document on a caller's pool (as the IPC dispatcher parses frames): the values
// come from that pool, and a refused text leaves nothing behind.
TEST(JsonParseTest, ParsesIntoADocumentOnAPoolAllocator) {
  char buffer[4096];
  rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
  Document doc(&pool);
  std::string error;
  const std::string frame = R"({"jsonrpc":"2.0","id":7,"method":"job.submit","params":{"a":[1]}})";
  ASSERT_TRUE(parse(doc, frame, &error)) << error;
  EXPECT_EQ(7, doc["id"].GetInt());
  EXPECT_EQ(&pool, &doc.GetAllocator());
  EXPECT_FALSE(parse(doc, std::string(1000, '['), &error));
  EXPECT_TRUE(doc.IsNull());
  ASSERT_TRUE(parse(doc, "[\"again\"]", &error)) << error;
  EXPECT_EQ("[\"again\"]", toString(doc));
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

// What a lone surrogate escape parses to: a JavaScript string cut mid-emoji.
std::string parsedString(const std::string& text) {
  Document doc;
  std::string error;
  EXPECT_TRUE(parse(doc, text, &error)) << error << " in " << text;
  if (!doc.IsString()) {
    return "(not a string)";
  }
  return std::string(view(doc));
}

TEST(JsonLoneSurrogateTest, ALoneHighSurrogateBecomesTheReplacementCharacter) {
  EXPECT_EQ("ab\xEF\xBF\xBD", parsedString(R"("ab\ud83d")"));
  EXPECT_EQ(
      "\xEF\xBF\xBD"
      "A",
      parsedString(R"("\ud83d\u0041")"));  // Followed by a non-surrogate escape.
  EXPECT_EQ(
      "\xEF\xBF\xBD"
      "x",
      parsedString(R"("\uD83Dx")"));
}

TEST(JsonLoneSurrogateTest, ALoneLowSurrogateBecomesTheReplacementCharacterNotBadUtf8) {
  const std::string s = parsedString(R"("x\udc00y")");
  EXPECT_EQ("x\xEF\xBF\xBDy", s);
}

TEST(JsonLoneSurrogateTest, PairsStayWholeAndOnlyTheLoneHalfIsReplaced) {
  EXPECT_EQ("\xF0\x9F\x98\x80", parsedString(R"("\ud83d\ude00")"));  // U+1F600
  // A lone high one, then a pair.
  EXPECT_EQ("\xEF\xBF\xBD\xF0\x9F\x98\x80", parsedString(R"("\ud83d\ud83d\ude00")"));
  // A pair, then a lone low one.
  EXPECT_EQ("\xF0\x9F\x98\x80\xEF\xBF\xBD", parsedString(R"("\ud83d\ude00\ude00")"));
}

TEST(JsonLoneSurrogateTest, AnEscapedBackslashBeforeULeavesTheTextAlone) {
  // "\\ud83d" is a backslash and the letters ud83d, not an escape.
  EXPECT_EQ("\\ud83d", parsedString(R"("\\ud83d")"));
  EXPECT_EQ(R"("\\ud83d")", replaceLoneHighSurrogates(R"("\\ud83d")"));
  EXPECT_EQ(R"("\\\ufffd")", replaceLoneHighSurrogates(R"("\\\ud83d")"));
}

TEST(JsonLoneSurrogateTest, KeysAreRepairedToo) {
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, R"({"k\ud800":1,"j\udfff":2})", &error)) << error;
  EXPECT_NE(nullptr, member(doc, "k\xEF\xBF\xBD"));
  EXPECT_NE(nullptr, member(doc, "j\xEF\xBF\xBD"));
}

TEST(JsonLoneSurrogateTest, OtherBadTextStillFailsWithItsOwnReason) {
  Document doc;
  std::string error;
  EXPECT_FALSE(parse(doc, R"(["\ud83d", tru])", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(parse(doc, R"("\ud83d\u12")", &error));  // A broken escape after it.
}

TEST(JsonLoneSurrogateTest, RepairedTextIsValidUtf8WhenWrittenBack) {
  Document doc;
  std::string error;
  ASSERT_TRUE(parse(doc, R"({"a":["\udc80","\ud800"]})", &error)) << error;
  const std::string out = toString(doc);
  Document again;
  ASSERT_TRUE(parse(again, out, &error)) << error << " in " << out;  // Strict: validates UTF-8.
  EXPECT_EQ(out, toString(again));
}

std::string duplicateIn(const std::string& text) {
  Document doc;
  std::string error;
  EXPECT_TRUE(parse(doc, text, &error)) << error;
  return findDuplicateKey(doc);
}

TEST(JsonDuplicateKeyTest, NamesTheKeyAndWhereItIs) {
  EXPECT_EQ(R"($ holds the key "model" twice)", duplicateIn(R"({"model":"a","x":1,"model":"b"})"));
  EXPECT_EQ(R"($["messages"][1] holds the key "content" twice)",
            duplicateIn(R"({"messages":[{"role":"user"},{"role":"user","content":"a","content":"b"}]})"));
  EXPECT_EQ(R"($[0]["p"] holds the key "q" twice)", duplicateIn(R"([{"p":{"q":1,"q":2}}])"));
}

TEST(JsonDuplicateKeyTest, FindsTwinsAmongManyKeys) {
  std::string text = "{";
  for (int i = 0; i < 100; ++i) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  EXPECT_EQ("", duplicateIn(text + "\"end\":0}"));
  EXPECT_EQ(R"($ holds the key "k57" twice)", duplicateIn(text + "\"k57\":0}"));
}

TEST(JsonDuplicateKeyTest, DistinctKeysAndNonObjectsHaveNone) {
  EXPECT_EQ("", duplicateIn(R"({"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]})"));
  EXPECT_EQ("", duplicateIn(R"([1,"a",null,{}])"));
  EXPECT_EQ("", duplicateIn(R"("model")"));
  // Keys that differ only after an escape are different keys.
  EXPECT_EQ("", duplicateIn(R"({"a\u0000b":1,"a":2})"));
  // Equal after unescaping: the same key.
  EXPECT_EQ(R"($ holds the key "model" twice)", duplicateIn(R"({"model":1,"mod\u0065l":2})"));
}

}  // namespace
}  // namespace llmq::json

namespace llmq::json {
namespace {

// A number read and written back is the number that came in: an embedding is a
// thousand of them, and a request's temperature goes upstream as it was sent.
TEST(JsonNumberTest, NumbersSurviveAParseAndAWriteUnchanged) {
  for (const char* text : {"[0.7]", "[-0.0057910937]", "[0.0033197093]", "[1e-7]", "[0.1]", "[123456.789]",
                           "[2.2250738585072014e-308]", "[0.30000000000000004]"}) {
    Document d;
    ASSERT_TRUE(parse(d, text, nullptr)) << text;
    Document again;
    ASSERT_TRUE(parse(again, toString(d), nullptr));
    EXPECT_EQ(d[0].GetDouble(), again[0].GetDouble()) << text << " -> " << toString(d);
    EXPECT_EQ(std::strtod(text + 1, nullptr), d[0].GetDouble()) << text;
  }
}

}  // namespace
}  // namespace llmq::json
