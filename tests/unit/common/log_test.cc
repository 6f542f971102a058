// Tests for common/log: escaping of control characters and invalid UTF-8 (a
// "\n<0>" in a message cannot start a line), the length bound, and the per-site
// rate limit with its "suppressed" note. Lines are read back from a pipe.
#include "common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace llmq::log {
namespace {

int64_t g_fake_now = 0;
int64_t fakeNow() { return g_fake_now; }

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, ::pipe2(fds_, O_NONBLOCK | O_CLOEXEC));
    setOutputFdForTest(fds_[1]);
    setJournalPrefix(true);
    setClockForTest(&fakeNow);
    g_fake_now = 1'000'000;
  }
  void TearDown() override {
    setOutputFdForTest(-1);
    setClockForTest(nullptr);
    setJournalPrefix(false);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Everything written so far, split into lines.
  std::vector<std::string> lines() {
    std::string all;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      all.append(buf, static_cast<size_t>(n));
    }
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < all.size()) {
      size_t nl = all.find('\n', pos);
      EXPECT_NE(nl, std::string::npos) << "a line without its newline";
      if (nl == std::string::npos) {
        break;
      }
      out.push_back(all.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }

  int fds_[2] = {-1, -1};
};

TEST(LogEscapeTest, ControlCharactersAndDelAreEscaped) {
  EXPECT_EQ("a\\nb\\rc\\td\\x00e\\x1bf\\x7fg", escape(std::string_view("a\nb\rc\td\0e\x1b"
                                                                       "f\x7fg",
                                                                       13)));
  EXPECT_EQ("back\\\\slash", escape("back\\slash"));
  EXPECT_EQ("plain text, 100% fine", escape("plain text, 100% fine"));
}

TEST(LogEscapeTest, ValidUtf8IsKeptInvalidIsEscaped) {
  EXPECT_EQ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_EQ("\\xff\\xfe", escape("\xff\xfe"));
  EXPECT_EQ("\\xc0\\xaf", escape("\xc0\xaf"));                    // Overlong "/".
  EXPECT_EQ("\\xed\\xa0\\x80", escape("\xed\xa0\x80"));           // A surrogate.
  EXPECT_EQ("\\xf4\\x90\\x80\\x80", escape("\xf4\x90\x80\x80"));  // Above U+10FFFF.
  EXPECT_EQ("x\\xe2\\x82", escape("x\xe2\x82"));                  // Cut short.
  EXPECT_EQ("\\xc2\\x9b[31m", escape("\xc2\x9b[31m"));            // C1 CSI.
}

TEST_F(LogTest, AForgedPriorityPrefixStaysInsideItsLine) {
  const std::string hostile = "upstream said: x\n<0>forged emergency\r\n<3>again";
  LOG_WARN("model catalog: %s", hostile.c_str());
  const auto got = lines();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("<4>model catalog: upstream said: x\\n<0>forged emergency\\r\\n<3>again", got[0]);
}

TEST_F(LogTest, ALongMessageIsCutWithAMarker) {
  const std::string big(10000, 'a');
  LOG_ERROR("%s", big.c_str());
  const auto got = lines();
  ASSERT_EQ(1u, got.size());
  const std::string expected = "<3>" + std::string(kMaxMessageBytes, 'a') + " ...[" +
                               std::to_string(10000 - kMaxMessageBytes) + " bytes cut]";
  EXPECT_EQ(expected, got[0]);
}

TEST_F(LogTest, ASiteIsRateLimitedAndCountsWhatItDropped) {
  auto logOnce = [](int i) { LOG_WARN("bad request %d", i); };
  for (int i = 0; i < kBurstLines + 100; ++i) {
    logOnce(i);
  }
  auto got = lines();
  ASSERT_EQ(static_cast<size_t>(kBurstLines), got.size());
  EXPECT_EQ("<4>bad request 0", got[0]);

  // Another site is not affected.
  LOG_WARN("another place");
  got = lines();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ("<4>another place", got[0]);

  // A second later the site may write kLinesPerSecond lines; the first says what was dropped.
  g_fake_now += 1000;
  for (int i = 0; i < 100; ++i) {
    logOnce(1000 + i);
  }
  got = lines();
  ASSERT_EQ(static_cast<size_t>(kLinesPerSecond), got.size());
  EXPECT_EQ("<4>bad request 1000 [100 earlier lines from here suppressed: more than " +
                std::to_string(kLinesPerSecond) + " a second]",
            got[0]);
  EXPECT_EQ("<4>bad request 1001", got[1]);
}

TEST_F(LogTest, DebugLinesAreNotRateLimited) {
  const Level before = level();
  setLevel(Level::kDebug);
  for (int i = 0; i < kBurstLines + 10; ++i) {
    LOG_DEBUG("trace %d", i);
  }
  setLevel(before);
  EXPECT_EQ(static_cast<size_t>(kBurstLines + 10), lines().size());
}

}  // namespace
}  // namespace llmq::log
