// The built-in model list: a dozen popular OpenRouter models with their published
// prices, so a daemon that has never reached OpenRouter (a fresh, offline start)
// can still price jobs and reserve budgets. A fetched catalog replaces these
// entries model by model; they are a snapshot and will drift.
#pragma once

#include <vector>

#include "common/pricing.h"

namespace llmq::upstream {

// Every entry has provider "openrouter" and known pricing (USD per token).
const std::vector<ModelInfo>& builtinModels();

}  // namespace llmq::upstream
