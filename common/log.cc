// Logging implementation: format into a stack buffer, escape, rate-limit per call
// site, and write one line with one write(2) so lines from concurrent processes
// sharing stderr do not interleave.
#include "common/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace llmq::log {
namespace {

Level g_level = Level::kInfo;
int g_journal = -1;  // -1: decide from the environment on first use.
int g_fd = STDERR_FILENO;
int64_t (*g_now_ms)() = nullptr;
std::mutex g_mutex;  // Guards every Site.

bool useJournalPrefix() {
  if (g_journal < 0) {
    g_journal = std::getenv("JOURNAL_STREAM") != nullptr ? 1 : 0;
  }
  return g_journal == 1;
}

const char* levelWord(Level level) {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarning:
      return "warning";
    case Level::kNotice:
      return "notice";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "?";
}

int64_t monotonicMs() {
  if (g_now_ms != nullptr) {
    return g_now_ms();
  }
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Takes a token from `site`; false (and one more suppressed line) when it has none.
// `*suppressed` gets the count of lines dropped before this one.
bool admit(Site* site, uint64_t* suppressed) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const int64_t now = monotonicMs();
  if (site->refilled_ms >= 0 && now > site->refilled_ms) {
    const double earned = static_cast<double>(now - site->refilled_ms) * kLinesPerSecond / 1000.0;
    site->tokens = std::min<double>(kBurstLines, site->tokens + earned);
  }
  if (site->refilled_ms < 0 || now > site->refilled_ms) {
    site->refilled_ms = now;  // Never backwards, whatever the hook says.
  }
  if (site->tokens < 1.0) {
    ++site->suppressed;
    return false;
  }
  site->tokens -= 1.0;
  *suppressed = site->suppressed;
  site->suppressed = 0;
  return true;
}

void appendHex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

bool isContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence at s[i] (a lead byte >= 0x80), or 0.
size_t utf8Length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // The allowed range of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;  // No overlong forms.
    hi = c == 0xED ? 0x9F : 0xBF;  // No surrogates.
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;  // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < n; ++k) {
    if (!isContinuation(at(i + k))) {
      return 0;
    }
  }
  return n;
}

}  // namespace

void setLevel(Level level) { g_level = level; }
Level level() { return g_level; }
void setJournalPrefix(bool on) { g_journal = on ? 1 : 0; }
void setOutputFdForTest(int fd) { g_fd = fd >= 0 ? fd : STDERR_FILENO; }
void setClockForTest(int64_t (*now_ms)()) { g_now_ms = now_ms; }

bool parseLevel(std::string_view text, Level* out) {
  static constexpr struct {
    const char* name;
    Level level;
  } kNames[] = {{"error", Level::kError},   {"warning", Level::kWarning}, {"warn", Level::kWarning},
                {"notice", Level::kNotice}, {"info", Level::kInfo},       {"debug", Level::kDebug}};
  for (const auto& n : kNames) {
    if (text == n.name) {
      *out = n.level;
      return true;
    }
  }
  return false;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c < 0x20 || c == 0x7f) {
        appendHex(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const size_t n = utf8Length(text, i);
    // C1 controls (U+0080..U+009F, "\xC2\x80".."\xC2\x9F") act on terminals too.
    const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (n == 0 || c1) {
      const size_t bad = n == 0 ? 1 : n;
      for (size_t k = 0; k < bad; ++k) {
        appendHex(out, static_cast<unsigned char>(text[i + k]));
      }
      i += bad;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void write(Site* site, Level level, const char* fmt, ...) {
  uint64_t suppressed = 0;
  if (site != nullptr && level != Level::kDebug && !admit(site, &suppressed)) {
    return;
  }
  char raw[kMaxMessageBytes + 1];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  const size_t full = n < 0 ? 0 : static_cast<size_t>(n);
  const size_t kept = std::min(full, kMaxMessageBytes);

  std::string line;
  line.reserve(kept + 64);
  if (useJournalPrefix()) {
    line += '<';
    line += std::to_string(static_cast<int>(level));
    line += '>';
  } else {
    line += "llmqd: ";
    line += levelWord(level);
    line += ": ";
  }
  line += escape(std::string_view(raw, kept));
  if (full > kept) {
    line += " ...[" + std::to_string(full - kept) + " bytes cut]";
  }
  if (suppressed > 0) {
    line += " [" + std::to_string(suppressed) + " earlier lines from here suppressed: more than " +
            std::to_string(kLinesPerSecond) + " a second]";
  }
  line += '\n';
  ssize_t ignored = ::write(g_fd, line.data(), line.size());
  (void)ignored;
}

}  // namespace llmq::log
