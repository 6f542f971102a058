// ipc::LineFramer splits a byte stream into '\n'-terminated frames with a hard
// size limit (ipc/PROTOCOL.md). Frames that arrive whole inside one read are handed out
// as views into the read buffer without a copy; only a partial tail is buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace llmq::ipc {

class LineFramer {
 public:
  explicit LineFramer(size_t max_frame_bytes) : max_(max_frame_bytes) {}

  enum class Status { kOk, kOversize };

  // Feeds `data`; calls `on_frame(std::string_view)` for each complete frame,
  // without its '\n' (and without a trailing '\r'). `on_frame` returns false to
  // stop (e.g. the connection closed). Returns kOversize as soon as a frame is
  // known to exceed the limit; the framer is then unusable.
  template <class F>
  Status feed(std::string_view data, F&& on_frame);

  size_t buffered() const { return partial_.size(); }
  // Frames completed by feed() so far: a change tells a new line has begun.
  uint64_t frames() const { return frames_; }

 private:
  static std::string_view trimCr(std::string_view s) {
    return (!s.empty() && s.back() == '\r') ? s.substr(0, s.size() - 1) : s;
  }

  // One long line must not leave its capacity behind on an idle connection.
  void releasePartial() {
    ++frames_;
    if (partial_.capacity() > size_t{16} * 1024) {
      std::string().swap(partial_);
    } else {
      partial_.clear();
    }
  }

  size_t max_;
  std::string partial_;
  uint64_t frames_ = 0;
  bool failed_ = false;
};

template <class F>
LineFramer::Status LineFramer::feed(std::string_view data, F&& on_frame) {
  if (failed_) {
    return Status::kOversize;
  }
  size_t pos = 0;
  while (pos < data.size()) {
    const void* nl = std::memchr(data.data() + pos, '\n', data.size() - pos);
    if (nl == nullptr) {
      if (partial_.size() + (data.size() - pos) > max_) {
        failed_ = true;
        return Status::kOversize;
      }
      partial_.append(data.data() + pos, data.size() - pos);
      return Status::kOk;
    }
    size_t end = static_cast<size_t>(static_cast<const char*>(nl) - data.data());
    std::string_view frame;
    if (partial_.empty()) {
      frame = data.substr(pos, end - pos);
    } else {
      partial_.append(data.data() + pos, end - pos);
      frame = partial_;
    }
    pos = end + 1;
    if (frame.size() > max_) {
      failed_ = true;
      return Status::kOversize;
    }
    bool go_on = on_frame(trimCr(frame));
    releasePartial();
    if (!go_on) {
      return Status::kOk;
    }
  }
  return Status::kOk;
}

}  // namespace llmq::ipc
