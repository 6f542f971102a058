// Model prices and the cost arithmetic (docs/money.md, "Budgets"): the domain
// types the catalog (upstream/ reads it, store/ keeps it, daemon/ prices with it)
// shares. Prices are USD per token (per request for `request`), as OpenRouter's
// /models gives them (as strings there). Pure: no I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace llmq {

struct Pricing {
  double prompt = 0;       // per prompt token
  double completion = 0;   // per completion token (reasoning tokens included)
  double request = 0;      // per request
  double image = 0;        // per input image
  double cache_read = 0;   // per cached prompt token read (0: priced as prompt)
  double cache_write = 0;  // per prompt token written to the cache (0: priced as prompt)
  bool known = false;      // False: no price is known for the model.
};

// What the catalog knows about one model.
struct ModelInfo {
  std::string id;
  std::string name;
  std::string provider;               // "openrouter", "mock", a [[providers]] name, "config".
  int64_t context_length = 0;         // 0: unknown.
  int64_t max_completion_tokens = 0;  // 0: unknown.
  Pricing pricing;
};

// Token counts as the usage object reports them: cached and cache-write tokens
// are part of prompt_tokens, reasoning tokens part of completion_tokens.
struct TokenCounts {
  int64_t prompt = 0;
  int64_t completion = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;
};

// The cost of one request at `p`.
inline double costUsd(const Pricing& p, const TokenCounts& t) {
  const int64_t cached = std::clamp<int64_t>(t.cache_read, 0, t.prompt);
  const int64_t written = std::clamp<int64_t>(t.cache_write, 0, t.prompt - cached);
  const int64_t plain = t.prompt - cached - written;
  return static_cast<double>(plain) * p.prompt +
         static_cast<double>(cached) * (p.cache_read > 0 ? p.cache_read : p.prompt) +
         static_cast<double>(written) * (p.cache_write > 0 ? p.cache_write : p.prompt) +
         static_cast<double>(t.completion) * p.completion + p.request;
}

// The most a request can cost: every prompt token at the dearer of the prompt and
// cache-write prices, and `max_completion` completion tokens.
inline double worstCaseUsd(const Pricing& p, int64_t prompt_tokens, int64_t max_completion) {
  return static_cast<double>(prompt_tokens) * std::max(p.prompt, p.cache_write) +
         static_cast<double>(max_completion) * p.completion + p.request;
}

}  // namespace llmq
