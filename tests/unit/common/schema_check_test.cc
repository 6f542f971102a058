// Structured output: what a request asks of its answer, the bounds a schema
// must keep at submit (hostile schemas), the check of an answer, and the
// validator against the JSON-Schema-Test-Suite for each draft llmqd claims.
#include "common/schema_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace llmq {
namespace {

// outputCheckOf for a chat request whose response_format is `format` (JSON).
Result<std::optional<OutputCheck>> checkOf(const std::string& format, JobKind kind = JobKind::kChat) {
  json::Document request;
  std::string error;
  const std::string text = R"({"model":"m","messages":[],"response_format":)" + format + "}";
  EXPECT_TRUE(json::parse(request, text, &error)) << error;
  return outputCheckOf(kind, request);
}

// The same with a strict json_schema response_format around `schema`.
Result<std::optional<OutputCheck>> strict(const std::string& schema) {
  return checkOf(R"({"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":)" + schema + "}}");
}

// Why `schema` is refused at submit ("" when it is taken).
std::string refusal(const std::string& schema) {
  Result<std::optional<OutputCheck>> r = strict(schema);
  return r.ok() ? "" : r.error().message;
}

TEST(SchemaCheckTest, WhatARequestAsksOfItsAnswer) {
  auto none = checkOf(R"({"type":"text"})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto object = checkOf(R"({"type":"json_object"})");
  ASSERT_TRUE(object.ok());
  ASSERT_TRUE(object->has_value());
  EXPECT_EQ(OutputCheck::kJsonObject, (*object)->kind);
  // A schema the model is only asked to follow (strict false or absent) is not checked.
  auto loose = checkOf(R"({"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}})");
  ASSERT_TRUE(loose.ok());
  EXPECT_FALSE(loose->has_value());
  auto schema = strict(R"({"type": "object", "required": ["a"]})");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  ASSERT_TRUE(schema->has_value());
  EXPECT_EQ(OutputCheck::kJsonSchema, (*schema)->kind);
  EXPECT_EQ(R"({"type":"object","required":["a"]})", (*schema)->schema);  // Compact.
  // Only chat answers are checked.
  auto embedding = checkOf(R"({"type":"json_object"})", JobKind::kEmbedding);
  ASSERT_TRUE(embedding.ok());
  EXPECT_FALSE(embedding->has_value());
  // strict without a schema is refused.
  EXPECT_FALSE(checkOf(R"({"type":"json_schema","json_schema":{"name":"x","strict":true}})").ok());
}

TEST(SchemaCheckTest, HostileSchemasAreRefusedAtSubmit) {
  // Nested deeper than kMaxSchemaDepth.
  std::string deep = R"({"type":"string"})";
  for (int i = 0; i < kMaxSchemaDepth + 1; ++i) {
    deep = R"({"type":"object","properties":{"a":)" + deep + "}}";
  }
  EXPECT_NE(std::string::npos, refusal(deep).find("deeper than 32")) << refusal(deep);
  // Larger than kMaxSchemaBytes.
  std::string huge = R"({"enum":[)";
  for (size_t i = 0; huge.size() <= kMaxSchemaBytes; ++i) {
    huge += (i > 0 ? ",\"" : "\"") + std::to_string(i) + "-0123456789abcdef\"";
  }
  huge += "]}";
  EXPECT_NE(std::string::npos, refusal(huge).find("at most 65536")) << refusal(huge);
  // $ref loops and recursion: to itself, between two definitions, to an enclosing schema.
  for (
      const char* loop :
      {R"({"$ref":"#"})",
       R"({"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"})",
       R"({"type":"object","properties":{"child":{"$ref":"#"}}})",
       R"({"definitions":{"node":{"type":"array","items":{"$ref":"#/definitions/node"}}},"$ref":"#/definitions/node"})"}) {
    EXPECT_NE(std::string::npos, refusal(loop).find("recursion")) << loop << ": " << refusal(loop);
  }
  // Remote refs, and refs that are not JSON pointers: nothing is fetched.
  for (const char* remote : {R"({"$ref":"http://127.0.0.1:1/schema.json"})", R"({"$ref":"other.json#/a"})",
                             R"({"$ref":"#anchor"})", R"({"$ref":5})"}) {
    EXPECT_NE(std::string::npos, refusal(remote).find("nothing is fetched")) << remote << ": " << refusal(remote);
  }
  EXPECT_NE(std::string::npos, refusal(R"({"$ref":"#/definitions/missing"})").find("names no schema"));
  // A small schema whose $refs expand to millions of subschemas (4^12), shallow enough.
  std::string blowup = R"({"definitions":{)";
  for (int i = 0; i < 12; ++i) {
    const std::string next = R"({"$ref":"#/definitions/d)" + std::to_string(i + 1) + "\"}";
    blowup += "\"d" + std::to_string(i) + R"(":{"anyOf":[)" + next + "," + next + "," + next + "," + next + "]},";
  }
  blowup += R"("d12":{"type":"string"}},"$ref":"#/definitions/d0"})";
  EXPECT_NE(std::string::npos, refusal(blowup).find("weighs more than 4096")) << refusal(blowup);
  // So does a long enum: each value is compared with each value of the answer.
  std::string values = "0";
  for (int i = 1; i <= 5000; ++i) {
    values += "," + std::to_string(i);
  }
  EXPECT_NE(std::string::npos, refusal(R"({"enum":[)" + values + "]}").find("weighs more than 4096"));
  // Quadratic keywords, regular expressions, $id below the root, drafts llmqd does not claim.
  EXPECT_NE(std::string::npos, refusal(R"({"type":"array","uniqueItems":true})").find("\"uniqueItems\""));
  EXPECT_EQ("", refusal(R"({"type":"array","uniqueItems":false})"));
  EXPECT_NE(std::string::npos, refusal(R"({"type":"string","pattern":"^(a+)+$"})").find("\"pattern\""));
  EXPECT_NE(std::string::npos,
            refusal(R"({"type":"object","patternProperties":{"^x":{}}})").find("\"patternProperties\""));
  EXPECT_NE(std::string::npos,
            refusal(R"({"properties":{"a":{"$id":"http://example.com/a","type":"string"}}})").find("$id"));
  EXPECT_NE(std::string::npos,
            refusal(R"({"$schema":"https://json-schema.org/draft/2020-12/schema"})").find("draft-07"));
  // What the validator itself cannot read.
  EXPECT_NE(std::string::npos, refusal(R"({"type":"object","required":"a"})").find("validator"))
      << refusal(R"({"type":"object","required":"a"})");
  // A property named like a keyword is a name, not a keyword.
  EXPECT_EQ("",
            refusal(R"({"type":"object","properties":{"pattern":{"type":"string"},"$ref":{"type":"string"}}})"));
}

TEST(SchemaCheckTest, AnswersAreCheckedAgainstTheirSchema) {
  const OutputCheck object{};
  EXPECT_EQ("", checkAnswer(object, R"({"a":1})"));
  EXPECT_EQ("the answer is JSON but not an object", checkAnswer(object, "[1]"));
  EXPECT_EQ(0u, checkAnswer(object, "Sure! {\"a\":1}").rfind("the answer is not JSON: ", 0));

  const OutputCheck schema{OutputCheck::kJsonSchema,
                           R"({"type":"object","properties":{"a":{"type":"integer"},"tags":{"type":"array",)"
                           R"("items":{"type":"string"}}},"required":["a"],"additionalProperties":false})"};
  EXPECT_EQ("", checkAnswer(schema, R"({"a":1,"tags":["x"]})"));
  EXPECT_EQ("<root>[tags][1]: Value type not permitted by 'type' constraint.",
            checkAnswer(schema, R"({"a":1,"tags":["x",2]})"));
  EXPECT_NE(std::string::npos, checkAnswer(schema, R"({"tags":[]})").find("<root>"));
  // The message is bounded, whatever the answer's keys.
  const std::string long_key(10000, 'k');
  const std::string bad = checkAnswer(schema, "{\"a\":1,\"" + long_key + "\":1}");
  EXPECT_FALSE(bad.empty());
  EXPECT_LE(bad.size(), kMaxMismatchBytes);
  // The work of a check is bounded: values of the answer times the schema's weight.
  std::string enum_values = "1";
  for (int i = 2; i < 1000; ++i) {
    enum_values += "," + std::to_string(i);
  }
  const OutputCheck heavy{OutputCheck::kJsonSchema, R"({"type":"array","items":{"enum":[)" + enum_values + "]}}"};
  const auto zeros = [](int n) {
    std::string a = "[0";
    for (int i = 1; i < n; ++i) {
      a += ",0";
    }
    return a + "]";
  };
  EXPECT_EQ(0u, checkAnswer(heavy, zeros(5000)).rfind("the answer has 5001 JSON values, too many to check", 0))
      << checkAnswer(heavy, zeros(5000));
  EXPECT_EQ("the answer does not match the schema (with 301 JSON values it is too large to say where)",
            checkAnswer(heavy, zeros(300)));
  EXPECT_EQ("<root>[0]: Failed to match against any enum values.", checkAnswer(heavy, zeros(3)));
  // format is an annotation.
  EXPECT_EQ("", checkAnswer(OutputCheck{OutputCheck::kJsonSchema, R"({"type":"string","format":"date-time"})"},
                            R"("not a date")"));
  // draft-04 when $schema says so: exclusiveMaximum is a flag there.
  const OutputCheck draft4{OutputCheck::kJsonSchema, R"({"$schema":"http://json-schema.org/draft-04/schema#",)"
                                                     R"("maximum":3,"exclusiveMaximum":true})"};
  EXPECT_EQ("", checkAnswer(draft4, "2"));
  EXPECT_FALSE(checkAnswer(draft4, "3").empty());
}

// The JSON-Schema-Test-Suite (Debian's json-schema-test-suite), every required
// file of a draft: each group's schema is compiled and each case checked. A
// case the validator gets wrong, or a schema it cannot read, fails the test
// unless it is in `skips` with its reason; the number skipped is pinned.
struct SuiteRun {
  int groups = 0;
  int cases = 0;
  int passed = 0;
  std::vector<std::string> skipped;
};

SuiteRun runSuite(const std::string& draft_dir, SchemaDraft draft,
                  const std::map<std::string, std::string>& skips) {
  SuiteRun run;
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(LLMQ_JSON_SCHEMA_TEST_SUITE) + "/tests/" + draft_dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    json::Document doc;
    std::string error;
    EXPECT_TRUE(json::parse(doc, text.str(), &error)) << file << ": " << error;
    for (const auto& group : doc.GetArray()) {
      ++run.groups;
      const std::string where = file.filename().string() + " | " + std::string(json::view(group["description"]));
      if (skips.count(where) != 0) {
        run.skipped.push_back(where);
        run.cases += static_cast<int>(group["tests"].Size());
        continue;
      }
      Result<CompiledSchema> schema = CompiledSchema::compile(json::toString(group["schema"]), draft);
      EXPECT_TRUE(schema.ok()) << where << ": " << (schema.ok() ? "" : schema.error().message);
      for (const auto& c : group["tests"].GetArray()) {
        ++run.cases;
        const std::string name = where + " | " + std::string(json::view(c["description"]));
        if (skips.count(name) != 0) {
          run.skipped.push_back(name);
          continue;
        }
        if (!schema.ok()) {
          continue;
        }
        const std::string why = schema->mismatch(c["data"]);
        EXPECT_EQ(c["valid"].GetBool(), why.empty()) << name << ": " << why;
        run.passed += c["valid"].GetBool() == why.empty() ? 1 : 0;
      }
    }
  }
  return run;
}

// What both drafts skip: $refs to other documents, which llmqd refuses at submit
// (it fetches nothing) and so never gives the validator.
const char* const kRemoteRefs = "a $ref to another document (a URL, or relative to $id): refused at submit";
// The draft's meta-schema by its URL: a remote $ref too, and recursive.
const char* const kMetaSchema = "a $ref to the draft's meta-schema URL: refused at submit, nothing is fetched";

// The groups both drafts skip, each with its reason; the count is pinned so a
// skip that stops matching (or a new group that needs one) fails the test.
const std::map<std::string, std::string>& suiteSkips() {
  static const std::map<std::string, std::string> skips = {
      {"definitions.json | valid definition", kMetaSchema},
      {"definitions.json | invalid definition", kMetaSchema},
      {"ref.json | remote ref, containing refs itself", kMetaSchema},
      {"ref.json | Recursive references between schemas", kRemoteRefs},
      {"refRemote.json | remote ref", kRemoteRefs},
      {"refRemote.json | fragment within remote ref", kRemoteRefs},
      {"refRemote.json | ref within remote ref", kRemoteRefs},
      {"refRemote.json | base URI change", kRemoteRefs},
      {"refRemote.json | base URI change - change folder", kRemoteRefs},
      {"refRemote.json | base URI change - change folder in subschema", kRemoteRefs},
      {"refRemote.json | root ref in remote ref", kRemoteRefs},
  };
  return skips;
}

// Runs the suite's files of one draft: every case outside the skips passes.
void expectSuitePasses(const char* dir, SchemaDraft draft, int min_cases) {
  const SuiteRun run = runSuite(dir, draft, suiteSkips());
  std::printf("%s: %d groups, %d cases, %d passed, %zu skipped\n", dir, run.groups, run.cases, run.passed,
              run.skipped.size());
  EXPECT_GT(run.cases, min_cases);
  EXPECT_EQ(suiteSkips().size(), run.skipped.size());
}

TEST(SchemaCheckTest, Draft7PassesTheJsonSchemaTestSuite) {
  expectSuitePasses("draft7", SchemaDraft::kDraft7, 300);
}

TEST(SchemaCheckTest, Draft4PassesTheJsonSchemaTestSuite) {
  expectSuitePasses("draft4", SchemaDraft::kDraft4, 250);
}

}  // namespace
}  // namespace llmq
