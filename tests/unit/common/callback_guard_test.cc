// Tests for common/callback_guard: a body that does not throw is all that runs;
// one that throws is logged with where it ran and what it threw, and the
// callback's way out runs instead (or the process aborts).
#include "common/callback_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <new>
#include <stdexcept>
#include <string>

namespace llmq {
namespace {

class CallbackGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, ::pipe2(fds_, O_NONBLOCK | O_CLOEXEC));
    log::setOutputFdForTest(fds_[1]);
  }
  void TearDown() override {
    log::setOutputFdForTest(-1);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Everything logged so far.
  std::string logged() {
    std::string all;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) {
      all.append(buf, static_cast<size_t>(n));
    }
    return all;
  }

  int fds_[2] = {-1, -1};
};

TEST_F(CallbackGuardTest, ABodyThatReturnsIsAllThatRuns) {
  bool recovered = false;
  const int r = guardCallback(
      "a test", [] { return 7; },
      [&] {
        recovered = true;
        return -1;
      });
  EXPECT_EQ(7, r);
  EXPECT_FALSE(recovered);
  EXPECT_EQ("", logged());
}

TEST_F(CallbackGuardTest, AnExceptionIsLoggedAndTheWayOutAnswers) {
  const int r = guardCallback(
      "reading a test", []() -> int { throw std::runtime_error("no room"); }, [] { return -1; });
  EXPECT_EQ(-1, r);
  const std::string line = logged();
  EXPECT_NE(std::string::npos, line.find("reading a test: no room")) << line;
}

TEST_F(CallbackGuardTest, AnExceptionOfAnyTypeIsCaught) {
  bool recovered = false;
  guardCallback(
      "a test", [] { throw 42; }, [&] { recovered = true; });
  EXPECT_TRUE(recovered);
  EXPECT_NE(std::string::npos, logged().find("a test: an exception of unknown type"));
}

TEST_F(CallbackGuardTest, ABodyThatReturnsDoesNotAbort) {
  int runs = 0;
  guardCallbackOrAbort("a test", [&] { ++runs; });
  EXPECT_EQ(1, runs);
}

TEST(CallbackGuardDeathTest, AnExceptionWhereStateCannotBeUnwoundAborts) {
  EXPECT_DEATH(guardCallbackOrAbort("ending a test turn", [] { throw std::bad_alloc(); }),
               "ending a test turn: std::bad_alloc");
}

TEST(CallbackGuardDeathTest, AWayOutThatThrowsToo) {
  EXPECT_DEATH(guardCallback(
                   "a test", [] { throw std::runtime_error("first"); }, [] { throw std::runtime_error("second"); }),
               "a test: second");
}

}  // namespace
}  // namespace llmq
