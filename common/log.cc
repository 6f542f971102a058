// Logging implementation: format into a stack buffer, write one line with one write(2)
// so lines from concurrent processes sharing stderr do not interleave.
#include "common/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llmq::log {
namespace {

Level g_level = Level::kInfo;
int g_journal = -1;  // -1: decide from the environment on first use.

bool useJournalPrefix() {
  if (g_journal < 0) {
    g_journal = std::getenv("JOURNAL_STREAM") != nullptr ? 1 : 0;
  }
  return g_journal == 1;
}

const char* levelWord(Level level) {
  switch (level) {
    case Level::kError: return "error";
    case Level::kWarning: return "warning";
    case Level::kNotice: return "notice";
    case Level::kInfo: return "info";
    case Level::kDebug: return "debug";
  }
  return "?";
}

}  // namespace

void setLevel(Level level) { g_level = level; }
Level level() { return g_level; }
void setJournalPrefix(bool on) { g_journal = on ? 1 : 0; }

bool parseLevel(std::string_view text, Level* out) {
  static constexpr struct { const char* name; Level level; } kNames[] = {
      {"error", Level::kError}, {"warning", Level::kWarning}, {"warn", Level::kWarning},
      {"notice", Level::kNotice}, {"info", Level::kInfo}, {"debug", Level::kDebug}};
  for (const auto& n : kNames) {
    if (text == n.name) {
      *out = n.level;
      return true;
    }
  }
  return false;
}

void write(Level level, const char* fmt, ...) {
  char buf[2048];
  int off = useJournalPrefix()
                ? std::snprintf(buf, sizeof buf, "<%d>", static_cast<int>(level))
                : std::snprintf(buf, sizeof buf, "llmqd: %s: ", levelWord(level));
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf + off, sizeof buf - static_cast<size_t>(off) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(off) +
               (n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof buf - static_cast<size_t>(off) - 2));
  buf[len++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, buf, len);
  (void)ignored;
}

}  // namespace llmq::log
