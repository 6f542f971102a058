// JobOptions: the stored form of a job's options, written and read in one place.
#include "common/job_options.h"

#include <gtest/gtest.h>

namespace llmq {
namespace {

TEST(JobOptionsTest, DefaultsAreStoredAsAnEmptyObject) {
  EXPECT_EQ("{}", toJson(JobOptions{}));
  EXPECT_EQ(JobOptions{}, parseJobOptions("{}"));
  EXPECT_EQ(JobOptions{}, parseJobOptions(""));
}

TEST(JobOptionsTest, TheStoredFormIsStable) {
  // Databases written by earlier llmqd versions hold exactly this form.
  JobOptions o;
  o.fallback_models = {"a/b", "c/\"d\""};
  o.cache = true;
  o.request_id = "req-1";
  EXPECT_EQ(R"({"fallback_models":["a/b","c/\"d\""],"cache":true,"byok":false,"request_id":"req-1"})", toJson(o));
  o.routing = Routing{"coding", std::nullopt, {"m/one", "m/two"}, "because"};
  o.fail_when_cooling = true;
  EXPECT_EQ(R"({"fallback_models":["a/b","c/\"d\""],"cache":true,"byok":false,"fail_when_cooling":true,)"
            R"("request_id":"req-1","routing":{"route":"coding","alias":null,"model":"m/one",)"
            R"("models":["m/one","m/two"],"reason":"because"}})",
            toJson(o));
}

TEST(JobOptionsTest, WhatIsWrittenIsReadBack) {
  JobOptions o;
  o.fallback_models = {"x/1"};
  o.byok = true;
  o.fail_when_cooling = true;
  o.request_id = "abc";
  o.routing = Routing{std::nullopt, "fast", {"mock/fast"}, "alias"};
  EXPECT_EQ(o, parseJobOptions(toJson(o)));
}

TEST(JobOptionsTest, TheFactsOfTheRequestAreReadBack) {
  JobOptions o;
  o.facts = RequestFacts{123, 50, true};
  EXPECT_NE(std::string::npos,
            toJson(o).find(R"("facts":{"prompt_tokens":123,"completion_cap":50,"deterministic":true})"))
      << toJson(o);
  EXPECT_EQ(o, parseJobOptions(toJson(o)));
  o.facts = RequestFacts{7, std::nullopt, false};  // No cap: none written, none read.
  EXPECT_NE(std::string::npos, toJson(o).find(R"("facts":{"prompt_tokens":7})")) << toJson(o);
  EXPECT_EQ(o, parseJobOptions(toJson(o)));
  // A job with no other option stores its facts alone.
  JobOptions only;
  only.facts = RequestFacts{12, std::nullopt, false};
  EXPECT_EQ(R"({"facts":{"prompt_tokens":12}})", toJson(only));
  EXPECT_EQ(only, parseJobOptions(toJson(only)));
  // A job stored before facts were taken has none; a broken value is none.
  EXPECT_FALSE(parseJobOptions(R"({"cache":true})").facts.has_value());
  EXPECT_FALSE(parseJobOptions(R"({"facts":{"prompt_tokens":"x"}})").facts.has_value());
}

TEST(JobOptionsTest, TheCheckOfTheAnswerIsReadBack) {
  JobOptions o;
  o.output_check = OutputCheck{};
  EXPECT_EQ(R"({"fallback_models":[],"cache":false,"byok":false,"output_check":{"type":"json_object"}})",
            toJson(o));
  EXPECT_EQ(o, parseJobOptions(toJson(o)));
  o.facts = RequestFacts{3, std::nullopt, false};
  o.output_check = OutputCheck{OutputCheck::kJsonSchema, R"({"type":"object","required":["a"]})"};
  EXPECT_NE(std::string::npos,
            toJson(o).find(R"("output_check":{"type":"json_schema","schema":{"type":"object","required":["a"]}})"))
      << toJson(o);
  EXPECT_EQ(o, parseJobOptions(toJson(o)));
  // An unknown type, or a json_schema without its schema, checks nothing.
  EXPECT_FALSE(parseJobOptions(R"({"output_check":{"type":"xml"}})").output_check.has_value());
  EXPECT_FALSE(parseJobOptions(R"({"output_check":{"type":"json_schema"}})").output_check.has_value());
}

TEST(JobOptionsTest, AHandEditedValueOfTheWrongTypeKeepsItsDefault) {
  JobOptions o = parseJobOptions(R"({"fallback_models":"x","cache":1,"byok":"yes","request_id":7,)"
                                 R"("routing":{"models":[""]}})");
  EXPECT_EQ(JobOptions{}, o);
  EXPECT_EQ(JobOptions{}, parseJobOptions("not json"));
  EXPECT_EQ(JobOptions{}, parseJobOptions("[1,2]"));
  // Non-strings among the fallbacks are skipped, the rest kept.
  EXPECT_EQ((std::vector<std::string>{"a/b"}),
            parseJobOptions(R"({"fallback_models":[1,"a/b",null]})").fallback_models);
}

}  // namespace
}  // namespace llmq

namespace llmq {
namespace {

TEST(JobOptionsTest, AnOptOutOfTheCacheIsStoredAndReadBack) {
  JobOptions o;
  o.no_cache = true;
  const std::string text = toJson(o);
  EXPECT_NE(std::string::npos, text.find("\"no_cache\":true")) << text;
  EXPECT_TRUE(parseJobOptions(text).no_cache);
  EXPECT_EQ(std::string::npos, toJson(JobOptions{}).find("no_cache"));
  EXPECT_FALSE(parseJobOptions(R"({"fallback_models":[],"cache":false,"byok":false})").no_cache);
}

}  // namespace
}  // namespace llmq
