// Human-readable rendering for llmq: cost and time formats, the aligned job table,
// the `get` and `status` blocks, one-line event summaries, and compact JSON for
// --json. Nothing here talks to the daemon; it formats what the daemon sent.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace llmq::cli {

// "$0.000040": six decimals, enough for a single cheap request to be non-zero.
std::string formatCost(double usd);
// "11-24 03:04:56" from an RFC 3339 timestamp, in UTC; the input if it does not parse.
std::string shortTime(std::string_view rfc3339);
// "03:04:56.157" in UTC, for event lines.
std::string clockTime(std::string_view rfc3339);
// "1.5s": a delay given in milliseconds.
std::string formatMillis(int64_t ms);
// "2d 3h 4m 5s", leading zero units dropped.
std::string formatDuration(int64_t seconds);
// `s` with control characters shown as \n, \t or \xNN, so text from other clients
// (names, tags, error messages) cannot move the cursor or recolour the terminal.
std::string printable(std::string_view s);
// Model text as the non-JSON output shows it: whole (past any NUL), with line
// breaks and tabs kept, and every other character a terminal would act on
// escaped as \xNN: C0 controls (ESC, BEL, CR, NUL, ...), DEL, the C1 controls
// U+0080-U+009F (shown as \u0080), and bytes that are not UTF-8. A model's answer
// cannot move the cursor, retitle the window or hide text. --json stays exact.
std::string terminalText(std::string_view s);
// Writes terminalText(s) to stdout.
void writeTerminalText(std::string_view s);
// printable(s) cut to `max_chars` characters with a trailing "…".
std::string preview(std::string_view s, size_t max_chars);

// Columns padded to their widest cell; cells are printable() already.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right_aligned);
  void addRow(std::vector<std::string> row);
  void print(FILE* out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_aligned_;
};

// One compact line of JSON on stdout.
void printJson(const json::Value& v);

// The job table of `llmq list`.
void printJobTable(const std::vector<const json::Value*>& jobs);
// The `llmq get` block: fields one per line, then the answer when the job succeeded.
void printJob(const json::Value& job);
// The `llmq status` block.
void printStatus(const json::Value& status);
// "paused: no" / "paused: whole queue" / "paused: clients alice, bob".
std::string describeQueueState(const json::Value& queue_state);
// One line for an event notification's params: time, job id, event, summary.
std::string eventLine(const json::Value& params);

// The assistant text of a job's chat.completion result (choices[0].message.content).
std::string_view resultContent(const json::Value& job);
// "UPSTREAM_5XX: upstream said 500 (HTTP 500)" from a job or error-event object.
std::string describeError(const json::Value& error);

}  // namespace llmq::cli
