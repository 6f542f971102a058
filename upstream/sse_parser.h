// SseParser: an incremental Server-Sent Events parser (WHATWG HTML §9.2.6,
// "Interpreting an event stream"), fed the raw bytes of a response body in
// whatever chunks the transport hands over. Only `data` matters to us; `event`,
// `id` and `retry` are parsed and ignored, comments (`: OPENROUTER PROCESSING`)
// are counted. Pure logic: no I/O, no libcurl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace llmq::upstream {

// How a stream ended, as seen by SseParser::finish().
enum class SseEnd {
  kClean,            // Nothing was pending: every event was terminated by a blank line.
  kIncompleteEvent,  // Data lines (or an unterminated non-comment line) arrived without
                     // the terminating blank line; per the spec nothing is dispatched.
  kOverflowed,       // The parser hit its buffer cap and stopped (see overflowed()).
};

// Not thread-safe; one instance per response body. Any split of the input into
// feed() calls, at any byte (inside "\r\n" or a UTF-8 sequence included), yields
// the same events.
class SseParser {
 public:
  static constexpr size_t kDefaultMaxBufferedBytes = size_t{8} << 20;  // 8 MiB.

  using EventCallback = std::function<void(std::string_view data)>;

  // `max_buffered_bytes` bounds what the parser holds at once: the data of the
  // event being assembled plus the raw bytes of the line being read (counted even
  // when the line arrived whole, so overflow does not depend on the split). A
  // stream that goes past it is cut off (overflowed()).
  // So a single `data: ` line carries at most `max_buffered_bytes - 6` data bytes.
  explicit SseParser(size_t max_buffered_bytes = kDefaultMaxBufferedBytes);

  // Parses `bytes` and calls `on_event` once per dispatched event with its data
  // (the `data:` lines joined with '\n'). The view is valid only during the call.
  // Events with no data lines are not dispatched (per the spec). Returns false
  // once the parser has overflowed; from then on input is ignored.
  // `on_event` may be empty (events are then only counted).
  bool feed(std::string_view bytes, const EventCallback& on_event);

  // The body ended. Drops anything pending (an incomplete event is never
  // dispatched), releases the buffers and says whether something was pending.
  // Call it once; the parser is spent afterwards (use one per response body).
  SseEnd finish();

  bool overflowed() const { return overflowed_; }
  uint64_t comments() const { return comments_; }  // Comment lines seen (":...").
  uint64_t events() const { return events_; }      // Events dispatched.
  size_t maxBufferedBytes() const { return max_buffered_; }

 private:
  // Handles one complete line (without its terminator).
  void processLine(std::string_view line, const EventCallback& on_event);
  bool bufferedWouldExceed(size_t extra) const;
  void overflow();

  const size_t max_buffered_;
  std::string line_;        // The unterminated line carried over from the previous feed().
  std::string data_;        // The data buffer of the event being assembled ('\n' after each line).
  bool skip_lf_ = false;    // The previous feed() ended in '\r': a leading '\n' belongs to it.
  size_t bom_matched_ = 0;  // Bytes of a leading UTF-8 BOM seen so far.
  bool at_stream_start_ = true;
  bool overflowed_ = false;
  uint64_t comments_ = 0;
  uint64_t events_ = 0;
};

}  // namespace llmq::upstream
