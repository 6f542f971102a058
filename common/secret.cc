// Secret fingerprints.
#include "common/secret.h"

namespace llmq {

std::string fingerprint(std::string_view secret) {
  if (secret.size() < 16) {
    return "…";
  }
  return std::string(secret.substr(0, 5)) + "…" + std::string(secret.substr(secret.size() - 4));
}

}  // namespace llmq
