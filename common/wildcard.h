// Shell-style wildcard matching for model patterns in the config: `*` matches any
// run of characters (including none), `?` exactly one; everything else literally.
#pragma once

#include <string_view>

namespace llmq {

bool wildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace llmq
