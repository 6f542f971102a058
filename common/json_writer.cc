// JsonWriter's less frequent values (runtime keys, doubles), and the JSON
// string escaper. appendString() is on the hot
// path of every event, so it scans eight bytes a step for the bytes that need
// escaping and copies the runs between them in one go.
#include "common/json_writer.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/json.h"
#include "common/text.h"

namespace llmq::json {
namespace {

// Whether appendString() escapes byte `c`.
bool mustEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The bytes of a 64-bit word that are below 0x20, '"' or '\', each marked by
// its high bit. The marks come from subtractions whose borrows may also mark a
// byte above a true one, never below it: the lowest mark is always the first
// byte to escape.
uint64_t escapeMarks(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  return ((w - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~w & kHigh;
}

// `c`, which mustEscape(), as its JSON escape.
void appendEscape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    default: {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 6);
    }
  }
}

}  // namespace

size_t firstToEscape(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (const uint64_t marks = escapeMarks(w); marks != 0) {
        return i + static_cast<size_t>(std::countr_zero(marks) / 8);
      }
    }
    if (i < n && n >= 8) {
      // The last bytes as one word that overlaps the clean ones before them:
      // its first mark is at i or after.
      uint64_t w;
      std::memcpy(&w, p + n - 8, 8);
      const uint64_t marks = escapeMarks(w);
      return marks != 0 ? n - 8 + static_cast<size_t>(std::countr_zero(marks) / 8) : n;
    }
  }
  while (i < n && !mustEscape(static_cast<unsigned char>(p[i]))) {
    ++i;
  }
  return i;
}

namespace {

// The text of `s` escaped, without quotes, its first `clean` bytes known to need
// no escape: each byte to escape, then the clean run after it in one append.
void appendEscaped(std::string& out, std::string_view s, size_t clean) {
  out.append(s.data(), clean);
  size_t i = clean;
  while (i < s.size()) {
    appendEscape(out, static_cast<unsigned char>(s[i]));
    const std::string_view rest = s.substr(i + 1);
    const size_t run = firstToEscape(rest);
    out.append(rest.data(), run);
    i += 1 + run;
  }
}

}  // namespace

void appendString(std::string& out, std::string_view s) {
  out.push_back('"');
  appendEscaped(out, s, firstToEscape(s));
  out.push_back('"');
}

}  // namespace llmq::json

namespace llmq {

JsonWriter& JsonWriter::key(std::string_view k) {
  if (need_comma_) {
    out_.push_back(',');
  }
  json::appendString(out_, k);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

void JsonWriter::escapedRest(std::string_view s, size_t clean) { json::appendEscaped(out_, s, clean); }

JsonWriter& JsonWriter::uint64(uint64_t n) {
  startValue('\0');
  char buf[24];
  out_.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf));
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::decimal(double d) {
  appendDecimal(rawValue(), d);
  return *this;
}

JsonWriter& JsonWriter::roundTrip(double d) {
  std::string& out = rawValue();
  if (!std::isfinite(d)) {
    out.append("null");
    return *this;
  }
  // The routine RapidJSON's Writer::Double calls, with its default of 324
  // decimal places (all of them), so the text is the same byte for byte.
  char buf[32];
  out.append(buf, rapidjson::internal::dtoa(d, buf));
  return *this;
}

}  // namespace llmq
