// Mock text: FNV-1a seeds an xorshift generator that picks from a word list.
#include "upstream/mock_text.h"

namespace llmq::upstream {
namespace {

constexpr const char* kWords[] = {
    "the",     "queue",   "keeps",      "every",   "job",     "safe",   "and",     "streams", "tokens",  "back",
    "while",   "budget",  "limits",     "hold",    "steady",  "under",  "load",    "a",       "local",   "daemon",
    "answers", "quickly", "with",       "durable", "state",   "in",     "sqlite",  "so",      "nothing", "is",
    "lost",    "when",    "power",      "fails",   "retries", "follow", "backoff", "rules",   "keys",    "rotate",
    "models",  "fall",    "over",       "cost",    "known",   "for",    "each",    "request", "clients", "share",
    "fairly",  "across",  "priority",   "levels",  "latency", "stays",  "low",     "events",  "arrive",  "live",
    "to",      "every",   "subscriber", "now"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int64_t contentBytes(const json::Value& content) {
  if (content.IsString()) {
    return content.GetStringLength();
  }
  int64_t n = 0;
  if (content.IsArray()) {  // Multimodal parts: count the text parts.
    for (const auto& part : content.GetArray()) {
      if (const json::Value* text = json::member(part, "text"); text != nullptr && text->IsString()) {
        n += text->GetStringLength();
      }
    }
  }
  return n;
}

}  // namespace

int64_t mockPromptTokens(const json::Value& messages) {
  int64_t tokens = 3;
  if (!messages.IsArray()) {
    return tokens;
  }
  for (const auto& m : messages.GetArray()) {
    tokens += 4;
    if (const json::Value* content = json::member(m, "content")) {
      tokens += (contentBytes(*content) + 3) / 4;
    }
  }
  return tokens;
}

std::string lastUserText(const json::Value& messages) {
  std::string text;
  if (!messages.IsArray()) {
    return text;
  }
  for (const auto& m : messages.GetArray()) {
    const json::Value* role = json::member(m, "role");
    const json::Value* content = json::member(m, "content");
    if (role != nullptr && role->IsString() && json::view(*role) == "user" && content != nullptr &&
        content->IsString()) {
      text.assign(content->GetString(), content->GetStringLength());
    }
  }
  return text;
}

std::vector<std::string> mockWords(std::string_view seed_text, int count) {
  std::vector<std::string> words;
  words.reserve(static_cast<size_t>(count));
  uint64_t x = fnv1a(seed_text) | 1;
  for (int i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    words.emplace_back(kWords[x % kWordCount]);
  }
  if (!words.empty()) {
    words.front()[0] = static_cast<char>(words.front()[0] - ('a' - 'A'));
    words.back().push_back('.');
  }
  return words;
}

}  // namespace llmq::upstream
