// Tests for upstream/error_map: every HTTP status class of ipc/PROTOCOL.md, docs/upstream.md, messages
// from OpenRouter/OpenAI error bodies and from non-JSON bodies, exhausted-key
// detection, moderation metadata, Retry-After (seconds, the three HTTP-date forms,
// garbage), OpenRouter's X-RateLimit-Reset, `error` objects and transport failures.
#include "upstream/error_map.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::upstream {
namespace {

// "Sun, 06 Nov 1994 08:49:37 GMT", the RFC's example date.
constexpr int64_t kRfcExampleMs = 784111777000;
constexpr int64_t kNowMs = 1741305600000;  // 2025-03-07T00:00:00Z.

std::string openRouterError(int code, const std::string& message) {
  return R"({"error":{"code":)" + std::to_string(code) + R"(,"message":")" + message + R"("}})";
}

UpstreamError http(int status, std::string_view body, std::string_view retry_after = "", bool byok = false) {
  return failureForHttp(status, body, retry_after, byok, kNowMs);
}

struct StatusCase {
  int status;
  const char* code;
  bool retryable;
};

TEST(ErrorMapTest, EachStatusMapsToItsCodeAndRetryability) {
  const StatusCase cases[] = {
      {400, "INVALID_REQUEST", false},
      {401, "UNAUTHORIZED", false},
      {402, "OPENROUTER_SYSTEM_KEY_EXHAUSTED", false},
      {403, "MODERATION", false},
      {404, "INVALID_REQUEST", false},
      {405, "INVALID_REQUEST", false},
      {408, "TIMEOUT", true},
      {409, "INVALID_REQUEST", false},
      {413, "INVALID_REQUEST", false},
      {418, "INVALID_REQUEST", false},
      {422, "INVALID_REQUEST", false},
      {429, "RATE_LIMITED", true},
      {500, "UPSTREAM_ERROR", true},
      {502, "UPSTREAM_ERROR", true},
      {503, "UPSTREAM_ERROR", true},
      {504, "UPSTREAM_ERROR", true},
      {529, "UPSTREAM_ERROR", true},
      {302, "UPSTREAM_ERROR", false},
  };
  for (const StatusCase& c : cases) {
    const UpstreamError e = http(c.status, openRouterError(c.status, "something went wrong"));
    EXPECT_EQ(c.code, e.failure.code) << c.status;
    EXPECT_EQ(c.retryable, e.failure.retryable) << c.status;
    EXPECT_EQ(c.status, e.failure.upstream_status);
    EXPECT_EQ("something went wrong", e.failure.message) << c.status;
    EXPECT_EQ("upstream", e.failure.source);
    EXPECT_EQ(R"({"code":)" + std::to_string(c.status) + R"(,"message":"something went wrong"})", e.error_json);
  }
}

TEST(ErrorMapTest, PaymentRequiredIsUserKeyExhaustedForByok) {
  const std::string body =
      openRouterError(402, "Insufficient credits. Add more using https://openrouter.ai/credits");
  EXPECT_EQ("OPENROUTER_SYSTEM_KEY_EXHAUSTED", http(402, body).failure.code);
  EXPECT_EQ("USER_KEY_EXHAUSTED", http(402, body, "", /*byok=*/true).failure.code);
  EXPECT_EQ("USER_KEY_EXHAUSTED", http(402, "", "", /*byok=*/true).failure.code);
}

TEST(ErrorMapTest, ExhaustedCreditsAreDetectedOnOtherStatuses) {
  // OpenAI: 429 with insufficient_quota is not a rate limit.
  const UpstreamError openai = http(
      429,
      R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})");
  EXPECT_EQ("OPENROUTER_SYSTEM_KEY_EXHAUSTED", openai.failure.code);
  EXPECT_FALSE(openai.failure.retryable);
  EXPECT_EQ(429, openai.failure.upstream_status);
  // OpenRouter: a key with a spending cap.
  EXPECT_EQ("USER_KEY_EXHAUSTED",
            http(403,
                 openRouterError(
                     403, "Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys"),
                 "", true)
                .failure.code);
  EXPECT_EQ(
      "OPENROUTER_SYSTEM_KEY_EXHAUSTED",
      http(400, openRouterError(400, "Insufficient credits: this request requires more credits")).failure.code);
  // Other 429s stay rate limits.
  EXPECT_EQ("RATE_LIMITED",
            http(429, openRouterError(429, "Rate limit exceeded: free-models-per-min.")).failure.code);
}

TEST(ErrorMapTest, ModerationKeepsTheMetadata) {
  const std::string body =
      R"({"error":{"code":403,"message":"Input was flagged by moderation","metadata":{"reasons":["violence","harassment"],"flagged_input":"...","provider_name":"OpenAI","model_slug":"openai/gpt-4o"}}})";
  const UpstreamError e = http(403, body);
  EXPECT_EQ("MODERATION", e.failure.code);
  EXPECT_FALSE(e.failure.retryable);
  EXPECT_EQ("Input was flagged by moderation (reasons: violence, harassment)", e.failure.message);
  EXPECT_NE(std::string::npos, e.error_json.find(R"("reasons":["violence","harassment"])")) << e.error_json;
  EXPECT_NE(std::string::npos, e.error_json.find(R"("model_slug":"openai/gpt-4o")")) << e.error_json;
}

TEST(ErrorMapTest, NotFoundSaysWhatWasNotFound) {
  EXPECT_EQ("No endpoints found for foo/bar.",
            http(404, openRouterError(404, "No endpoints found for foo/bar.")).failure.message);
  const UpstreamError bare = http(404, "");
  EXPECT_EQ("INVALID_REQUEST", bare.failure.code);
  EXPECT_FALSE(bare.failure.retryable);
  EXPECT_EQ("model or endpoint not found (HTTP 404)", bare.failure.message);
  EXPECT_TRUE(bare.error_json.empty());
  EXPECT_EQ("model or endpoint not found (HTTP 404): Not Found", http(404, "Not Found\n").failure.message);
}

TEST(ErrorMapTest, NonJsonBodiesGiveAShortExcerpt) {
  EXPECT_EQ("HTTP 502: <html><body>502 Bad Gateway</body></html>",
            http(502, "<html><body>502 Bad Gateway</body></html>\r\n").failure.message);
  EXPECT_EQ("HTTP 503", http(503, "").failure.message);
  // Control characters become spaces; a long body is cut on a UTF-8 boundary.
  EXPECT_EQ("HTTP 500: a b", http(500, "a\tb").failure.message);
  std::string long_body(199, 'x');
  long_body += "\xC3\xA9";  // 'é' straddles byte 200.
  long_body += std::string(1000, 'y');
  const std::string msg = http(500, long_body).failure.message;
  EXPECT_EQ("HTTP 500: " + std::string(199, 'x') + "...", msg);
  // Other JSON shapes: `message` or `detail`; `error` as a string.
  EXPECT_EQ("bad model", http(400, R"({"detail":"bad model"})").failure.message);
  EXPECT_EQ("bad input", http(400, R"({"message":"bad input"})").failure.message);
  const UpstreamError str = http(400, R"({"error":"model is required"})");
  EXPECT_EQ("model is required", str.failure.message);
  EXPECT_EQ(R"("model is required")", str.error_json);
  // An `error` without a message falls back to the excerpt.
  EXPECT_EQ(R"(HTTP 500: {"error":{"code":500}})", http(500, R"({"error":{"code":500}})").failure.message);
}

TEST(ErrorMapTest, RetryAfterDeltaSeconds) {
  EXPECT_EQ(120000, parseRetryAfter("120", kNowMs));
  EXPECT_EQ(7000, parseRetryAfter("  7 ", kNowMs));
  EXPECT_EQ(0, parseRetryAfter("0", kNowMs));
  EXPECT_TRUE(parseRetryAfter("99999999999999999999999", kNowMs).has_value());  // Saturates, no overflow.
  EXPECT_GT(*parseRetryAfter("99999999999999999999999", kNowMs), 0);
  const UpstreamError e = http(429, openRouterError(429, "Rate limit exceeded"), "30");
  EXPECT_EQ("RATE_LIMITED", e.failure.code);
  EXPECT_EQ(30000, e.retry_after_ms);
  EXPECT_EQ(5000, http(503, "", "5").retry_after_ms);
}

TEST(ErrorMapTest, RetryAfterHttpDateInAllThreeForms) {
  EXPECT_EQ(kRfcExampleMs, parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", kNowMs));
  EXPECT_EQ(kRfcExampleMs, parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kNowMs));
  EXPECT_EQ(kRfcExampleMs, parseHttpDate("Sun Nov  6 08:49:37 1994", kNowMs));
  EXPECT_EQ(kNowMs + 90000, *parseHttpDate("Fri, 07 Mar 2025 00:01:30 GMT", kNowMs));
  // Relative to now; a date in the past means "now".
  EXPECT_EQ(90000, parseRetryAfter("Fri, 07 Mar 2025 00:01:30 GMT", kNowMs));
  EXPECT_EQ(0, parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kNowMs));
  EXPECT_EQ(90000, http(429, "", "Fri, 07 Mar 2025 00:01:30 GMT").retry_after_ms);
  // RFC 850 two-digit years: up to 50 years ahead stays ahead; further is the past century.
  EXPECT_EQ(parseHttpDate("Thu, 01 Jan 2060 00:00:00 GMT", kNowMs),
            parseHttpDate("Thursday, 01-Jan-60 00:00:00 GMT", kNowMs));
  EXPECT_EQ(int64_t{189302400000}, parseHttpDate("Thursday, 01-Jan-76 00:00:00 GMT", kNowMs));  // 1976.
  EXPECT_EQ(int64_t{189302400000}, parseHttpDate("Thu, 01 Jan 1976 00:00:00 GMT", kNowMs));
}

TEST(ErrorMapTest, RetryAfterGarbageIsIgnored) {
  for (const char* bad :
       {"", "   ", "soon", "1.5", "-5", "+5", "5s", "12 34", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 2025 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun Nov 6 08:49:37 1994"}) {
    EXPECT_FALSE(parseRetryAfter(bad, kNowMs).has_value()) << bad;
    EXPECT_FALSE(http(429, "", bad).retry_after_ms.has_value()) << bad;
  }
}

TEST(ErrorMapTest, OpenRouterRateLimitResetInTheBodyIsUsedWithoutRetryAfter) {
  const std::string body =
      R"({"error":{"code":429,"message":"Rate limit exceeded: free-models-per-min. ","metadata":{"headers":{"X-RateLimit-Limit":"20","X-RateLimit-Remaining":"0","X-RateLimit-Reset":")" +
      std::to_string(kNowMs + 42000) + R"("}}}})";
  const UpstreamError e = http(429, body);
  EXPECT_EQ("RATE_LIMITED", e.failure.code);
  EXPECT_EQ(42000, e.retry_after_ms);
  EXPECT_EQ(3000, http(429, body, "3").retry_after_ms);  // Retry-After wins.
  EXPECT_EQ(42000, parseRateLimitReset(std::to_string(kNowMs + 42000), kNowMs));
  EXPECT_EQ(5000, parseRateLimitReset(std::to_string(kNowMs / 1000 + 5), kNowMs));
  EXPECT_EQ(60000, parseRateLimitReset("60", kNowMs));
  EXPECT_EQ(0, parseRateLimitReset(std::to_string(kNowMs - 1000), kNowMs));
  EXPECT_FALSE(parseRateLimitReset("1s", kNowMs).has_value());
  EXPECT_FALSE(http(429, openRouterError(429, "x")).retry_after_ms.has_value());
}

// OpenRouter's own limits are per key; a 429 that names the provider behind it is
// about the model, whichever key asks.
TEST(ErrorMapTest, RateLimitsSayWhetherTheKeyOrTheModelIsLimited) {
  const UpstreamError key_limit = http(429, openRouterError(429, "Rate limit exceeded: free-models-per-min."));
  EXPECT_FALSE(key_limit.failure.model_scoped);
  const UpstreamError upstream = http(
      429,
      R"({"error":{"code":429,"message":"Provider returned error","metadata":{"raw":"google/gemma is temporarily rate-limited upstream","provider_name":"Google AI Studio"}}})");
  EXPECT_EQ("RATE_LIMITED", upstream.failure.code);
  EXPECT_TRUE(upstream.failure.model_scoped);
  EXPECT_TRUE(http(429, openRouterError(429, "x/y is temporarily rate-limited upstream")).failure.model_scoped);
  EXPECT_FALSE(http(503, openRouterError(503, "rate-limited upstream")).failure.model_scoped)
      << "only a 429 cools anything down";
}

TEST(ErrorMapTest, ErrorObjectsClassifyByIntegerOrStringCode) {
  json::Document doc;
  struct Case {
    const char* error;
    const char* code;
    bool retryable;
    int status;
  };
  const Case cases[] = {
      {R"({"code":502,"message":"Provider disconnected"})", "UPSTREAM_ERROR", true, 502},
      {R"({"code":429,"message":"slow"})", "RATE_LIMITED", true, 429},
      {R"({"code":"429","message":"slow"})", "RATE_LIMITED", true, 429},
      {R"({"code":400,"message":"bad"})", "INVALID_REQUEST", false, 400},
      {R"({"code":"server_error","message":"x"})", "UPSTREAM_ERROR", true, 200},
      {R"({"code":"rate_limit_exceeded","message":"x"})", "RATE_LIMITED", true, 200},
      {R"({"code":"insufficient_quota","message":"x"})", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", false, 200},
      {R"({"code":"invalid_api_key","message":"x"})", "UNAUTHORIZED", false, 200},
      {R"({"code":"content_filter","message":"x"})", "MODERATION", false, 200},
      {R"({"code":"context_length_exceeded","message":"x","type":"invalid_request_error"})", "INVALID_REQUEST",
       false, 200},
      {R"({"type":"timeout","message":"x"})", "TIMEOUT", true, 200},
      {R"({"code":null})", "UPSTREAM_ERROR", true, 200},
      {R"("just a string")", "UPSTREAM_ERROR", true, 200},
      {R"({"code":7,"message":"odd"})", "UPSTREAM_ERROR", true, 200},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(json::parse(doc, c.error, nullptr)) << c.error;
    const UpstreamError e = failureForErrorObject(doc, 200, false);
    EXPECT_EQ(c.code, e.failure.code) << c.error;
    EXPECT_EQ(c.retryable, e.failure.retryable) << c.error;
    EXPECT_EQ(c.status, e.failure.upstream_status) << c.error;
    EXPECT_FALSE(e.failure.message.empty()) << c.error;
    EXPECT_EQ(json::toString(doc), e.error_json);
  }
  ASSERT_TRUE(json::parse(doc, R"({"code":"server_error"})", nullptr));
  EXPECT_EQ("upstream error server_error", failureForErrorObject(doc, 200, false).failure.message);
}

TEST(ErrorMapTest, TransportFailures) {
  const Failure timeout = failureForTransport(kCurlOperationTimedOut, "Operation timed out after 30000 ms", false);
  EXPECT_EQ("TIMEOUT", timeout.code);
  EXPECT_TRUE(timeout.retryable);
  EXPECT_EQ(0, timeout.upstream_status);
  EXPECT_NE(std::string::npos, timeout.message.find("Operation timed out after 30000 ms")) << timeout.message;

  EXPECT_EQ("TIMEOUT", failureForTransport(0, "", /*timed_out=*/true).code);

  const Failure refused =
      failureForTransport(7, "Failed to connect to 127.0.0.1 port 9: Connection refused", false);
  EXPECT_EQ("NETWORK", refused.code);
  EXPECT_TRUE(refused.retryable);
  EXPECT_EQ("upstream", refused.source);
  EXPECT_NE(std::string::npos, refused.message.find("Connection refused")) << refused.message;
  EXPECT_NE(std::string::npos, refused.message.find("curl code 7")) << refused.message;

  for (int code : {6, 35, 52, 55, 56, 60, 92}) {
    const Failure f = failureForTransport(code, "", false);
    EXPECT_EQ("NETWORK", f.code) << code;
    EXPECT_TRUE(f.retryable) << code;
    EXPECT_FALSE(f.message.empty());
  }
}

}  // namespace
}  // namespace llmq::upstream
