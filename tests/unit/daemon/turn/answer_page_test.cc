// AnswerPage: a page ends at its limit or before its answer passes max_bytes,
// next_cursor names the last row, a cursor is read back, bad ones are refused.
#include "daemon/turn/answer_page.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json.h"

namespace llmq::daemon {
namespace {

std::string row(int i) { return "{\"n\":" + std::to_string(i) + "}"; }
PageKey key(int i) { return {"k" + std::to_string(100 + i)}; }

TEST(AnswerPageTest, EndsAtTheLimitWithTheLastRowAsCursor) {
  PageRequest r;
  r.limit = 2;
  AnswerPage page(r, SIZE_MAX, "{\"rows\":[", 0);
  EXPECT_TRUE(page.add(row(1), key(1)));
  EXPECT_TRUE(page.add(row(2), key(2)));
  EXPECT_FALSE(page.add(row(3), key(3)));
  EXPECT_EQ(R"({"rows":[{"n":1},{"n":2}],"x":1,"next_cursor":"[\"k102\"]"})", page.finish(",\"x\":1"));
}

TEST(AnswerPageTest, TheLastPageHasANullCursor) {
  AnswerPage page(PageRequest{}, SIZE_MAX, "{\"rows\":[", 0);
  EXPECT_TRUE(page.add(row(1), key(1)));
  EXPECT_FALSE(page.more());
  EXPECT_EQ(R"({"rows":[{"n":1}],"next_cursor":null})", page.finish(""));
  AnswerPage empty(PageRequest{}, SIZE_MAX, "{\"rows\":[", 0);
  EXPECT_EQ(R"({"rows":[],"next_cursor":null})", empty.finish(""));
}

// Every page, cursor included, stays within max_bytes; the first row always comes.
TEST(AnswerPageTest, EndsBeforePassingMaxBytes) {
  const std::string tail = ",\"totals\":{\"a\":1}";
  for (size_t max = 40; max < 200; ++max) {
    AnswerPage page(PageRequest{}, max, "{\"rows\":[", tail.size());
    int added = 0;
    while (added < 100 && page.add(row(added), key(added))) {
      ++added;
    }
    std::string out = page.finish(tail);
    ASSERT_GE(added, 1);
    if (added > 1) {
      EXPECT_LE(out.size(), max) << out;
    }
    json::Document d;
    EXPECT_TRUE(json::parse(d, out, nullptr)) << out;
  }
}

TEST(AnswerPageTest, ReadsBackItsCursorAndRefusesOthers) {
  AnswerPage page(PageRequest{.limit = 1}, SIZE_MAX, "{\"rows\":[", 0);
  PageKey k{"a\"b\\c", "ü\n"};
  page.add(row(1), k);
  page.add(row(2), PageKey{"z", "z"});
  json::Document d;
  ASSERT_TRUE(json::parse(d, page.finish(""), nullptr));
  std::string params = "{\"cursor\":";
  json::appendString(params, d["next_cursor"].GetString());
  params += "}";
  json::Document pd;
  ASSERT_TRUE(json::parse(pd, params, nullptr));
  ipc::Params p(&pd);
  PageRequest r = readPageParams(p, 50, 2);
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_TRUE(r.after);
  EXPECT_EQ(k, *r.after);
  EXPECT_EQ(50u, r.limit);
  AnswerPage next(r, SIZE_MAX, "[", 0);
  EXPECT_FALSE(next.after(k));
  EXPECT_TRUE(next.after(PageKey{"z", "z"}));

  for (const char* bad : {R"({"cursor":"[\"a\"]"})", R"({"cursor":"nope"})", R"({"cursor":"[1,2]"})",
                          R"({"limit":0})", R"({"limit":51})", R"({"cursor":3})"}) {
    json::Document b;
    ASSERT_TRUE(json::parse(b, bad, nullptr));
    ipc::Params bp(&b);
    readPageParams(bp, 50, 2);
    EXPECT_FALSE(bp.ok()) << bad;
  }
}

}  // namespace
}  // namespace llmq::daemon
