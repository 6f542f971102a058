// Logging to stderr, one line per event, with the "<N>" priority prefixes that
// journald understands (sd-daemon(3)) when stderr is the journal, and a plain
// level word on a terminal. Loop-thread only: no locking.
#pragma once

#include <string_view>

namespace llmq::log {

// Syslog priorities, so the numbers are the ones journald expects.
enum class Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

void setLevel(Level level);
Level level();
bool parseLevel(std::string_view text, Level* out);
// Forces (or stops) the "<N>" prefix; by default it is used when JOURNAL_STREAM is set.
void setJournalPrefix(bool on);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace llmq::log

#define LLMQ_LOG(lvl, ...)                                   \
  do {                                                       \
    if (static_cast<int>(lvl) <= static_cast<int>(::llmq::log::level())) { \
      ::llmq::log::write(lvl, __VA_ARGS__);                  \
    }                                                        \
  } while (0)
#define LOG_ERROR(...) LLMQ_LOG(::llmq::log::Level::kError, __VA_ARGS__)
#define LOG_WARN(...) LLMQ_LOG(::llmq::log::Level::kWarning, __VA_ARGS__)
#define LOG_NOTICE(...) LLMQ_LOG(::llmq::log::Level::kNotice, __VA_ARGS__)
#define LOG_INFO(...) LLMQ_LOG(::llmq::log::Level::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) LLMQ_LOG(::llmq::log::Level::kDebug, __VA_ARGS__)
