// JsonWriter's numbers, and the JSON string escaper. appendString() is on the hot
// path of every event, so it scans for the bytes that need escaping and copies
// the runs between them in one go.
#include "common/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/json.h"
#include "common/text.h"

namespace llmq::json {

void appendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
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
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace llmq::json

namespace llmq {
namespace {

// Tokens up to this long are put together on the stack and appended in one
// go: one call into std::string per token, as a hand-written literal costs.
constexpr size_t kShortToken = 128;

// Whether `s` holds a byte appendString() escapes.
bool needsEscape(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == '"' || c == '\\') {
      return true;
    }
  }
  return false;
}

}  // namespace

JsonWriter& JsonWriter::beginObject() {
  if (need_comma_) {
    out_.push_back(',');
  }
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  if (need_comma_) {
    out_.push_back(',');
  }
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

void JsonWriter::quoted(std::string_view s, std::string_view tail) {
  if (s.size() <= kShortToken && !needsEscape(s)) {
    // The comma, the quoted text and the tail in one append.
    char buf[kShortToken + 4];
    char* p = buf;
    if (need_comma_) {
      *p++ = ',';
    }
    *p++ = '"';
    if (!s.empty()) {  // An empty view may hold a null pointer, which memcpy may not get.
      std::memcpy(p, s.data(), s.size());
    }
    p += s.size();
    *p++ = '"';
    for (char t : tail) {
      *p++ = t;
    }
    out_.append(buf, static_cast<size_t>(p - buf));
    return;
  }
  if (need_comma_) {
    out_.push_back(',');
  }
  json::appendString(out_, s);
  out_.append(tail);
}

JsonWriter& JsonWriter::key(std::string_view k) {
  quoted(k, ":");
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  quoted(s, {});
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::int64(int64_t n) {
  char buf[24];
  char* p = buf;
  if (need_comma_) {
    *p++ = ',';
  }
  out_.append(buf, static_cast<size_t>(std::to_chars(p, buf + sizeof buf, n).ptr - buf));
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::uint64(uint64_t n) {
  char buf[24];
  char* p = buf;
  if (need_comma_) {
    *p++ = ',';
  }
  out_.append(buf, static_cast<size_t>(std::to_chars(p, buf + sizeof buf, n).ptr - buf));
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

JsonWriter& JsonWriter::boolean(bool b) {
  std::string_view text = b ? std::string_view(",true") : std::string_view(",false");
  out_.append(need_comma_ ? text : text.substr(1));
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::null() {
  out_.append(need_comma_ ? std::string_view(",null") : std::string_view("null"));
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  rawValue().append(json);
  return *this;
}

std::string& JsonWriter::rawValue() {
  if (need_comma_) {
    out_.push_back(',');
  }
  need_comma_ = true;
  return out_;
}

}  // namespace llmq
