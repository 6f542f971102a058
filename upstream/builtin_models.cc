// builtinModels: OpenRouter's published list prices (2025), written per million
// tokens as the price pages show them and converted once.
#include "upstream/builtin_models.h"

namespace llmq::upstream {
namespace {

struct Row {
  const char* id;
  const char* name;
  int64_t context_length;
  int64_t max_completion_tokens;  // 0: not published.
  double prompt_per_mtok;
  double completion_per_mtok;
  double cache_read_per_mtok;   // 0: no discount for cached prompt tokens.
  double cache_write_per_mtok;  // 0: writing the cache costs the prompt price.
};

constexpr Row kRows[] = {
    {"openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128000, 16384, 0.15, 0.60, 0.075, 0},
    {"openai/gpt-4o", "OpenAI: GPT-4o", 128000, 16384, 2.50, 10.00, 1.25, 0},
    {"openai/gpt-4.1", "OpenAI: GPT-4.1", 1047576, 32768, 2.00, 8.00, 0.50, 0},
    {"openai/gpt-4.1-mini", "OpenAI: GPT-4.1 Mini", 1047576, 32768, 0.40, 1.60, 0.10, 0},
    {"anthropic/claude-3.5-sonnet", "Anthropic: Claude 3.5 Sonnet", 200000, 8192, 3.00, 15.00, 0.30, 3.75},
    {"anthropic/claude-3.5-haiku", "Anthropic: Claude 3.5 Haiku", 200000, 8192, 0.80, 4.00, 0.08, 1.00},
    {"anthropic/claude-3.7-sonnet", "Anthropic: Claude 3.7 Sonnet", 200000, 64000, 3.00, 15.00, 0.30, 3.75},
    {"google/gemini-flash-1.5", "Google: Gemini 1.5 Flash", 1000000, 8192, 0.075, 0.30, 0, 0},
    {"google/gemini-2.0-flash-001", "Google: Gemini 2.0 Flash", 1048576, 8192, 0.10, 0.40, 0.025, 0},
    {"meta-llama/llama-3.1-8b-instruct", "Meta: Llama 3.1 8B Instruct", 131072, 0, 0.02, 0.03, 0, 0},
    {"meta-llama/llama-3.1-70b-instruct", "Meta: Llama 3.1 70B Instruct", 131072, 0, 0.10, 0.28, 0, 0},
    {"meta-llama/llama-3.1-8b-instruct:free", "Meta: Llama 3.1 8B Instruct (free)", 131072, 4096, 0, 0, 0, 0},
};

std::vector<ModelInfo> build() {
  constexpr double kPerMtok = 1e-6;
  std::vector<ModelInfo> out;
  for (const Row& r : kRows) {
    ModelInfo m;
    m.id = r.id;
    m.name = r.name;
    m.provider = "openrouter";
    m.context_length = r.context_length;
    m.max_completion_tokens = r.max_completion_tokens;
    m.pricing.prompt = r.prompt_per_mtok * kPerMtok;
    m.pricing.completion = r.completion_per_mtok * kPerMtok;
    m.pricing.cache_read = r.cache_read_per_mtok * kPerMtok;
    m.pricing.cache_write = r.cache_write_per_mtok * kPerMtok;
    m.pricing.known = true;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

const std::vector<ModelInfo>& builtinModels() {
  static const std::vector<ModelInfo> models = build();
  return models;
}

}  // namespace llmq::upstream
