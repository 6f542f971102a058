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

bool parse(Document& doc, std::string_view text, std::string* error, int max_depth) {
  if (const size_t deep = findTooDeep(text, max_depth); deep != std::string_view::npos) {
    doc.SetNull();
    if (error != nullptr) {
      *error = "JSON nested deeper than " + std::to_string(max_depth) + " levels at offset " +
               std::to_string(deep);
    }
    return false;
  }
  doc.Parse<kStrictParse>(text.data(), text.size());
  if (doc.HasParseError()) {
    if (error != nullptr) {
      *error = std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
               std::to_string(doc.GetErrorOffset());
    }
    return false;
  }
  return true;
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
