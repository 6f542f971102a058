// JsonWriter: compact JSON appended to a std::string, with the commas placed by
// the writer, and json::appendString, the one JSON string escaper of llmq. For
// answers built from stored fields and already-serialized JSON, where a
// RapidJSON Document would only be copied into and out of.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmq::json {

// The index of the first byte of `s` that appendString() escapes ('"', '\' or
// a control character), or s.size() when there is none. Eight bytes a step:
// most text written (ids, names, model output) has no such byte at all.
size_t firstToEscape(std::string_view s);

// Appends `s` as a quoted JSON string: '"', '\' and the control characters are
// escaped (\n, \r, \t, \b, \f, the others as \u00XX in lower-case hex); every
// other byte, UTF-8 included, is copied as is. The caller passes valid UTF-8:
// bytes that are not would make the whole answer unreadable to its reader.
void appendString(std::string& out, std::string_view s);

// A key known when compiling, for JsonWriter::key<"name">(): a string literal
// with no byte to escape (a compile error otherwise), held as the text the
// writer appends for it, `,"name":"`: comma first, and the opening quote of a
// string value last, so that a member's key costs one append of a constant, as
// a hand-merged literal does.
template <size_t N>
struct LiteralKey {
  consteval LiteralKey(const char (&name)[N]) {  // NOLINT: implicit from a literal on purpose.
    text[0] = ',';
    text[1] = '"';
    for (size_t i = 0; i + 1 < N; ++i) {
      const auto c = static_cast<unsigned char>(name[i]);
      if (c < 0x20 || c == '"' || c == '\\') {
        throw "a literal key holds a byte to escape";  // Evaluated only when it is: a compile error.
      }
      text[i + 2] = name[i];
    }
    text[N + 1] = '"';
    text[N + 2] = ':';
    text[N + 3] = '"';
  }
  // ',' '"' name '"' ':' '"' (N counts the literal's terminating NUL, not written).
  char text[N + 4] = {};
};

}  // namespace llmq::json

namespace llmq {

// Writes JSON at the end of a string it does not own, which must outlive it.
// Nothing is allocated but the string's own growth, and nothing is checked:
// the caller writes a key before each member's value and closes what it opens
// (as with RapidJSON's Writer, a wrong sequence writes wrong JSON). A comma goes
// before every value or key that follows another at the same level, so the
// writer needs no stack, only whether the last thing written was a value.
// Single-threaded, like the string it writes to.
//
// The calls of every member are inline (below the class): with the key's text
// and length known where it is written, the compiler turns a key<"...">() and
// its value into the few stores a hand-merged literal costs.
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
  // The same for a key written in the code, checked and quoted when compiling:
  // w.key<"state">().string(s). Nothing is appended yet: the value appends the
  // comma (when one is due), the quoted key and the colon, and for a string its
  // opening quote, in one go with what starts the value.
  template <json::LiteralKey K>
  JsonWriter& key() {
    const size_t skip = need_comma_ ? 0 : 1;
    pending_key_ = K.text + skip;
    pending_size_ = sizeof K.text - skip;
    need_comma_ = false;
    return *this;
  }

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
  // Before a value: the pending literal key (or the comma a value needs there),
  // then `open` ('\0' for none) unless the key's text already ends with it.
  void startValue(char open);
  // The rest of a string value from its first byte to escape (json::appendString's escaping).
  void escapedRest(std::string_view s, size_t clean);

  std::string& out_;
  bool need_comma_;
  // The text of a key<"...">() whose value is not written yet: `,"name":"`
  // (without the comma when none is due).
  const char* pending_key_ = nullptr;
  size_t pending_size_ = 0;
};

inline void JsonWriter::startValue(char open) {
  if (pending_key_ != nullptr) {
    // The key's text ends with a string's opening quote: kept only for one.
    out_.append(pending_key_, open == '"' ? pending_size_ : pending_size_ - 1);
    pending_key_ = nullptr;
    if (open != '"' && open != '\0') {
      out_.push_back(open);
    }
    return;
  }
  if (need_comma_) {
    out_.push_back(',');
  }
  if (open != '\0') {
    out_.push_back(open);
  }
}

inline JsonWriter& JsonWriter::beginObject() {
  startValue('{');
  need_comma_ = false;
  return *this;
}

inline JsonWriter& JsonWriter::endObject() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

inline JsonWriter& JsonWriter::beginArray() {
  startValue('[');
  need_comma_ = false;
  return *this;
}

inline JsonWriter& JsonWriter::endArray() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

inline JsonWriter& JsonWriter::string(std::string_view s) {
  startValue('"');
  const size_t clean = json::firstToEscape(s);
  if (clean == s.size()) {
    out_.append(s.data(), s.size());
  } else {
    escapedRest(s, clean);
  }
  out_.push_back('"');
  need_comma_ = true;
  return *this;
}

inline JsonWriter& JsonWriter::int64(int64_t n) {
  startValue('\0');
  char buf[24];
  out_.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf));
  need_comma_ = true;
  return *this;
}

inline JsonWriter& JsonWriter::boolean(bool b) {
  startValue('\0');
  out_.append(b ? std::string_view("true") : std::string_view("false"));
  need_comma_ = true;
  return *this;
}

inline JsonWriter& JsonWriter::null() {
  startValue('\0');
  out_.append("null");
  need_comma_ = true;
  return *this;
}

inline std::string& JsonWriter::rawValue() {
  startValue('\0');
  need_comma_ = true;
  return out_;
}

inline JsonWriter& JsonWriter::raw(std::string_view json) {
  rawValue().append(json);
  return *this;
}

}  // namespace llmq
