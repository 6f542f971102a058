// Deterministic embeddings for the mock provider (docs/mock.md): the same input
// always gives the same unit vector, so tests and dry runs repeat, and equal
// inputs of one request give equal vectors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"

namespace llmq::upstream {

// Dimensions of a mock vector when the request does not ask (`dimensions`).
inline constexpr int64_t kMockEmbeddingDimensions = 16;
// The most numbers one mock answer holds (inputs × dimensions): about 16 MB of JSON.
inline constexpr int64_t kMockEmbeddingMaxValues = int64_t{1} << 20;

struct MockEmbeddings {
  std::string result_json;  // An OpenAI embeddings list, with usage and cost.
  int64_t prompt_tokens = 0;
  double cost_usd = 0;
};

// The answer to an embedding request body (already checked by job.submit:
// ipc::embeddingRequestProblem). Tokens: one per 4 bytes of each string (rounded
// up), one per token id. `encoding_format: "base64"` gives each vector as the
// base64 of its little-endian float32s, as OpenAI does. Fails (a request the
// mock will not answer) past kMockEmbeddingMaxValues.
Result<MockEmbeddings> mockEmbeddings(const json::Value& request, std::string_view model, std::string_view id,
                                      double prompt_usd_per_mtok);

}  // namespace llmq::upstream
