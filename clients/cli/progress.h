// cli::Progress: the progress display of `llmq batch submit`. On a terminal, one
// line redrawn in place (at most ten times a second): a bar, done/total, failures,
// the rate, the ETA and the spend. Anywhere else, a plain line every 10 s, so logs
// of long batches show they are alive without filling up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>

namespace llmq::cli {

struct BatchCounts {
  size_t total = 0;      // Jobs the batch waits for.
  size_t submitted = 0;  // Of the lines, answered by llmqd so far.
  size_t done = 0;       // Jobs in a terminal state.
  size_t failed = 0;     // Of those, failed, cancelled or expired.
  double spent_usd = 0;
};

class Progress {
 public:
  // `tty`: draw in place on `out`; otherwise plain lines. `label` names the batch.
  Progress(FILE* out, bool tty, std::string label);

  // Shows `counts` if enough time has passed since the last drawing (or, on a
  // terminal, `force`).
  // `submitting` shows the submission instead of the completion.
  void show(const BatchCounts& counts, bool submitting, bool force = false);
  // Ends the in-place line, so what follows starts on a fresh one.
  void finish();

  // The text of one display, without control characters (for tests and plain lines).
  std::string describe(const BatchCounts& counts, bool submitting);

 private:
  // Jobs finished per second over the last few seconds; 0 until measurable.
  double rate(int64_t now_ms, size_t done);

  FILE* out_;
  bool tty_;
  std::string label_;
  int64_t last_draw_ms_ = -1;
  bool drawn_ = false;                              // An in-place line is on screen.
  std::deque<std::pair<int64_t, size_t>> samples_;  // (time, done), oldest first.
};

}  // namespace llmq::cli
