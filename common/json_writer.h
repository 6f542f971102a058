// JsonWriter: compact JSON appended to a std::string, with the commas placed by
// the writer, and json::appendString, the one JSON string escaper of llmq. For
// answers built from stored fields and already-serialized JSON, where a
// RapidJSON Document would only be copied into and out of.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace llmq::json {

// Appends `s` as a quoted JSON string: '"', '\' and the control characters are
// escaped (\n, \r, \t, \b, \f, the others as \u00XX in lower-case hex); every
// other byte, UTF-8 included, is copied as is. The caller passes valid UTF-8:
// bytes that are not would make the whole answer unreadable to its reader.
void appendString(std::string& out, std::string_view s);

}  // namespace llmq::json

namespace llmq {

// Writes JSON at the end of a string it does not own, which must outlive it.
// Nothing is allocated but the string's own growth, and nothing is checked:
// the caller writes a key before each member's value and closes what it opens
// (as with RapidJSON's Writer, a wrong sequence writes wrong JSON). A comma goes
// before every value or key that follows another at the same level, so the
// writer needs no stack, only whether the last thing written was a value.
// Single-threaded, like the string it writes to.
class JsonWriter {
 public:
  // Where the writing starts: a fresh value, or after the members of an object
  // (or the elements of an array) that the string already holds, so that the
  // first key or value written gets a comma.
  enum class Start { kValue, kAfterMember };

  explicit JsonWriter(std::string& out, Start start = Start::kValue)
      : out_(out), need_comma_(start == Start::kAfterMember) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  // An object's key (escaped like any string) and its colon; a value follows.
  JsonWriter& key(std::string_view k);

  // Values. The names differ by type on purpose: overloads of one name would
  // send a string literal to bool.
  JsonWriter& string(std::string_view s);
  JsonWriter& int64(int64_t n);
  JsonWriter& uint64(uint64_t n);
  // A double as common/text.h's decimal() prints it (10 significant digits,
  // money and figures everywhere in llmq); null when not finite.
  JsonWriter& decimal(double d);
  // A double as RapidJSON's Writer prints it (json::Writer): the shortest text
  // that reads back as the same double, "1.0" for one; null when not finite.
  JsonWriter& roundTrip(double d);
  JsonWriter& boolean(bool b);
  JsonWriter& null();
  // Text that is JSON already (a stored request or result), copied as is.
  JsonWriter& raw(std::string_view json);
  // The string, after the comma a value needs there, for a caller that appends
  // one value's JSON itself (a quoted timestamp written straight in, a part
  // rendered by a function that appends to a std::string).
  std::string& rawValue();
  // A string value, or null when `s` is empty: the protocol's way to say "none".
  JsonWriter& stringOrNull(std::string_view s) { return s.empty() ? null() : string(s); }

  std::string& out() { return out_; }

 private:
  // `s` quoted and escaped, after the comma a value or key needs there, then
  // `tail` (at most one byte: the colon after a key).
  void quoted(std::string_view s, std::string_view tail);

  std::string& out_;
  bool need_comma_;
};

}  // namespace llmq
