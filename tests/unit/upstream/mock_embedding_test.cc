// Tests for upstream::mockEmbeddings: deterministic unit vectors per input, the
// shapes of `input`, `dimensions`, base64 vectors, token counts and the bound on
// one answer.
#include "upstream/mock_embedding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

namespace llmq::upstream {
namespace {

json::Document parsed(const std::string& text) {
  json::Document d;
  EXPECT_TRUE(json::parse(d, text, nullptr)) << text.substr(0, 200);
  return d;
}

MockEmbeddings embed(const std::string& request) {
  json::Document req = parsed(request);
  Result<MockEmbeddings> r = mockEmbeddings(req, "mock/e", "gen-mock-1", 2.0);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : MockEmbeddings{};
}

double norm(const json::Value& v) {
  double n = 0;
  for (const json::Value& x : v.GetArray()) {
    n += x.GetDouble() * x.GetDouble();
  }
  return std::sqrt(n);
}

TEST(MockEmbeddingTest, OneUnitVectorPerInputTheSameForTheSameInput) {
  MockEmbeddings m = embed(R"({"input":["alpha","beta","alpha"]})");
  json::Document d = parsed(m.result_json);
  EXPECT_EQ("list", std::string(json::view(d["object"])));
  ASSERT_EQ(3u, d["data"].Size());
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    EXPECT_EQ(static_cast<int>(i), d["data"][i]["index"].GetInt());
    ASSERT_EQ(static_cast<rapidjson::SizeType>(kMockEmbeddingDimensions), d["data"][i]["embedding"].Size());
    EXPECT_NEAR(1.0, norm(d["data"][i]["embedding"]), 1e-5);
  }
  EXPECT_TRUE(d["data"][0]["embedding"] == d["data"][2]["embedding"]);
  EXPECT_FALSE(d["data"][0]["embedding"] == d["data"][1]["embedding"]);
  // Another request, the same input: the same vector.
  json::Document again = parsed(embed(R"({"input":"alpha"})").result_json);
  EXPECT_TRUE(again["data"][0]["embedding"] == d["data"][0]["embedding"]);
}

TEST(MockEmbeddingTest, TokensAreAQuarterOfTheTextOrTheTokenIdsAndTheCostFollows) {
  MockEmbeddings m = embed(R"({"input":["12345678","x"]})");  // 2 + 1
  EXPECT_EQ(3, m.prompt_tokens);
  EXPECT_DOUBLE_EQ(3 * 2.0 / 1e6, m.cost_usd);
  json::Document d = parsed(m.result_json);
  EXPECT_EQ(3, d["usage"]["prompt_tokens"].GetInt());
  EXPECT_EQ(3, d["usage"]["total_tokens"].GetInt());
  EXPECT_EQ(2u, parsed(embed(R"({"input":[[1,2,3],[4,5]]})").result_json)["data"].Size());
  EXPECT_EQ(5, embed(R"({"input":[[1,2,3],[4,5]]})").prompt_tokens);
  // One array of token ids is one input.
  MockEmbeddings ids = embed(R"({"input":[7,8,9]})");
  EXPECT_EQ(3, ids.prompt_tokens);
  EXPECT_EQ(1u, parsed(ids.result_json)["data"].Size());
}

TEST(MockEmbeddingTest, DimensionsAndBase64AreAsAsked) {
  json::Document floats = parsed(embed(R"({"input":"t","dimensions":3})").result_json);
  ASSERT_EQ(3u, floats["data"][0]["embedding"].Size());
  json::Document b64 = parsed(embed(R"({"input":"t","dimensions":3,"encoding_format":"base64"})").result_json);
  ASSERT_TRUE(b64["data"][0]["embedding"].IsString());
  // 12 bytes of little-endian float32s; decode and compare with the floats.
  const std::string text(json::view(b64["data"][0]["embedding"]));
  ASSERT_EQ(16u, text.size());
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t b = 0;
    int pads = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char ch = text[i + k];
      b <<= 6;
      if (ch == '=') {
        ++pads;
      } else {
        b |= static_cast<uint32_t>(kAlphabet.find(ch));
      }
    }
    for (int k = 0; k < 3 - pads; ++k) {
      bytes.push_back(static_cast<char>((b >> (16 - 8 * k)) & 0xff));
    }
  }
  ASSERT_EQ(12u, bytes.size());
  for (int i = 0; i < 3; ++i) {
    uint32_t bits = 0;
    for (int k = 0; k < 4; ++k) {
      bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i * 4 + k)])) << (8 * k);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    EXPECT_FLOAT_EQ(
        static_cast<float>(floats["data"][0]["embedding"][static_cast<rapidjson::SizeType>(i)].GetDouble()), f);
  }
}

TEST(MockEmbeddingTest, AnAnswerPastTheBoundIsRefusedNotBuilt) {
  json::Document req = parsed(R"({"input":["a","b"],"dimensions":1048576})");
  EXPECT_FALSE(mockEmbeddings(req, "mock/e", "id", 1.0).ok());
  json::Document fits = parsed(R"({"input":["a"],"dimensions":1048576})");
  EXPECT_TRUE(mockEmbeddings(fits, "mock/e", "id", 1.0).ok());
  json::Document none = parsed(R"({"model":"mock/e"})");
  EXPECT_FALSE(mockEmbeddings(none, "mock/e", "id", 1.0).ok());
}

}  // namespace
}  // namespace llmq::upstream
