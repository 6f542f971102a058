// Tests for upstream::SseParser: a captured-style OpenRouter stream split at every
// byte gives the same events, the three line endings (and "\r\n" split across
// chunks), the `data:` field rules, comments, ignored fields, the BOM, finish()
// states and the buffer cap.
#include "upstream/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace llmq::upstream {
namespace {

struct Parsed {
  std::vector<std::string> events;
  uint64_t comments = 0;
  bool overflowed = false;
  SseEnd end = SseEnd::kClean;
};

// Feeds `chunks` in order and finishes.
Parsed parseChunks(const std::vector<std::string_view>& chunks, size_t cap = SseParser::kDefaultMaxBufferedBytes) {
  SseParser parser(cap);
  Parsed out;
  for (std::string_view c : chunks) {
    parser.feed(c, [&](std::string_view data) { out.events.emplace_back(data); });
  }
  out.comments = parser.comments();
  out.overflowed = parser.overflowed();
  EXPECT_EQ(out.events.size(), parser.events());
  out.end = parser.finish();
  return out;
}

Parsed parseWhole(std::string_view s, size_t cap = SseParser::kDefaultMaxBufferedBytes) {
  return parseChunks({s}, cap);
}

std::string replaceAll(std::string s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos);
  return out;
}

// Every two-way split of `s` yields `expected`.
void expectSameAtEverySplit(const std::string& s, const Parsed& expected) {
  for (size_t i = 0; i <= s.size(); ++i) {
    const std::string_view v(s);
    const Parsed p = parseChunks({v.substr(0, i), v.substr(i)});
    ASSERT_EQ(expected.events, p.events) << "split at byte " << i;
    ASSERT_EQ(expected.comments, p.comments) << "split at byte " << i;
    ASSERT_EQ(expected.end, p.end) << "split at byte " << i;
  }
}

TEST(SseParserTest, OpenRouterStreamGivesItsEventsAndCountsTheComment) {
  const std::string stream = llmq::testing::readTestData("openrouter_stream.txt");
  const Parsed p = parseWhole(stream);
  ASSERT_EQ(5u, p.events.size());
  EXPECT_EQ(0u, p.events[0].rfind("{\"id\":\"gen-1741305600-Xq3LbZ8mN2pR7tYc\"", 0)) << p.events[0];
  EXPECT_NE(std::string::npos, p.events[3].find("\"choices\":[],\"usage\""));
  EXPECT_EQ("[DONE]", p.events[4]);
  EXPECT_EQ(1u, p.comments);
  EXPECT_EQ(SseEnd::kClean, p.end);
  EXPECT_FALSE(p.overflowed);
}

TEST(SseParserTest, OpenRouterStreamSplitAtEveryByteGivesIdenticalEvents) {
  const std::string stream = llmq::testing::readTestData("openrouter_stream.txt");
  const Parsed whole = parseWhole(stream);
  ASSERT_EQ(5u, whole.events.size());
  expectSameAtEverySplit(stream, whole);
}

TEST(SseParserTest, OneByteAtATimeGivesIdenticalEvents) {
  const std::string stream = llmq::testing::readTestData("openrouter_stream.txt");
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) {
    bytes.push_back(std::string_view(stream).substr(i, 1));
  }
  const Parsed p = parseChunks(bytes);
  EXPECT_EQ(parseWhole(stream).events, p.events);
  EXPECT_EQ(1u, p.comments);
}

TEST(SseParserTest, CrLfAndLoneCrLineEndingsGiveTheSameEventsAtEverySplit) {
  const std::string lf = llmq::testing::readTestData("openrouter_stream.txt");
  const Parsed expected = parseWhole(lf);
  ASSERT_EQ(5u, expected.events.size());
  const std::string crlf = replaceAll(lf, "\n", "\r\n");
  const std::string cr = replaceAll(lf, "\n", "\r");
  ASSERT_NE(lf, crlf);
  EXPECT_EQ(expected.events, parseWhole(crlf).events);
  EXPECT_EQ(expected.events, parseWhole(cr).events);
  expectSameAtEverySplit(crlf, expected);
  expectSameAtEverySplit(cr, expected);
}

TEST(SseParserTest, CrLfSplitBetweenCrAndLfIsOneLineEnding) {
  // Were the '\n' read as a second (blank) line, "a" would be dispatched alone.
  const Parsed p = parseChunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  EXPECT_EQ(std::vector<std::string>{"a\nb"}, p.events);
  EXPECT_EQ(SseEnd::kClean, p.end);
}

TEST(SseParserTest, MixedLineEndingsInOneStream) {
  const Parsed p = parseWhole("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r");
  EXPECT_EQ((std::vector<std::string>{"a\nb\nc", "d"}), p.events);
}

TEST(SseParserTest, LoneCrThenCrLfAreTwoLineEndings) {
  // "\r" then "\r\n": a line end and a blank line, so the event is dispatched.
  EXPECT_EQ(std::vector<std::string>{"x"}, parseChunks({"data: x\r", "\r\n"}).events);
  EXPECT_EQ(std::vector<std::string>{"x"}, parseChunks({"data: x\r", "\r", "\n"}).events);
}

TEST(SseParserTest, DataWithAndWithoutTheOptionalSpace) {
  EXPECT_EQ(std::vector<std::string>{"x"}, parseWhole("data:x\n\n").events);
  EXPECT_EQ(std::vector<std::string>{"x"}, parseWhole("data: x\n\n").events);
  EXPECT_EQ(std::vector<std::string>{" x"}, parseWhole("data:  x\n\n").events);  // Only one space goes.
  EXPECT_EQ(std::vector<std::string>{"x "}, parseWhole("data: x \n\n").events);  // Trailing space stays.
  EXPECT_EQ(std::vector<std::string>{"a:b"}, parseWhole("data: a:b\n\n").events);
  // A `data` line with no value still makes an (empty) event; so does "data:".
  EXPECT_EQ(std::vector<std::string>{""}, parseWhole("data\n\n").events);
  EXPECT_EQ(std::vector<std::string>{""}, parseWhole("data:\n\n").events);
  // Field names are case-sensitive.
  EXPECT_TRUE(parseWhole("Data: x\n\n").events.empty());
}

TEST(SseParserTest, MultiLineDataIsJoinedWithNewlines) {
  const Parsed p = parseWhole("data: {\ndata: \"a\": 1\ndata:}\n\ndata: second\n\n");
  EXPECT_EQ((std::vector<std::string>{"{\n\"a\": 1\n}", "second"}), p.events);
  EXPECT_EQ((std::vector<std::string>{"\n"}), parseWhole("data:\ndata:\n\n").events);
}

TEST(SseParserTest, CommentsAreCountedNotDelivered) {
  const Parsed p = parseWhole(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n:\n\ndata: x\n: inside\n\n");
  EXPECT_EQ(std::vector<std::string>{"x"}, p.events);
  EXPECT_EQ(4u, p.comments);
}

TEST(SseParserTest, EventIdRetryAndUnknownFieldsAreIgnored) {
  const Parsed p = parseWhole("event: ping\nid: 7\nretry: 1000\nfoo: bar\nnocolon\ndata: x\n\nevent: only\n\n");
  EXPECT_EQ(std::vector<std::string>{"x"}, p.events);  // An event with no data is not dispatched.
}

TEST(SseParserTest, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(parseWhole("\n\n\r\n\r\r").events.empty());
}

TEST(SseParserTest, ALeadingBomIsStrippedOnceEvenWhenSplit) {
  const std::string s =
      "\xEF\xBB\xBF"
      "data: x\n\n";
  expectSameAtEverySplit(s, parseWhole("data: x\n\n"));
  // A second BOM is part of the first field name, which is then unknown.
  EXPECT_TRUE(parseWhole("\xEF\xBB\xBF\xEF\xBB\xBF"
                         "data: x\n\n")
                  .events.empty());
  // A BOM-like prefix that is not a BOM stays in the line.
  EXPECT_TRUE(parseWhole("\xEF\xBB"
                         "data: x\n\n")
                  .events.empty());
}

TEST(SseParserTest, FinishReportsAnIncompleteEvent) {
  EXPECT_EQ(SseEnd::kClean, parseWhole("data: x\n\n").end);
  EXPECT_EQ(SseEnd::kClean, parseWhole("data: x\n\n: trailing comment").end);
  const Parsed no_blank = parseWhole("data: x\n\ndata: [DONE]\n");
  EXPECT_EQ(std::vector<std::string>{"x"}, no_blank.events);  // Never dispatched without the blank line.
  EXPECT_EQ(SseEnd::kIncompleteEvent, no_blank.end);
  EXPECT_EQ(SseEnd::kIncompleteEvent, parseWhole("data: x\n\ndata: {\"id\":").end);
  // A stream cut anywhere inside the fixture's last event is incomplete.
  const std::string stream = llmq::testing::readTestData("openrouter_stream.txt");
  const size_t last = stream.rfind("data: [DONE]");
  for (size_t cut = last + 1; cut < stream.size() - 1; ++cut) {
    const Parsed p = parseWhole(std::string_view(stream).substr(0, cut));
    ASSERT_EQ(SseEnd::kIncompleteEvent, p.end) << cut;
    ASSERT_EQ(4u, p.events.size()) << cut;
  }
}

TEST(SseParserTest, OverflowStopsParsingInsteadOfGrowing) {
  const size_t cap = 64;
  SseParser parser(cap);
  std::vector<std::string> events;
  auto on_event = [&](std::string_view d) { events.emplace_back(d); };
  EXPECT_TRUE(parser.feed("data: small\n\n", on_event));
  // A line that never ends, fed in pieces.
  EXPECT_TRUE(parser.feed("data: " + std::string(40, 'a'), on_event));
  EXPECT_FALSE(parser.feed(std::string(40, 'a'), on_event));
  EXPECT_TRUE(parser.overflowed());
  EXPECT_FALSE(parser.feed("\n\ndata: after\n\n", on_event));  // Ignored from now on.
  EXPECT_EQ(std::vector<std::string>{"small"}, events);
  EXPECT_EQ(SseEnd::kOverflowed, parser.finish());
}

TEST(SseParserTest, OverflowFromManyDataLinesOfOneEvent) {
  std::string s;
  for (int i = 0; i < 20; ++i) {
    s += "data: 0123456789\n";
  }
  s += "\n";
  const Parsed p = parseWhole(s, 100);
  EXPECT_TRUE(p.overflowed);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(SseEnd::kOverflowed, p.end);
  // With room for it, the same event is fine.
  const Parsed ok = parseWhole(s, 1000);
  EXPECT_FALSE(ok.overflowed);
  EXPECT_EQ(1u, ok.events.size());
}

TEST(SseParserTest, TheCapIsExactAndIndependentOfTheSplit) {
  const size_t cap = 32;
  const std::string fits = "data: " + std::string(cap - 6, 'x') + "\n\n";
  const std::string too_big = "data: " + std::string(cap - 5, 'x') + "\n\n";
  for (size_t i = 0; i <= too_big.size(); ++i) {
    if (i <= fits.size()) {
      const Parsed p = parseChunks({std::string_view(fits).substr(0, i), std::string_view(fits).substr(i)}, cap);
      ASSERT_FALSE(p.overflowed) << i;
      ASSERT_EQ(std::vector<std::string>{std::string(cap - 6, 'x')}, p.events) << i;
    }
    const Parsed q =
        parseChunks({std::string_view(too_big).substr(0, i), std::string_view(too_big).substr(i)}, cap);
    ASSERT_TRUE(q.overflowed) << i;
    ASSERT_TRUE(q.events.empty()) << i;
  }
}

// A line longer than the 64 KiB a spent buffer may keep, arriving in several
// reads, must reach the event whole: the parser used to release the carried-over
// line at the end of every feed() once it had grown past 64 KiB, so a 100 KiB
// delta between "BEGIN-" and "-END" came out as "BEGIN--END".
TEST(SseParserTest, ALongLineSplitAcrossManyFeedsIsKeptWhole) {
  const std::string payload = "BEGIN-" + std::string(100 * 1024, 'x') + "-END";
  const std::string stream = "data: " + payload + "\n\ndata: next\n\n";
  for (size_t piece : {size_t{1000}, size_t{16384}, size_t{65536}, size_t{70000}}) {
    std::vector<std::string_view> chunks;
    for (size_t pos = 0; pos < stream.size(); pos += piece) {
      chunks.push_back(std::string_view(stream).substr(pos, piece));
    }
    const Parsed p = parseChunks(chunks);
    ASSERT_FALSE(p.overflowed) << piece;
    ASSERT_EQ(2u, p.events.size()) << piece;
    EXPECT_EQ(payload.size(), p.events[0].size()) << piece;
    EXPECT_TRUE(p.events[0] == payload) << piece;
    EXPECT_EQ("next", p.events[1]) << piece;
    EXPECT_EQ(SseEnd::kClean, p.end) << piece;
  }
}

// A line over the cap that arrives in pieces is an overflow (never a silent drop),
// wherever the pieces are cut.
TEST(SseParserTest, ALineOverTheCapSplitAcrossFeedsOverflows) {
  const size_t cap = 128 * 1024;
  const std::string stream = "data: " + std::string(cap, 'y') + "\n\n";
  for (size_t piece : {size_t{4096}, size_t{65537}, size_t{100000}}) {
    std::vector<std::string_view> chunks;
    for (size_t pos = 0; pos < stream.size(); pos += piece) {
      chunks.push_back(std::string_view(stream).substr(pos, piece));
    }
    const Parsed p = parseChunks(chunks, cap);
    EXPECT_TRUE(p.overflowed) << piece;
    EXPECT_TRUE(p.events.empty()) << piece;
    EXPECT_EQ(SseEnd::kOverflowed, p.end) << piece;
  }
}

}  // namespace
}  // namespace llmq::upstream
