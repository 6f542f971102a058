// Parsing of an OpenRouter-shaped `GET /models` body into ModelInfo entries:
// `{"data": [{"id", "name", "context_length", "pricing": {...}, "top_provider":
// {...}}, ...]}`, prices in USD per token as strings (numbers tolerated). Pure: no
// I/O, so it is unit-tested against a captured body (tests/data/openrouter_models.json).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/pricing.h"
#include "common/result.h"

namespace llmq::upstream {

struct ParsedCatalog {
  std::vector<ModelInfo> models;  // In the order the body lists them.
  size_t skipped = 0;             // Malformed entries left out.
};

// Parses `body`; each entry gets `provider` as its provider. A body that is not
// JSON or has no `data` array is an error; an entry without a usable id, or with
// a price that is not a number, is skipped (and counted), so one odd model never
// costs the whole catalog. A price of "-1" (OpenRouter's "varies", e.g. for
// openrouter/auto) or a missing one reads as 0; the pricing is `known` only when
// both the prompt and the completion price were given.
Result<ParsedCatalog> parseModelCatalog(std::string_view body, std::string_view provider);

}  // namespace llmq::upstream
