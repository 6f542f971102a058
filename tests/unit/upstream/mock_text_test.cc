// Tests for upstream/mock_text: the documented prompt-token approximation, the
// last user message, and deterministic word generation.
#include "upstream/mock_text.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "common/json.h"

namespace llmq::upstream {
namespace {

json::Document parsed(const char* text) {
  json::Document doc;
  EXPECT_TRUE(json::parse(doc, text, nullptr)) << text;
  return doc;
}

TEST(MockTextTest, PromptTokensAreThreePlusFourPerMessagePlusAQuarterByteRoundedUp) {
  EXPECT_EQ(3, mockPromptTokens(parsed("[]")));
  EXPECT_EQ(3 + 4, mockPromptTokens(parsed(R"([{"role":"user"}])")));
  EXPECT_EQ(3 + 4 + 0, mockPromptTokens(parsed(R"([{"role":"user","content":""}])")));
  EXPECT_EQ(3 + 4 + 1, mockPromptTokens(parsed(R"([{"role":"user","content":"a"}])")));
  EXPECT_EQ(3 + 4 + 1, mockPromptTokens(parsed(R"([{"role":"user","content":"abcd"}])")));
  EXPECT_EQ(3 + 4 + 2, mockPromptTokens(parsed(R"([{"role":"user","content":"abcde"}])")));
  // Bytes, not characters: "é" is two bytes.
  EXPECT_EQ(3 + 4 + 2, mockPromptTokens(parsed("[{\"role\":\"user\",\"content\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}]")));
  // Multimodal parts: only the text parts count.
  EXPECT_EQ(3 + 4 + 3,
            mockPromptTokens(parsed(R"([{"role":"user","content":[{"type":"text","text":"abcdefgh"},)"
                                    R"({"type":"image_url","image_url":{"url":"data:xxxxxxxxxxxxxxxx"}},)"
                                    R"({"type":"text","text":"ij"}]}])")));
  EXPECT_EQ(3 + (4 + 2) + (4 + 1),
            mockPromptTokens(parsed(R"([{"role":"system","content":"12345678"},{"role":"user","content":"x"}])")));
  EXPECT_EQ(3, mockPromptTokens(parsed("{}")));  // Not an array.
}

TEST(MockTextTest, LastUserTextSkipsOtherRolesAndNonStringContent) {
  EXPECT_EQ("second",
            lastUserText(parsed(R"([{"role":"user","content":"first"},{"role":"user","content":"second"},)"
                                R"({"role":"assistant","content":"reply"},{"role":"user","content":[]}])")));
  EXPECT_EQ("", lastUserText(parsed(R"([{"role":"system","content":"s"}])")));
  EXPECT_EQ("", lastUserText(parsed("{}")));
}

TEST(MockTextTest, WordsAreDeterministicPerSeed) {
  auto a = mockWords("seed one", 30);
  auto b = mockWords("seed one", 30);
  auto c = mockWords("seed two", 30);
  ASSERT_EQ(30u, a.size());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // A shorter run is a prefix of the longer one, apart from the final full stop.
  auto prefix = mockWords("seed one", 5);
  ASSERT_EQ(5u, prefix.size());
  for (size_t i = 0; i + 1 < prefix.size(); ++i) {
    EXPECT_EQ(a[i], prefix[i]) << i;
  }
  EXPECT_EQ(a[4] + ".", prefix[4]);
  EXPECT_TRUE(std::isupper(static_cast<unsigned char>(a.front()[0])));
  EXPECT_EQ('.', a.back().back());
  for (size_t i = 1; i + 1 < a.size(); ++i) {
    EXPECT_FALSE(a[i].empty());
    EXPECT_EQ(std::string::npos, a[i].find_first_of(" .ABCDEFGHIJKLMNOPQRSTUVWXYZ")) << a[i];
  }
  EXPECT_TRUE(mockWords("x", 0).empty());
  auto one = mockWords("x", 1);
  ASSERT_EQ(1u, one.size());
  EXPECT_TRUE(std::isupper(static_cast<unsigned char>(one[0][0])));
  EXPECT_EQ('.', one[0].back());
}

}  // namespace
}  // namespace llmq::upstream
