// Wall-clock time for timestamps (milliseconds since the Unix epoch) and its RFC 3339
// rendering. Scheduling decisions use these too, so a Clock can be injected in tests.
#pragma once

#include <cstdint>
#include <string>

namespace llmq {

// Milliseconds since 1970-01-01T00:00:00Z.
int64_t wallMs();

// "2026-11-24T02:46:07.123Z". Appends to `out` to avoid a temporary on hot paths.
void appendRfc3339(std::string& out, int64_t ms);
std::string rfc3339(int64_t ms);
// Parses the subset of RFC 3339 that rfc3339() writes, with or without fraction,
// "Z" or a numeric offset. Returns false on anything else.
bool parseRfc3339(const std::string& text, int64_t* ms);

// The source of "now" for scheduling; tests replace it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override { return wallMs(); }
};

}  // namespace llmq
