// How a secret may appear anywhere outside the request that needs it: as a
// fingerprint ("sk-or-…f2bf"), never in full (docs/operations.md, Keys: no secret in logs).
#pragma once

#include <string>
#include <string_view>

namespace llmq {

// The first 5 and last 4 characters around an ellipsis; "…" alone for short keys.
std::string fingerprint(std::string_view secret);

}  // namespace llmq
