// JSON helpers. appendString() is on the hot path of every event, so it scans for
// the bytes that need escaping and copies the runs between them in one go.
#include "common/json.h"

#include <cstring>

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
  bool RawNumber(const char* s, rapidjson::SizeType length, bool copy) {
    return doc_.RawNumber(s, length, copy);
  }
  bool String(const char* s, rapidjson::SizeType length, bool copy) { return doc_.String(s, length, copy); }
  bool Key(const char* s, rapidjson::SizeType length, bool copy) { return doc_.Key(s, length, copy); }

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
    *error = "JSON nested deeper than " + std::to_string(max_depth) + " levels at offset " +
             std::to_string(offset);
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

const Value* member(const Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return nullptr;
  }
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

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
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void writeRaw(Writer& w, std::string_view raw) {
  w.RawValue(raw.data(), raw.size(), rapidjson::kObjectType);
}

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
