// Small text helpers: trimming and comparing untrusted input, printing numbers.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
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

// Whether `a` and `b` are equal but for ASCII case (HTTP header values such
// as Cache-Control's directives are case-insensitive).
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// A number as JSON and Prometheus want it, with up to 10 significant digits and
// no trailing zeros: 0.000123, 2.5, 1e-12. Money is printed this way everywhere.
// JSON has no infinity or NaN: a non-finite value (which clamped inputs never
// produce, but an old database may hold) is written as null, never as "inf".
// appendDecimal() writes it at the end of `out`, decimal() returns it.
inline void appendDecimal(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.10g", v);
  out.append(buf, static_cast<size_t>(n));
}
inline std::string decimal(double v) {
  std::string out;
  appendDecimal(out, v);
  return out;
}

}  // namespace llmq
