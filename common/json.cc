// JSON helpers: parsing with llmq's limits, lookup, compact serialization. The
// string escaper is beside JsonWriter (common/json_writer.cc).
#include "common/json.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

#include "common/utf8.h"

namespace llmq::json {

size_t findTooDeep(std::string_view text, int max_depth) {
  if (text.size() <= static_cast<size_t>(max_depth)) {
    return std::string_view::npos;  // Each level takes a byte: cannot be too deep.
  }
  int depth = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    switch (text[i]) {
      case '[':
      case '{':
        if (++depth > max_depth) {
          return i;
        }
        break;
      case ']':
      case '}':
        --depth;
        break;
      case '"':
        // Skip the string: up to the next unescaped '"' (or the end).
        for (++i; i < n && text[i] != '"'; ++i) {
          if (text[i] == '\\') {
            ++i;
          }
        }
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

namespace {

// RapidJSON decodes an escaped low surrogate that no high one precedes ("\udc00")
// to the three bytes ED B0 80, which are not UTF-8: a surrogate's code point
// encoded as if it were a character. A lone high surrogate it refuses
// (kParseErrorStringUnicodeSurrogateInvalid; parse() then repairs the text).
// Valid UTF-8 has ED only before 80..9F, so ED A0..BF marks such a surrogate.
bool hasEncodedSurrogate(const char* s, size_t n) {
  for (const void* at = std::memchr(s, 0xED, n); at != nullptr;) {
    const size_t i = static_cast<size_t>(static_cast<const char*>(at) - s);
    if (i + 1 < n && static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
      return true;
    }
    at = i + 1 < n ? std::memchr(s + i + 1, 0xED, n - i - 1) : nullptr;
  }
  return false;
}

// Each encoded surrogate becomes U+FFFD (EF BF BD), as long as it.
std::string replaceEncodedSurrogates(const char* s, size_t n) {
  std::string out(s, n);
  for (size_t i = 0; i + 2 < n; ++i) {
    if (static_cast<unsigned char>(out[i]) == 0xED && static_cast<unsigned char>(out[i + 1]) >= 0xA0) {
      out[i] = '\xEF';
      out[i + 1] = '\xBF';
      out[i + 2] = '\xBD';
      i += 2;
    }
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// The code unit of the escape "\uXXXX" at text[i], or -1 when there is none.
int escapedUnit(std::string_view text, size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') {
    return -1;
  }
  int unit = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const int h = hexValue(text[k]);
    if (h < 0) {
      return -1;
    }
    unit = unit * 16 + h;
  }
  return unit;
}

}  // namespace

std::string replaceLoneHighSurrogates(std::string_view text) {
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != '\\') {
      continue;
    }
    const int unit = escapedUnit(out, i);
    if (unit < 0) {
      ++i;  // Another escape ("\\", "\n", ...): its second byte is not a backslash.
      continue;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const int next = escapedUnit(out, i + 6);
      if (next >= 0xDC00 && next <= 0xDFFF) {
        i += 11;  // A pair: both escapes stay.
        continue;
      }
      out.replace(i + 2, 4, "fffd");
    }
    i += 5;
  }
  return out;
}

namespace {

// The Document's own SAX handler with a depth count in front: it refuses the
// StartObject/StartArray that would open level max_depth + 1, which stops the
// reader there (kParseErrorTermination) before its recursion goes any deeper.
// Everything else is forwarded unchanged, so the Document is built exactly as
// Document::Parse builds it.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}

  bool tooDeep() const { return too_deep_; }

  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }
  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType length, bool copy) { return doc_.RawNumber(s, length, copy); }
  bool String(const char* s, rapidjson::SizeType length, bool copy) {
    if (hasEncodedSurrogate(s, length)) {
      const std::string fixed = replaceEncodedSurrogates(s, length);
      return doc_.String(fixed.data(), length, true);
    }
    return doc_.String(s, length, copy);
  }
  bool Key(const char* s, rapidjson::SizeType length, bool copy) {
    if (hasEncodedSurrogate(s, length)) {
      const std::string fixed = replaceEncodedSurrogates(s, length);
      return doc_.Key(fixed.data(), length, true);
    }
    return doc_.Key(s, length, copy);
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// What Document::Parse<kStrictParse>(data, size) does (the same stream, reader and
// flags), with DepthLimitedHandler between the reader and the Document. For
// Document::Populate, which keeps the value only when this returns true.
class DepthLimitedParse {
 public:
  DepthLimitedParse(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  bool operator()(Document& doc) {
    rapidjson::MemoryStream ms(text_.data(), text_.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
    rapidjson::CrtAllocator stack_allocator;
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator> reader(
        &stack_allocator);
    DepthLimitedHandler handler(doc, max_depth_);
    result_ = reader.Parse<kStrictParse>(is, handler);
    too_deep_ = handler.tooDeep();
    return !result_.IsError();
  }

  const rapidjson::ParseResult& result() const { return result_; }
  bool tooDeep() const { return too_deep_; }

 private:
  std::string_view text_;
  const int max_depth_;
  rapidjson::ParseResult result_;
  bool too_deep_ = false;
};

void failTooDeep(Document& doc, std::string* error, int max_depth, size_t offset) {
  doc.SetNull();
  if (error != nullptr) {
    *error = "JSON nested deeper than " + std::to_string(max_depth) + " levels at offset " + std::to_string(offset);
  }
}

}  // namespace

bool parse(Document& doc, std::string_view text, std::string* error, int max_depth) {
  // One pass: the reader builds the Document and counts depth as it goes.
  DepthLimitedParse generator(text, max_depth);
  doc.Populate(generator);
  if (!generator.result().IsError()) {
    return true;
  }
  if (generator.result().Code() == rapidjson::kParseErrorStringUnicodeSurrogateInvalid) {
    // A JavaScript string cut in the middle of a character: each lone high
    // surrogate becomes U+FFFD, as the low ones do in the handler (docs/json.md).
    const std::string repaired = replaceLoneHighSurrogates(text);
    DepthLimitedParse again(repaired, max_depth);
    doc.Populate(again);
    if (!again.result().IsError()) {
      return true;
    }
  }
  if (generator.tooDeep()) {
    // The reader stops right after taking the '[' or '{' that was refused.
    failTooDeep(doc, error, max_depth, generator.result().Offset() - 1);
    return false;
  }
  // Text that is invalid before it nests too deep still reports the depth, as it
  // did when the depth was checked by a scan before parsing (findTooDeep): only
  // failures pay for this second pass.
  if (const size_t deep = findTooDeep(text, max_depth); deep != std::string_view::npos) {
    failTooDeep(doc, error, max_depth, deep);
    return false;
  }
  if (error != nullptr) {
    *error = std::string(rapidjson::GetParseError_En(generator.result().Code())) + " at offset " +
             std::to_string(generator.result().Offset());
  }
  return false;
}

bool parseRepairingUtf8(Document& doc, std::string_view& text, std::string& repaired, std::string* error) {
  if (parse(doc, text, error)) {
    return true;
  }
  if (isValidUtf8(text)) {
    return false;
  }
  repaired = repairUtf8(text);
  text = repaired;
  return parse(doc, text, error);
}

namespace {

// Appends to `path` (from the end back: the caller reverses the pieces) where the
// first object with a key twice is; false when there is none.
bool duplicateKeyIn(const Value& v, std::vector<std::string>& path) {
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (duplicateKeyIn(v[i], path)) {
        path.push_back("[" + std::to_string(i) + "]");
        return true;
      }
    }
    return false;
  }
  if (!v.IsObject()) {
    return false;
  }
  std::optional<std::string_view> twice;
  if (v.MemberCount() <= 8) {  // Most objects: compare pairwise, allocate nothing.
    for (auto a = v.MemberBegin(); a != v.MemberEnd() && !twice; ++a) {
      for (auto b = a + 1; b != v.MemberEnd(); ++b) {
        if (view(a->name) == view(b->name)) {
          twice = view(a->name);
          break;
        }
      }
    }
  } else {
    std::vector<std::string_view> keys;
    keys.reserve(v.MemberCount());
    for (const auto& m : v.GetObject()) {
      keys.push_back(view(m.name));
    }
    std::sort(keys.begin(), keys.end());
    if (auto dup = std::adjacent_find(keys.begin(), keys.end()); dup != keys.end()) {
      twice = *dup;
    }
  }
  if (twice) {
    std::string key;
    appendString(key, *twice);
    path.push_back(" holds the key " + key + " twice");
    return true;
  }
  for (const auto& m : v.GetObject()) {
    if (duplicateKeyIn(m.value, path)) {
      std::string key;
      appendString(key, view(m.name));
      path.push_back("[" + key + "]");
      return true;
    }
  }
  return false;
}

}  // namespace

std::string findDuplicateKey(const Value& v) {
  std::vector<std::string> path;
  if (!duplicateKeyIn(v, path)) {
    return {};
  }
  // duplicateKeyIn added the steps innermost first.
  return std::accumulate(path.rbegin(), path.rend(), std::string("$"));
}

const Value* member(const Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return nullptr;
  }
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string_view view(const Value& string_value) {
  return {string_value.GetString(), string_value.GetStringLength()};
}

std::string toString(const Value& v) {
  std::string out;
  appendTo(out, v);
  return out;
}

void appendTo(std::string& out, const Value& v) {
  Buffer buf;
  Writer w(buf);
  v.Accept(w);
  out.append(buf.GetString(), buf.GetSize());
}

void writeRaw(Writer& w, std::string_view raw) { w.RawValue(raw.data(), raw.size(), rapidjson::kObjectType); }

std::vector<std::string> parseStringList(const std::string& text) {
  std::vector<std::string> keys;
  Document doc;
  if (!text.empty() && text.front() == '[' && parse(doc, text, nullptr) && doc.IsArray()) {
    for (const auto& v : doc.GetArray()) {
      if (v.IsString() && v.GetStringLength() > 0) {
        keys.emplace_back(v.GetString(), v.GetStringLength());
      }
    }
    return keys;
  }
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) {
      comma = text.size();
    }
    std::string k = text.substr(pos, comma - pos);
    k.erase(0, k.find_first_not_of(" \t\r\n"));
    k.erase(k.find_last_not_of(" \t\r\n") + 1);
    if (!k.empty()) {
      keys.push_back(k);
    }
    pos = comma + 1;
  }
  return keys;
}

}  // namespace llmq::json
