// Structured output: what a chat job's answer must be, and the check of it
// (docs/http-api.md, "Structured output"). A request whose `response_format` is
// `{"type": "json_object"}` wants a JSON object; one whose `response_format` is
// `{"type": "json_schema", "json_schema": {"strict": true, "schema": S}}` wants
// JSON that matches S, checked with valijson against JSON Schema draft-07, or
// draft-04 when S's `$schema` names it.
//
// The schema is a client's and runs on llmqd's one thread, so it is taken only
// when its work is bounded, at submit (outputCheckOf): at most kMaxSchemaBytes
// of JSON, subschemas nested at most kMaxSchemaDepth deep, a weight (its
// subschemas with every `$ref` expanded, plus its `enum` values and `required`
// names) of at most kMaxSchemaWeight, `$ref` only to a JSON pointer inside the
// schema (nothing is fetched) and never to itself or an enclosing schema, no
// `$id` below the root, no `pattern` or `patternProperties` (the validator
// matches them with std::regex, which has no bound on time or stack) and no
// `uniqueItems` (it compares every pair of items). `format` is an annotation
// and is not checked. A schema the validator cannot read is refused then too,
// so that every job that runs has a schema that compiles.
//
// The validator visits each value of the answer at most once for each unit of
// the schema's weight, so a check's work is bounded by their product: an
// answer past kMaxCheckWork is not checked (a mismatch), and the first error
// (which needs a second pass that lists every error) is looked for only up to
// kMaxDetailWork.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/job_kind.h"
#include "common/job_options.h"
#include "common/json.h"
#include "common/result.h"

namespace llmq {

inline constexpr size_t kMaxSchemaBytes = size_t{64} * 1024;
inline constexpr int kMaxSchemaDepth = 32;
inline constexpr size_t kMaxSchemaWeight = 4096;
inline constexpr size_t kMaxCheckWork = size_t{1} << 22;
inline constexpr size_t kMaxDetailWork = size_t{1} << 18;
// The longest mismatch message: a path into the answer can be as long as the
// answer's keys.
inline constexpr size_t kMaxMismatchBytes = 512;

// The JSON Schema drafts the check implements (tests/unit/daemon/policy/
// schema_check_test.cc runs the JSON-Schema-Test-Suite's files of both).
enum class SchemaDraft { kDraft4, kDraft7 };

// What `request` (a job of `kind`, already parsed) asks of its answer: nothing
// (nullopt: no response_format, plain text, a non-strict schema, or not a chat
// job), a JSON object, or a match of its schema. An error (kInvalidArgument)
// says why the schema is refused, for a -32602 answer.
Result<std::optional<OutputCheck>> outputCheckOf(JobKind kind, const json::Value& request);

// A schema the validator has read, for the checks of one attempt's answer.
class CompiledSchema {
 public:
  // Reads `schema_json` as `draft`, or as its `$schema` says when nullopt
  // (draft-07 when it names none). Does not apply the bounds of outputCheckOf:
  // only schemas taken by it may come from outside.
  static Result<CompiledSchema> compile(std::string_view schema_json,
                                        std::optional<SchemaDraft> draft = std::nullopt);
  CompiledSchema(CompiledSchema&&) noexcept;
  CompiledSchema& operator=(CompiledSchema&&) noexcept;
  ~CompiledSchema();

  // "" when `answer` matches; else the validator's first error, "PATH: WHY"
  // (PATH as "<root>[name][0]"), at most kMaxMismatchBytes; or why it was not
  // checked, or not looked into (kMaxCheckWork, kMaxDetailWork).
  std::string mismatch(const json::Value& answer) const;

 private:
  struct Parsed;
  explicit CompiledSchema(std::unique_ptr<Parsed> parsed);
  std::unique_ptr<Parsed> parsed_;
};

// "" when `content` (the answer's text) passes `check`; else why not, at most
// kMaxMismatchBytes. The schema is compiled here, once per call.
std::string checkAnswer(const OutputCheck& check, std::string_view content);

}  // namespace llmq
