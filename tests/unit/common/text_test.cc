// Tests for common/text: decimal() writes JSON numbers, and never a non-finite one.
#include "common/text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace llmq {
namespace {

TEST(EqualsIgnoreCaseTest, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(equalsIgnoreCase("No-Cache", "no-cache"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("no-cache", "no-cach"));
  EXPECT_FALSE(equalsIgnoreCase("no-cache", "no_cache"));
  EXPECT_FALSE(equalsIgnoreCase("\xc3\x89", "\xc3\xa9")) << "ASCII only: UTF-8 bytes compare as they are";
}

TEST(DecimalTest, PrintsShortNumbers) {
  EXPECT_EQ("0.000123", decimal(0.000123));
  EXPECT_EQ("2.5", decimal(2.5));
  EXPECT_EQ("1e-12", decimal(1e-12));
}

// "inf" and "nan" are not JSON: a cost that overflowed would break every reader.
TEST(DecimalTest, NonFiniteBecomesNull) {
  EXPECT_EQ("null", decimal(HUGE_VAL));
  EXPECT_EQ("null", decimal(-HUGE_VAL));
  EXPECT_EQ("null", decimal(std::nan("")));
  EXPECT_EQ("1e+308", decimal(1e308));
}

}  // namespace
}  // namespace llmq
