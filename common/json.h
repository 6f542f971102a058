// The one place RapidJSON is included (see docs/json.md for why RapidJSON), plus
// the few helpers every layer uses: member lookup, compact serialization, and
// (from common/json_writer.h) string escaping straight into a std::string.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"

namespace llmq::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;
using Buffer = rapidjson::StringBuffer;

// RapidJSON's writer, except that a non-finite double (which JSON cannot express;
// RapidJSON would write nothing and return false, leaving a key without a value)
// is written as null. The last line of defence: figures are clamped before they
// get here (docs/operations.md, "Bounds").
class Writer : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  using rapidjson::Writer<rapidjson::StringBuffer>::Writer;
  bool Double(double d) {
    if (!std::isfinite(d)) {
      return Null();
    }
    return rapidjson::Writer<rapidjson::StringBuffer>::Double(d);
  }
};

// Parse flags for untrusted input: reject invalid UTF-8 and trailing garbage,
// allow nothing non-standard. Numbers are read to the nearest double (without
// kParseFullPrecisionFlag RapidJSON may be a few units off in the last place),
// so a number written back out (a request stored and sent upstream, an answer
// passed on: an embedding is a thousand of them) is the number that came in.
inline constexpr unsigned kStrictParse = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;

// The deepest nesting of arrays and objects parse() accepts. RapidJSON parses (and
// Writer serializes) recursively, so a few hundred thousand '[' would overflow the
// stack; every parse of outside bytes goes through parse(), whose handler stops
// RapidJSON at the first level too many, in the one pass that builds the Document.
// 128 levels is far beyond any real chat request, tool schema or upstream answer.
inline constexpr int kMaxDepth = 128;
// The limit for reading llmqd's own answers (clients, and the HTTP front reading
// the dispatcher): they wrap values that were parsed with kMaxDepth (a stored
// chat.completion, a tool-call delta) a few levels deeper.
inline constexpr int kMaxAnswerDepth = 2 * kMaxDepth;

// Parses `text` into `doc`; on failure returns false and writes a one-line reason.
// An escaped surrogate without its other half ("\ud83d" alone: a JavaScript
// string cut mid-emoji) is read as U+FFFD, not refused, and never yields bytes
// that are not UTF-8 (docs/json.md).
// Text nested deeper than `max_depth` fails with "JSON nested deeper than 128
// levels at offset N" (N = findTooDeep(text)), even when invalid before N.
bool parse(Document& doc, std::string_view text, std::string* error, int max_depth = kMaxDepth);

// parse() for text from an upstream, whose answer was paid for: when `text` does
// not parse and is not valid UTF-8, each bad byte becomes U+FFFD (as OpenAI's SDKs
// decode it) in `repaired`, `text` is pointed at that, and it is parsed again.
bool parseRepairingUtf8(Document& doc, std::string_view& text, std::string& repaired, std::string* error);

// The offset of the first '[' or '{' that opens level `max_depth + 1` (strings are
// skipped, escapes included), or npos when `text` never nests that deep. Invalid
// JSON is scanned past its first error. A second pass over the text: parse() runs
// it only after a failure, to tell too-deep text from other bad text.
size_t findTooDeep(std::string_view text, int max_depth = kMaxDepth);

// `text` with each escaped high surrogate that no escaped low one follows
// replaced by "\ufffd" (the same length). Other escapes are skipped whole.
std::string replaceLoneHighSurrogates(std::string_view text);

// Where the first object in `v` that holds a key twice is, and the key
// ("$[\"messages\"][0] holds the key \"content\" twice"), or empty when there is none. A request with a key twice
// would be read one way by llmqd (the first) and another by the upstream (the
// last), so job.submit refuses it.
std::string findDuplicateKey(const Value& v);

// The member `name` of `obj`, or nullptr when obj is not an object or lacks it.
const Value* member(const Value& obj, const char* name);

std::string_view view(const Value& string_value);

// Compact serialization of `v`.
std::string toString(const Value& v);
void appendTo(std::string& out, const Value& v);

// A list of strings from an environment variable: a JSON array of strings, or a
// comma-separated list (blanks trimmed, empty items dropped).
std::vector<std::string> parseStringList(const std::string& text);

// Writes `raw` JSON text (already valid) through a Writer.
void writeRaw(Writer& w, std::string_view raw);

inline void writeString(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void writeKey(Writer& w, std::string_view s) { w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

}  // namespace llmq::json
