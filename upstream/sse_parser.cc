// SseParser: line splitting across chunk boundaries, the field rules of the
// WHATWG event-stream grammar, and the buffer cap. Complete lines that lie
// inside one feed() are processed in place; only a line cut by the chunk
// boundary is copied into line_.
#include "upstream/sse_parser.h"

namespace llmq::upstream {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";
constexpr size_t kBomSize = 3;

// Buffers bigger than this are released after use instead of kept for the next event,
// so one large event does not pin its memory for the rest of the stream.
constexpr size_t kKeepCapacity = size_t{64} * 1024;

void shrinkIfLarge(std::string& s) {
  if (s.capacity() > kKeepCapacity) {
    std::string().swap(s);
  }
}

}  // namespace

SseParser::SseParser(size_t max_buffered_bytes) : max_buffered_(max_buffered_bytes) {}

bool SseParser::bufferedWouldExceed(size_t extra) const {
  return line_.size() + data_.size() + extra > max_buffered_;
}

void SseParser::overflow() {
  overflowed_ = true;
  std::string().swap(line_);
  std::string().swap(data_);
}

bool SseParser::feed(std::string_view bytes, const EventCallback& on_event) {
  if (overflowed_) {
    return false;
  }
  // The UTF-8 decode step strips one leading BOM; it may itself be split.
  while (at_stream_start_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBomSize) {
        at_stream_start_ = false;
      }
      continue;
    }
    // Not a BOM after all: the bytes matched so far are ordinary line content.
    // None of them is '\r' or '\n', so they simply start the first line.
    line_.assign(kBom, bom_matched_);
    at_stream_start_ = false;
  }
  if (bytes.empty()) {
    return true;
  }
  size_t pos = 0;
  if (skip_lf_) {
    skip_lf_ = false;
    if (bytes.front() == '\n') {
      pos = 1;
    }
  }
  const size_t n = bytes.size();
  while (pos < n) {
    const size_t end = bytes.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      const size_t rest = n - pos;
      if (bufferedWouldExceed(rest)) {
        overflow();
        return false;
      }
      line_.append(bytes.data() + pos, rest);
      break;
    }
    std::string_view line = bytes.substr(pos, end - pos);
    // The cap counts the raw line, whether or not it had to be buffered, so the
    // outcome does not depend on where the input was split.
    if (bufferedWouldExceed(line.size())) {
      overflow();
      return false;
    }
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    processLine(line, on_event);
    line_.clear();
    pos = end + 1;
    if (bytes[end] == '\r') {
      if (pos == n) {
        skip_lf_ = true;  // A '\n' at the start of the next chunk completes this "\r\n".
      } else if (bytes[pos] == '\n') {
        ++pos;
      }
    }
  }
  // Only a spent buffer may be released: an unfinished line carried to the next
  // feed() must stay whole (dropping it lost events of more than 64 KiB that
  // arrived in several reads, and the stream still succeeded without their text).
  if (line_.empty()) {
    shrinkIfLarge(line_);
  }
  return true;
}

void SseParser::processLine(std::string_view line, const EventCallback& on_event) {
  if (line.empty()) {
    // Dispatch. An empty data buffer means no data line: nothing to deliver.
    if (data_.empty()) {
      return;
    }
    ++events_;
    if (on_event) {
      on_event(std::string_view(data_).substr(0, data_.size() - 1));  // Drop the final '\n'.
    }
    data_.clear();
    shrinkIfLarge(data_);
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  // `event`, `id`, `retry` and unknown fields are ignored: chat-completion streams
  // carry everything in `data`, and we never reconnect with Last-Event-ID.
  if (field != "data") {
    return;
  }
  // No cap check here: feed() checked data_ plus the whole raw line, which is longer
  // than what is appended ("data:" is at least as long as the added '\n').
  data_.append(value);
  data_.push_back('\n');
}

SseEnd SseParser::finish() {
  SseEnd end = SseEnd::kClean;
  if (overflowed_) {
    end = SseEnd::kOverflowed;
  } else if (!data_.empty() || (!line_.empty() && line_.front() != ':') || (at_stream_start_ && bom_matched_ > 0)) {
    end = SseEnd::kIncompleteEvent;
  }
  std::string().swap(line_);
  std::string().swap(data_);
  skip_lf_ = false;
  return end;
}

}  // namespace llmq::upstream
