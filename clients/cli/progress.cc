// Progress display. The rate is measured over a sliding window of the last 10 s
// rather than since the start, so the ETA follows a batch whose speed changes
// (a rate limit kicks in, a budget holds jobs) instead of averaging it away.
#include "clients/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "clients/cli/output.h"

namespace llmq::cli {
namespace {

constexpr int64_t kTtyIntervalMs = 100;
constexpr int64_t kPlainIntervalMs = 10000;
constexpr int64_t kRateWindowMs = 10000;

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int terminalColumns(FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  return 80;
}

std::string bar(size_t done, size_t total, int width) {
  const int filled = total == 0 ? width
                                : static_cast<int>(static_cast<double>(done) / static_cast<double>(total) * width);
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '-') + "]";
}

}  // namespace

Progress::Progress(FILE* out, bool tty, std::string label) : out_(out), tty_(tty), label_(std::move(label)) {}

double Progress::rate(int64_t now_ms, size_t done) {
  if (samples_.empty() || samples_.back().second != done || now_ms - samples_.back().first >= 1000) {
    samples_.emplace_back(now_ms, done);
  }
  while (samples_.size() > 2 && now_ms - samples_.front().first > kRateWindowMs) {
    samples_.pop_front();
  }
  const auto& [t0, d0] = samples_.front();
  if (now_ms - t0 < 500 || done <= d0) {
    return 0;
  }
  return static_cast<double>(done - d0) * 1000.0 / static_cast<double>(now_ms - t0);
}

std::string Progress::describe(const BatchCounts& c, bool submitting) {
  if (submitting) {
    return "submitting " + std::to_string(c.submitted) + "/" + std::to_string(c.total);
  }
  std::string s = std::to_string(c.done) + "/" + std::to_string(c.total) + " done";
  if (c.failed > 0) {
    s += " (" + std::to_string(c.failed) + " failed)";
  }
  const double r = rate(nowMs(), c.done);
  if (r > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f/s", r);
    s += "  ";
    s += buf;
    if (c.done < c.total) {
      const double eta = static_cast<double>(c.total - c.done) / r;
      s += "  ETA " + formatDuration(static_cast<int64_t>(std::ceil(eta)));
    }
  }
  s += "  " + formatCost(c.spent_usd);
  return s;
}

void Progress::show(const BatchCounts& counts, bool submitting, bool force) {
  const int64_t now = nowMs();
  const int64_t interval = tty_ ? kTtyIntervalMs : kPlainIntervalMs;
  force = force && tty_;  // Plain lines keep their pace; the summary follows anyway.
  if (!force && last_draw_ms_ >= 0 && now - last_draw_ms_ < interval) {
    if (!submitting) {
      rate(now, counts.done);  // Keep sampling between drawings.
    }
    return;
  }
  if (!tty_ && last_draw_ms_ < 0 && !force) {
    last_draw_ms_ = now;  // Plain lines: the first one after 10 s, not at once.
    return;
  }
  last_draw_ms_ = now;
  const std::string text = describe(counts, submitting);
  if (!tty_) {
    std::fprintf(out_, "llmq: batch %s: %s\n", label_.c_str(), text.c_str());
    std::fflush(out_);
    return;
  }
  const size_t done = submitting ? counts.submitted : counts.done;
  const int room = terminalColumns(out_) - static_cast<int>(label_.size() + text.size()) - 5;
  std::string line = label_ + " ";
  if (room >= 10) {
    line += bar(done, counts.total, std::min(room, 40)) + " ";
  }
  line += text;
  // \r and "erase to end of line": the line shrinks cleanly when the text does.
  std::fprintf(out_, "\r%s\033[K", line.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void Progress::finish() {
  if (tty_ && drawn_) {
    std::fputc('\n', out_);
    std::fflush(out_);
    drawn_ = false;
  }
}

}  // namespace llmq::cli
