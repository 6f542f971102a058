// Tests for ipc::LineFramer: newline framing across feeds, CR tolerance, empty
// frames, the hard size limit (complete and still partial), and early stop.
#include "ipc/framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmq::ipc {
namespace {

// Feeds `data` and collects every frame as an owned string.
LineFramer::Status feedAll(LineFramer& f, std::string_view data, std::vector<std::string>* out) {
  return f.feed(data, [out](std::string_view frame) {
    out->emplace_back(frame);
    return true;
  });
}

TEST(LineFramerTest, ReassemblesAFrameFedByteByByte) {
  LineFramer f(1024);
  std::vector<std::string> frames;
  const std::string input = "{\"a\":1}\n{\"b\":2}\n";
  for (char c : input) {
    ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, std::string_view(&c, 1), &frames));
  }
  EXPECT_EQ((std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}), frames);
  EXPECT_EQ(0u, f.buffered());
}

TEST(LineFramerTest, KeepsThePartialTailBetweenFeeds) {
  LineFramer f(1024);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "one\ntw", &frames));
  EXPECT_EQ((std::vector<std::string>{"one"}), frames);
  EXPECT_EQ(2u, f.buffered());
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "o\nthr", &frames));
  EXPECT_EQ((std::vector<std::string>{"one", "two"}), frames);
  EXPECT_EQ(3u, f.buffered());
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "ee\n", &frames));
  EXPECT_EQ((std::vector<std::string>{"one", "two", "three"}), frames);
  EXPECT_EQ(0u, f.buffered());
}

TEST(LineFramerTest, SplitsManyFramesInOneFeed) {
  LineFramer f(64);
  std::string input;
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) {
    expected.push_back("frame-" + std::to_string(i));
    input += expected.back() + "\n";
  }
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, input, &frames));
  EXPECT_EQ(expected, frames);
}

TEST(LineFramerTest, StripsOneTrailingCarriageReturn) {
  LineFramer f(64);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "a\r\nb\r", &frames));
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "\nc\r\r\nd\re\n", &frames));
  // Only the last \r goes; a \r elsewhere is content.
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c\r", "d\re"}), frames);
}

TEST(LineFramerTest, HandsOutEmptyFrames) {
  // The framer reports empty lines; the server is the one that skips them.
  LineFramer f(64);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "\n\r\nx\n\n", &frames));
  EXPECT_EQ((std::vector<std::string>{"", "", "x", ""}), frames);
}

TEST(LineFramerTest, AcceptsAFrameExactlyAtTheLimit) {
  const size_t kMax = 100;
  LineFramer whole(kMax);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(whole, std::string(kMax, 'x') + "\n", &frames));
  ASSERT_EQ(1u, frames.size());
  EXPECT_EQ(kMax, frames[0].size());

  // The same through the partial buffer: first the bytes, then the newline.
  LineFramer split(kMax);
  frames.clear();
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(split, std::string(kMax, 'y'), &frames));
  EXPECT_EQ(kMax, split.buffered());
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(split, "\n", &frames));
  ASSERT_EQ(1u, frames.size());
  EXPECT_EQ(std::string(kMax, 'y'), frames[0]);
}

TEST(LineFramerTest, RejectsAFrameOneByteOverTheLimit) {
  const size_t kMax = 100;
  LineFramer f(kMax);
  std::vector<std::string> frames;
  EXPECT_EQ(LineFramer::Status::kOversize, feedAll(f, "ok\n" + std::string(kMax + 1, 'x') + "\nlater\n", &frames));
  // Frames before the oversize one were delivered; nothing after it.
  EXPECT_EQ((std::vector<std::string>{"ok"}), frames);
  // The framer stays failed.
  EXPECT_EQ(LineFramer::Status::kOversize, feedAll(f, "x\n", &frames));
  EXPECT_EQ(1u, frames.size());
}

TEST(LineFramerTest, RejectsOversizeSplitAcrossFeedsWhenTheNewlineArrives) {
  const size_t kMax = 100;
  LineFramer f(kMax);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, std::string(kMax - 10, 'x'), &frames));
  EXPECT_EQ(LineFramer::Status::kOversize, feedAll(f, std::string(11, 'x') + "\n", &frames));
  EXPECT_TRUE(frames.empty());
}

TEST(LineFramerTest, DetectsOversizeBeforeAnyNewline) {
  const size_t kMax = 100;
  LineFramer f(kMax);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, std::string(60, 'x'), &frames));
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, std::string(40, 'x'), &frames));
  // One more byte without a newline is already too much: no need to wait for the end.
  EXPECT_EQ(LineFramer::Status::kOversize, feedAll(f, "x", &frames));
  EXPECT_TRUE(frames.empty());
  // The buffer did not keep growing past the limit.
  EXPECT_LE(f.buffered(), kMax);
}

TEST(LineFramerTest, DetectsOversizeOfAHugeSingleFeedWithoutNewline) {
  LineFramer f(16);
  std::vector<std::string> frames;
  EXPECT_EQ(LineFramer::Status::kOversize, feedAll(f, std::string(1 << 20, 'x'), &frames));
  EXPECT_EQ(0u, f.buffered());
}

TEST(LineFramerTest, StopsWhenTheCallbackReturnsFalse) {
  LineFramer f(64);
  int calls = 0;
  auto status = f.feed("a\nb\nc\n", [&](std::string_view frame) {
    ++calls;
    EXPECT_EQ("a", frame);
    return false;
  });
  EXPECT_EQ(LineFramer::Status::kOk, status);
  EXPECT_EQ(1, calls);
}

TEST(LineFramerTest, StopsAfterAFrameAssembledFromThePartialBuffer) {
  LineFramer f(64);
  std::vector<std::string> frames;
  ASSERT_EQ(LineFramer::Status::kOk, feedAll(f, "he", &frames));
  int calls = 0;
  auto status = f.feed("llo\nworld\n", [&](std::string_view frame) {
    ++calls;
    EXPECT_EQ("hello", frame);
    return false;
  });
  EXPECT_EQ(LineFramer::Status::kOk, status);
  EXPECT_EQ(1, calls);
  EXPECT_EQ(0u, f.buffered());
}

}  // namespace
}  // namespace llmq::ipc
