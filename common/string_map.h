// A std::string-keyed hash map that can be looked up with a std::string_view
// without building a key: for indices consulted on hot paths (per event, per
// dispatch) with names the caller holds as views.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llmq {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

}  // namespace llmq
