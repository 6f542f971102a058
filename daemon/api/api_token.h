// daemon::apiToken: the bearer token of the HTTP front. `[api] token` when the
// configuration sets one; otherwise the token file (`[api] token_file`, by default
// api.token beside the database), which llmqd creates with 32 random bytes in hex,
// mode 0600, on first start. The token is never logged; the file's path is.
#pragma once

#include <string>

#include "common/result.h"
#include "daemon/config.h"

namespace llmq::daemon {

struct ApiToken {
  std::string value;
  std::string file;  // Where it came from; empty when the configuration set it.
};

Result<ApiToken> loadApiToken(const ApiConfig& api, const std::string& db_path);

// True when `header` (an Authorization header's value) is "Bearer <token>",
// compared in constant time.
bool bearerMatches(const std::string* header, const std::string& token);

}  // namespace llmq::daemon
