// parseModelCatalog: lenient per entry, strict about the envelope.
#include "upstream/model_catalog_parse.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/json.h"

namespace llmq::upstream {
namespace {

// Ids and names beyond this are not model ids but garbage; skip the entry.
constexpr size_t kMaxIdBytes = 256;
constexpr size_t kMaxNameBytes = 512;

// What one price member says.
enum class PriceState { kAbsent, kUnknown, kValue, kMalformed };

struct Price {
  PriceState state = PriceState::kAbsent;
  double value = 0;
};

// A price as OpenRouter writes it: a decimal string ("0.000003"), or a number. A
// negative price ("-1") means "unknown / varies"; null is the same as absent.
Price readPrice(const json::Value& pricing, const char* name) {
  const json::Value* v = json::member(pricing, name);
  if (v == nullptr || v->IsNull()) {
    return {};
  }
  double d = 0;
  if (v->IsNumber()) {
    d = v->GetDouble();
  } else if (v->IsString()) {
    std::string text(json::view(*v));
    if (text.empty() || text.size() > 64) {
      return {PriceState::kMalformed, 0};
    }
    char* end = nullptr;
    d = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) {
      return {PriceState::kMalformed, 0};
    }
  } else {
    return {PriceState::kMalformed, 0};
  }
  if (!std::isfinite(d)) {
    return {PriceState::kMalformed, 0};
  }
  if (d < 0) {
    return {PriceState::kUnknown, 0};
  }
  return {PriceState::kValue, d};
}

// A non-negative token count; null, absent or negative read as 0 (unknown).
std::optional<int64_t> readCount(const json::Value& obj, const char* name) {
  const json::Value* v = json::member(obj, name);
  if (v == nullptr || v->IsNull()) {
    return int64_t{0};
  }
  if (v->IsInt64()) {
    return std::max<int64_t>(0, v->GetInt64());
  }
  if (v->IsNumber()) {
    double d = v->GetDouble();
    if (!std::isfinite(d) || d > 1e15) {
      return std::nullopt;
    }
    return d > 0 ? static_cast<int64_t>(d) : 0;
  }
  return std::nullopt;
}

// One entry of `data`, or nullopt if it is malformed.
std::optional<ModelInfo> parseEntry(const json::Value& e, std::string_view provider) {
  const json::Value* id = json::member(e, "id");
  if (id == nullptr || !id->IsString() || id->GetStringLength() == 0 || id->GetStringLength() > kMaxIdBytes) {
    return std::nullopt;
  }
  ModelInfo m;
  m.id = std::string(json::view(*id));
  m.provider = std::string(provider);
  if (const json::Value* name = json::member(e, "name"); name != nullptr && !name->IsNull()) {
    if (!name->IsString() || name->GetStringLength() > kMaxNameBytes) {
      return std::nullopt;
    }
    m.name = std::string(json::view(*name));
  }

  auto context = readCount(e, "context_length");
  if (!context) {
    return std::nullopt;
  }
  m.context_length = *context;
  if (const json::Value* top = json::member(e, "top_provider"); top != nullptr && top->IsObject()) {
    auto top_context = readCount(*top, "context_length");
    auto max_completion = readCount(*top, "max_completion_tokens");
    if (!top_context || !max_completion) {
      return std::nullopt;
    }
    if (m.context_length == 0) {
      m.context_length = *top_context;
    }
    m.max_completion_tokens = *max_completion;
  }

  const json::Value* pricing = json::member(e, "pricing");
  if (pricing == nullptr || pricing->IsNull()) {
    return m;  // No prices: the model is listed, its cost unknown.
  }
  if (!pricing->IsObject()) {
    return std::nullopt;
  }
  const Price prompt = readPrice(*pricing, "prompt");
  const Price completion = readPrice(*pricing, "completion");
  const Price request = readPrice(*pricing, "request");
  const Price image = readPrice(*pricing, "image");
  const Price cache_read = readPrice(*pricing, "input_cache_read");
  const Price cache_write = readPrice(*pricing, "input_cache_write");
  for (const Price* p : {&prompt, &completion, &request, &image, &cache_read, &cache_write}) {
    if (p->state == PriceState::kMalformed) {
      return std::nullopt;
    }
  }
  m.pricing.prompt = prompt.value;
  m.pricing.completion = completion.value;
  m.pricing.request = request.value;
  m.pricing.image = image.value;
  m.pricing.cache_read = cache_read.value;
  m.pricing.cache_write = cache_write.value;
  m.pricing.known = prompt.state == PriceState::kValue && completion.state == PriceState::kValue;
  return m;
}

}  // namespace

Result<ParsedCatalog> parseModelCatalog(std::string_view body, std::string_view provider) {
  json::Document doc;
  std::string error;
  if (!json::parse(doc, body, &error)) {
    return makeError(ErrorKind::kInvalidArgument, "the model list is not JSON: " + error);
  }
  const json::Value* data = json::member(doc, "data");
  if (data == nullptr || !data->IsArray()) {
    return makeError(ErrorKind::kInvalidArgument, "the model list has no \"data\" array");
  }
  ParsedCatalog out;
  out.models.reserve(data->Size());
  for (const json::Value& e : data->GetArray()) {
    if (auto m = parseEntry(e, provider)) {
      out.models.push_back(std::move(*m));
    } else {
      ++out.skipped;
    }
  }
  return out;
}

}  // namespace llmq::upstream
