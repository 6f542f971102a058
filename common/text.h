// Small text helpers shared by parsers of untrusted input.
#pragma once

#include <string_view>

namespace llmq {

// `s` without leading and trailing spaces, tabs, CRs and LFs.
inline std::string_view trimWhitespace(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && ws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace llmq
