// Time formatting without locale or time zone state: civil-from-days arithmetic
// (Howard Hinnant's algorithm), so it is fast and thread-safe.
#include "common/time.h"

#include <chrono>
#include <cstdio>

namespace llmq {
namespace {

void civilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

int64_t daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int daysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

int64_t wallMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t steadyMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void appendRfc3339(std::string& out, int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int y;
  unsigned mo, d;
  civilFromDays(days, &y, &mo, &d);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, mo, d,
                        static_cast<int>(rem / 3600), static_cast<int>(rem % 3600 / 60), static_cast<int>(rem % 60),
                        millis);
  out.append(buf, static_cast<size_t>(n));
}

std::string rfc3339(int64_t ms) {
  std::string s;
  appendRfc3339(s, ms);
  return s;
}

bool parseRfc3339(const std::string& text, int64_t* ms) {
  // The shape first: sscanf alone would take signs and blanks ("+026", " 7").
  static constexpr char kShape[] = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < 19) {
    return false;
  }
  for (size_t k = 0; k < 19; ++k) {
    const char c = text[k];
    if (kShape[k] == 'd' ? (c < '0' || c > '9') : kShape[k] == 'T' ? (c != 'T' && c != 't') : c != kShape[k]) {
      return false;
    }
  }
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 ||
      consumed != 19) {
    return false;
  }
  // A real calendar date and time of day: no February 30th, no month 13, no hour
  // 25 (a leap second, :60, is allowed, as RFC 3339 does).
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
      s > 60) {
    return false;
  }
  size_t i = 19;
  int frac_ms = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 3) {
        frac_ms = frac_ms * 10 + (text[i] - '0');
      }
      ++digits;
      ++i;
    }
    if (digits == 0) {
      return false;
    }
    for (; digits < 3; ++digits) {
      frac_ms *= 10;
    }
  }
  int offset_min = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i + 6 == text.size() && (text[i] == '+' || text[i] == '-') && text[i + 3] == ':') {
    int oh, om;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2 || oh < 0 || oh > 23 || om < 0 || om > 59) {
      return false;
    }
    offset_min = (text[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return false;
  }
  if (i != text.size()) {
    return false;
  }
  int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = ((days * 24 + h) * 60 + mi - offset_min) * 60 + s;
  *ms = secs * 1000 + frac_ms;
  return true;
}

}  // namespace llmq
