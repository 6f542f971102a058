// Deterministic text and token counts for the mock provider (docs/mock.md). The same
// prompt and model always give the same words, so tests and dry runs repeat.
//
// Token counts are an approximation documented in docs/mock.md: a prompt costs
// 3 tokens plus, per message, 4 tokens and one per 4 bytes of content (rounded
// up); each generated word is one completion token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace llmq::upstream {

int64_t mockPromptTokens(const json::Value& messages);

// The text of the last user message ("" if none).
std::string lastUserText(const json::Value& messages);

// `count` words chosen from a fixed list by a generator seeded from `seed_text`.
std::vector<std::string> mockWords(std::string_view seed_text, int count);

}  // namespace llmq::upstream
