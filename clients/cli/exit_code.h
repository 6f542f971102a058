// The exit codes of `llmq`, the one contract scripts rely on. `llmq --help` lists
// them; keep that text (help.cc) in step with this enum.
#pragma once

namespace llmq::cli {

enum class ExitCode : int {
  kOk = 0,
  kFailed = 1,       // The job failed, was cancelled or expired, or llmqd refused the request.
  kUsage = 2,        // Bad command line: unknown flag, missing or malformed value.
  kUnreachable = 3,  // llmqd could not be reached, or the connection to it was lost.
};

inline int toInt(ExitCode code) { return static_cast<int>(code); }

}  // namespace llmq::cli
