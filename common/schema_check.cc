// Structured output: the bounds a schema must keep at submit, and the check of
// an answer with valijson (header-only; its RapidJSON adapter reads our
// documents as they are).
#include "common/schema_check.h"

// valijson reports a schema it cannot read, or a validation it cannot finish,
// by throwing; without VALIJSON_USE_EXCEPTIONS it would print and abort(). Its
// RapidJSON adapter would then also make RAPIDJSON_ASSERT throw, which only
// works before RapidJSON is included, and warns otherwise; but RapidJSON's
// inline code must read the same in every file, so it keeps its own
// (common/json.h, included above), and the adapter is read without the macro,
// after the headers whose code depends on it.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/exceptions.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>
#undef VALIJSON_USE_EXCEPTIONS
#include <valijson/adapters/rapidjson_adapter.hpp>
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <vector>

#include "common/utf8.h"

namespace llmq {
namespace {

Error refused(std::string why) { return makeError(ErrorKind::kInvalidArgument, std::move(why)); }

// `text` cut to at most `max` bytes, at the start of a UTF-8 sequence.
std::string clip(std::string text, size_t max = kMaxMismatchBytes) {
  if (text.size() <= max) {
    return text;
  }
  constexpr std::string_view kCut = " (cut)";
  size_t end = max - kCut.size();
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text + std::string(kCut);
}

// The keywords whose value is one subschema, a list of them, or a map of
// names to them: where subschemas are, in draft-04 and draft-07.
constexpr std::array<const char*, 9> kOneSchema = {
    "additionalItems", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "items"};
constexpr std::array<const char*, 4> kSchemaLists = {"allOf", "anyOf", "oneOf", "items"};
constexpr std::array<const char*, 4> kSchemaMaps = {"properties", "patternProperties", "definitions",
                                                    "dependencies"};

// Calls `f(child)` for each subschema directly under `schema` (an object),
// without following $ref. `V` is json::Value or const json::Value.
template <class V, class F>
void forEachChild(V& schema, F&& f) {
  for (const char* k : kOneSchema) {
    if (auto it = schema.FindMember(k); it != schema.MemberEnd() && it->value.IsObject()) {
      f(it->value);
    }
  }
  for (const char* k : kSchemaLists) {
    if (auto it = schema.FindMember(k); it != schema.MemberEnd() && it->value.IsArray()) {
      for (auto& item : it->value.GetArray()) {
        f(item);
      }
    }
  }
  for (const char* k : kSchemaMaps) {
    if (auto it = schema.FindMember(k); it != schema.MemberEnd() && it->value.IsObject()) {
      for (auto& m : it->value.GetObject()) {
        f(m.value);  // A dependency that lists names is no schema: the callee skips it.
      }
    }
  }
}

// Calls `visit(s)` for `schema` and every subschema object under it, without
// following $ref.
template <class V, class F>
void eachSubschema(V& schema, F&& visit) {
  if (!schema.IsObject()) {
    return;  // true and false are schemas with nothing inside.
  }
  visit(schema);
  forEachChild(schema, [&](V& child) { eachSubschema(child, visit); });
}

// The value a "#/a/b" fragment names in `root`, or nullptr. Segments are JSON
// pointer tokens (~0, ~1) in a URI fragment (%XX).
const json::Value* resolve(const json::Value& root, std::string_view fragment) {
  const json::Value* at = &root;
  size_t from = 1;  // Past the leading '/'.
  while (at != nullptr && from <= fragment.size()) {
    const size_t slash = std::min(fragment.find('/', from), fragment.size());
    std::string token;
    for (size_t i = from; i < slash; ++i) {
      const char c = fragment[i];
      if (c == '~' && i + 1 < slash && (fragment[i + 1] == '0' || fragment[i + 1] == '1')) {
        token.push_back(fragment[++i] == '0' ? '~' : '/');
      } else if (c == '%' && i + 2 < slash && std::isxdigit(static_cast<unsigned char>(fragment[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(fragment[i + 2]))) {
        token.push_back(static_cast<char>(std::stoi(std::string(fragment.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        token.push_back(c);
      }
    }
    if (at->IsObject()) {
      auto it = at->FindMember(json::Value(rapidjson::StringRef(token.data(), token.size())));
      at = it != at->MemberEnd() ? &it->value : nullptr;
    } else if (at->IsArray() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
               token.size() < 10 && std::stoul(token) < at->Size()) {
      at = &(*at)[static_cast<rapidjson::SizeType>(std::stoul(token))];
    } else {
      at = nullptr;
    }
    from = slash + 1;
  }
  return at;
}

// The bounds of a schema taken from a client (see the header): one walk over
// every subschema with each $ref expanded where it stands, as the validator
// will meet them, that stops at the first thing refused.
class SchemaBounds {
 public:
  explicit SchemaBounds(const json::Value& root) : root_(root) {}

  std::string check() {
    walk(root_, 1);
    return error_;
  }
  // The weight walked (all of it when check() found nothing wrong).
  size_t weight() const { return weight_; }

 private:
  void walk(const json::Value& schema, int depth) {
    if (!error_.empty() || !schema.IsObject()) {
      return;
    }
    if (depth > kMaxSchemaDepth) {
      error_ = "subschemas nest deeper than " + std::to_string(kMaxSchemaDepth) + " levels ($ref expanded)";
      return;
    }
    weight_ += 1 + sizeOf(schema, "enum") + sizeOf(schema, "required");
    if (weight_ > kMaxSchemaWeight) {
      error_ = "it weighs more than " + std::to_string(kMaxSchemaWeight) +
               " (subschemas with each $ref expanded, enum values and required names)";
      return;
    }
    path_.push_back(&schema);
    keywords(schema, depth);
    forEachChild(schema, [&](const json::Value& child) { walk(child, depth + 1); });
    path_.pop_back();
  }

  static size_t sizeOf(const json::Value& schema, const char* keyword) {
    const json::Value* v = json::member(schema, keyword);
    return v != nullptr && v->IsArray() ? v->Size() : 0;
  }

  // The keywords of one subschema that are refused, and its $ref, followed.
  void keywords(const json::Value& schema, int depth) {
    for (const char* k : {"pattern", "patternProperties"}) {
      if (json::member(schema, k) != nullptr) {
        error_ = std::string("\"") + k + "\" is not supported (regular expressions have no bound on their work)";
        return;
      }
    }
    if (const json::Value* u = json::member(schema, "uniqueItems"); u != nullptr && u->IsBool() && u->GetBool()) {
      error_ = "\"uniqueItems\" is not supported (it compares every pair of items)";
      return;
    }
    if (&schema != &root_ && (json::member(schema, "$id") != nullptr || json::member(schema, "id") != nullptr)) {
      error_ = "\"$id\" is only allowed at the root of the schema";
      return;
    }
    if (const json::Value* ref = json::member(schema, "$ref")) {
      followRef(*ref, depth);
    }
  }

  void followRef(const json::Value& ref, int depth) {
    const std::string_view text = ref.IsString() ? json::view(ref) : std::string_view();
    if (!ref.IsString() || text.empty() || text[0] != '#' || (text.size() > 1 && text[1] != '/')) {
      error_ = "$ref \"" + clip(std::string(text), 80) +
               "\" is not a JSON pointer into the schema (\"#/definitions/name\"); nothing is fetched";
      return;
    }
    const json::Value* target = resolve(root_, text.substr(1));
    if (target == nullptr || !(target->IsObject() || target->IsBool())) {
      error_ = "$ref \"" + clip(std::string(text), 80) + "\" names no schema";
      return;
    }
    if (std::find(path_.begin(), path_.end(), target) != path_.end()) {
      error_ = "$ref \"" + clip(std::string(text), 80) + "\" refers to itself or an enclosing schema (recursion)";
      return;
    }
    walk(*target, depth + 1);
  }

  const json::Value& root_;
  std::vector<const json::Value*> path_;  // The subschemas being walked, outermost first.
  size_t weight_ = 0;
  std::string error_;
};

// Which draft `schema` is written in: its `$schema`, draft-07 without one.
Result<SchemaDraft> draftOf(const json::Value& schema) {
  const json::Value* named = schema.IsObject() ? json::member(schema, "$schema") : nullptr;
  if (named == nullptr) {
    return SchemaDraft::kDraft7;
  }
  std::string uri = named->IsString() ? std::string(json::view(*named)) : std::string();
  if (uri.rfind("https://", 0) == 0) {
    uri.erase(4, 1);
  }
  if (!uri.empty() && uri.back() == '#') {
    uri.pop_back();
  }
  if (uri == "http://json-schema.org/draft-07/schema") {
    return SchemaDraft::kDraft7;
  }
  if (uri == "http://json-schema.org/draft-04/schema") {
    return SchemaDraft::kDraft4;
  }
  return refused("$schema must be draft-07 (\"http://json-schema.org/draft-07/schema#\") or draft-04, or absent");
}

// The schema a strict json_schema response_format carries, within its bounds
// and readable by the validator.
Result<OutputCheck> schemaCheckOf(const json::Value& format) {
  const json::Value* spec = json::member(format, "json_schema");
  const json::Value* schema = spec != nullptr && spec->IsObject() ? json::member(*spec, "schema") : nullptr;
  if (schema == nullptr || !(schema->IsObject() || schema->IsBool())) {
    return refused("response_format.json_schema.schema must be a JSON Schema (an object) when strict is true");
  }
  std::string text = json::toString(*schema);
  if (text.size() > kMaxSchemaBytes) {
    return refused("response_format.json_schema.schema is " + std::to_string(text.size()) + " bytes; at most " +
                   std::to_string(kMaxSchemaBytes) + " are accepted");
  }
  if (std::string why = SchemaBounds(*schema).check(); !why.empty()) {
    return refused("response_format.json_schema.schema is refused: " + why);
  }
  if (Result<CompiledSchema> compiled = CompiledSchema::compile(text); !compiled) {
    return refused("response_format.json_schema.schema is refused: " + compiled.error().message);
  }
  return OutputCheck{OutputCheck::kJsonSchema, std::move(text)};
}

// The values in `v`, itself included.
size_t countValues(const json::Value& v) {
  size_t n = 1;
  if (v.IsArray()) {
    for (const json::Value& item : v.GetArray()) {
      n += countValues(item);
    }
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      n += countValues(m.value);
    }
  }
  return n;
}

// valijson's path ("<root>", "[name]", "[0]") as one string.
std::string pathOf(const std::vector<std::string>& context) {
  std::string path;
  for (const std::string& part : context) {
    path += part;
  }
  return path;
}

}  // namespace

Result<std::optional<OutputCheck>> outputCheckOf(JobKind kind, const json::Value& request) {
  const json::Value* format =
      kind == JobKind::kChat && request.IsObject() ? json::member(request, "response_format") : nullptr;
  const json::Value* type = format != nullptr && format->IsObject() ? json::member(*format, "type") : nullptr;
  if (type == nullptr || !type->IsString()) {
    return std::optional<OutputCheck>();
  }
  if (json::view(*type) == "json_object") {
    return std::optional<OutputCheck>(OutputCheck{});
  }
  const json::Value* spec = json::member(*format, "json_schema");
  const json::Value* strict = spec != nullptr && spec->IsObject() ? json::member(*spec, "strict") : nullptr;
  if (json::view(*type) != "json_schema" || strict == nullptr || !strict->IsBool() || !strict->GetBool()) {
    return std::optional<OutputCheck>();  // Plain text, or a schema the model is only asked to follow.
  }
  Result<OutputCheck> check = schemaCheckOf(*format);
  if (!check) {
    return check.takeError();
  }
  return std::optional<OutputCheck>(std::move(*check));
}

struct CompiledSchema::Parsed {
  valijson::Schema schema;
  size_t weight = 1;  // For the bound on a check's work.
};

CompiledSchema::CompiledSchema(std::unique_ptr<Parsed> parsed) : parsed_(std::move(parsed)) {}
CompiledSchema::CompiledSchema(CompiledSchema&&) noexcept = default;
CompiledSchema& CompiledSchema::operator=(CompiledSchema&&) noexcept = default;
CompiledSchema::~CompiledSchema() = default;

Result<CompiledSchema> CompiledSchema::compile(std::string_view schema_json, std::optional<SchemaDraft> draft) {
  json::Document doc;
  std::string error;
  if (!json::parse(doc, schema_json, &error)) {
    return refused("the schema is not JSON: " + error);
  }
  if (!draft) {
    Result<SchemaDraft> named = draftOf(doc);
    if (!named) {
      return named.takeError();
    }
    draft = *named;
  }
  // `format` is an annotation (the validator would match dates with std::regex,
  // whose stack grows with the string).
  eachSubschema(static_cast<json::Value&>(doc), [](json::Value& s) { s.RemoveMember("format"); });
  auto parsed = std::make_unique<Parsed>();
  SchemaBounds bounds(doc);
  (void)bounds.check();  // Only its weight: the bounds were kept at submit.
  parsed->weight = std::max<size_t>(1, bounds.weight());
  try {
    valijson::SchemaParser parser(*draft == SchemaDraft::kDraft4 ? valijson::SchemaParser::kDraft4
                                                                 : valijson::SchemaParser::kDraft7);
    parser.populateSchema(valijson::adapters::RapidJsonAdapter(doc), parsed->schema);
  } catch (const std::exception& e) {
    return refused(clip(std::string("the validator cannot read it: ") + e.what()));
  }
  return CompiledSchema(std::move(parsed));
}

std::string CompiledSchema::mismatch(const json::Value& answer) const {
  const size_t values = countValues(answer);
  const size_t work = values * parsed_->weight;
  if (work > kMaxCheckWork) {
    return "the answer has " + std::to_string(values) +
           " JSON values, too many to check against a schema of weight " + std::to_string(parsed_->weight) +
           " (values times weight may be at most " + std::to_string(kMaxCheckWork) + ")";
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  try {
    // A first pass that stops at the first error; the second lists them all.
    if (validator.validate(parsed_->schema, valijson::adapters::RapidJsonAdapter(answer), nullptr)) {
      return "";
    }
    if (work > kMaxDetailWork) {
      return "the answer does not match the schema (with " + std::to_string(values) +
             " JSON values it is too large to say where)";
    }
    (void)validator.validate(parsed_->schema, valijson::adapters::RapidJsonAdapter(answer), &results);
  } catch (const std::exception& e) {
    return clip(std::string("the validator stopped: ") + e.what());
  }
  valijson::ValidationResults::Error first;
  if (!results.popError(first)) {
    return "the answer does not match the schema";
  }
  return clip(pathOf(first.context) + ": " + first.description);
}

std::string checkAnswer(const OutputCheck& check, std::string_view content) {
  json::Document answer;
  std::string error;
  if (!json::parse(answer, content, &error)) {
    return clip("the answer is not JSON: " + error);
  }
  if (check.kind == OutputCheck::kJsonObject) {
    return answer.IsObject() ? "" : "the answer is JSON but not an object";
  }
  Result<CompiledSchema> schema = CompiledSchema::compile(check.schema);
  if (!schema) {
    return clip("the job's schema cannot be read: " + schema.error().message);
  }
  return schema->mismatch(answer);
}

}  // namespace llmq
