// Logging to stderr, one line per event, with the "<N>" priority prefixes that
// journald understands (sd-daemon(3)) when stderr is the journal, and a plain
// level word on a terminal. Every message is made safe here, so no caller can
// forget: control characters, DEL, C1 controls and invalid UTF-8 are escaped (a
// "\n<0>" from an upstream cannot start a forged line), the message is cut at
// kMaxMessageBytes, and each call site is rate-limited (a token bucket) so input
// that makes llmqd log cannot fill the journal. Thread-safe (a mutex guards the
// buckets); the daemon logs from its loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmq::log {

// Syslog priorities, so the numbers are the ones journald expects.
enum class Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// A message longer than this (before escaping) is cut, with " ...[N bytes cut]".
inline constexpr size_t kMaxMessageBytes = 2048;
// Per call site: up to kBurstLines at once, then kLinesPerSecond; what is over is
// counted and reported on the site's next line. kDebug lines are not limited.
inline constexpr int kBurstLines = 50;
inline constexpr int kLinesPerSecond = 5;

// One call site's token bucket (a static inside LLMQ_LOG).
struct Site {
  double tokens = kBurstLines;
  int64_t refilled_ms = -1;  // -1: never used.
  uint64_t suppressed = 0;   // Lines dropped since the site last wrote one.
};

void setLevel(Level level);
Level level();
bool parseLevel(std::string_view text, Level* out);
// Forces (or stops) the "<N>" prefix; by default it is used when JOURNAL_STREAM is set.
void setJournalPrefix(bool on);

// `text` with every byte < 0x20, 0x7f, every C1 control (U+0080..U+009F) and every
// byte of invalid UTF-8 written as "\xNN" ("\n", "\r", "\t" for those three), and a
// backslash as "\\", so the result is one printable line that reads back unambiguously.
std::string escape(std::string_view text);

// Writes one line for `site` (nullptr: not rate-limited). Use the LOG_* macros.
void write(Site* site, Level level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

// Test hooks: where lines go (default stderr), and the clock of the rate limit
// (default CLOCK_MONOTONIC, milliseconds); nullptr restores it.
void setOutputFdForTest(int fd);
void setClockForTest(int64_t (*now_ms)());

}  // namespace llmq::log

#define LLMQ_LOG(lvl, ...)                                                 \
  do {                                                                     \
    if (static_cast<int>(lvl) <= static_cast<int>(::llmq::log::level())) { \
      static ::llmq::log::Site llmq_log_site_;                             \
      ::llmq::log::write(&llmq_log_site_, lvl, __VA_ARGS__);               \
    }                                                                      \
  } while (0)
#define LOG_ERROR(...) LLMQ_LOG(::llmq::log::Level::kError, __VA_ARGS__)
#define LOG_WARN(...) LLMQ_LOG(::llmq::log::Level::kWarning, __VA_ARGS__)
#define LOG_NOTICE(...) LLMQ_LOG(::llmq::log::Level::kNotice, __VA_ARGS__)
#define LOG_INFO(...) LLMQ_LOG(::llmq::log::Level::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) LLMQ_LOG(::llmq::log::Level::kDebug, __VA_ARGS__)
