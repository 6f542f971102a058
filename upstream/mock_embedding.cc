// Mock embeddings: a splitmix64 stream seeded by an FNV-1a hash of each input.
#include "upstream/mock_embedding.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace llmq::upstream {
namespace {

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The seed and the token count of one input: a string, or an array of token ids.
uint64_t seedOf(const json::Value& item, int64_t* tokens) {
  if (item.IsString()) {
    *tokens += (static_cast<int64_t>(item.GetStringLength()) + 3) / 4;
    return fnv1a(item.GetString(), item.GetStringLength());
  }
  uint64_t h = fnv1a("ids", 3);
  auto add = [&](const json::Value& t) {
    const int64_t v = t.IsInt64() ? t.GetInt64() : 0;
    h = fnv1a(&v, sizeof v, h);
    ++*tokens;
  };
  if (item.IsArray()) {
    for (const json::Value& t : item.GetArray()) {
      add(t);
    }
  } else {
    add(item);
  }
  return h;
}

std::vector<float> vectorOf(uint64_t seed, int64_t dims) {
  std::vector<float> v(static_cast<size_t>(dims));
  double norm = 0;
  for (float& x : v) {
    // 53 random bits -> [-1, 1).
    x = static_cast<float>(static_cast<double>(splitmix64(seed) >> 11) / 4503599627370496.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& x : v) {
      x = static_cast<float>(x / norm);
    }
  }
  return v;
}

void appendBase64(std::string& out, const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) |
                       (i + 2 < n ? uint32_t{p[i + 2]} : 0);
    out.push_back(kAlphabet[(b >> 18) & 63]);
    out.push_back(kAlphabet[(b >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? kAlphabet[b & 63] : '=');
  }
}

void appendVector(std::string& out, const std::vector<float>& v, bool base64) {
  if (base64) {
    std::vector<unsigned char> bytes(v.size() * 4);
    for (size_t i = 0; i < v.size(); ++i) {
      uint32_t bits;
      std::memcpy(&bits, &v[i], 4);
      for (int k = 0; k < 4; ++k) {
        bytes[i * 4 + static_cast<size_t>(k)] = static_cast<unsigned char>(bits >> (8 * k));
      }
    }
    out.push_back('"');
    appendBase64(out, bytes.data(), bytes.size());
    out.push_back('"');
    return;
  }
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    auto r = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, r.ptr);
  }
  out.push_back(']');
}

}  // namespace

Result<MockEmbeddings> mockEmbeddings(const json::Value& request, std::string_view model, std::string_view id,
                                      double prompt_usd_per_mtok) {
  const json::Value* input = json::member(request, "input");
  if (input == nullptr || !(input->IsString() || input->IsArray())) {
    return makeError(ErrorKind::kInvalidArgument, "mock: an embedding request needs an \"input\"");
  }
  int64_t dims = kMockEmbeddingDimensions;
  if (const json::Value* d = json::member(request, "dimensions");
      d != nullptr && d->IsInt64() && d->GetInt64() > 0) {
    dims = d->GetInt64();
  }
  const json::Value* format = json::member(request, "encoding_format");
  const bool base64 = format != nullptr && format->IsString() && json::view(*format) == "base64";
  // Input items: the string, each string or token-id array, or one array of ids.
  std::vector<const json::Value*> items;
  if (input->IsString() || (input->IsArray() && !input->Empty() && (*input)[0].IsNumber())) {
    items.push_back(input);
  } else {
    for (const json::Value& item : input->GetArray()) {
      items.push_back(&item);
    }
  }
  if (dims > kMockEmbeddingMaxValues / static_cast<int64_t>(std::max<size_t>(items.size(), 1))) {
    return makeError(ErrorKind::kInvalidArgument,
                     "mock: inputs × dimensions is more than " + std::to_string(kMockEmbeddingMaxValues));
  }
  MockEmbeddings m;
  std::string& r = m.result_json;
  r.reserve(static_cast<size_t>(128 + items.size() * static_cast<size_t>(dims) * (base64 ? 6 : 12)));
  r += "{\"object\":\"list\",\"id\":";
  json::appendString(r, id);
  r += ",\"provider\":\"mock\",\"model\":";
  json::appendString(r, model);
  r += ",\"data\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    r += i > 0 ? ",{\"object\":\"embedding\",\"index\":" : "{\"object\":\"embedding\",\"index\":";
    r += std::to_string(i);
    r += ",\"embedding\":";
    appendVector(r, vectorOf(seedOf(*items[i], &m.prompt_tokens), dims), base64);
    r += "}";
  }
  m.prompt_tokens = std::max<int64_t>(m.prompt_tokens, 1);
  m.cost_usd = static_cast<double>(m.prompt_tokens) * prompt_usd_per_mtok / 1e6;
  char cost[40];
  std::snprintf(cost, sizeof cost, "%.10g", m.cost_usd);
  r += "],\"usage\":{\"prompt_tokens\":" + std::to_string(m.prompt_tokens) +
       ",\"total_tokens\":" + std::to_string(m.prompt_tokens) + ",\"cost\":" + cost + "}}";
  return m;
}

}  // namespace llmq::upstream
