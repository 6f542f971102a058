// cli::Session: the CLI's one connection to llmqd. It connects on first use, makes
// calls and reads events, and prints the single stderr line for every failure, so
// commands only decide what a success looks like.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "clients/cli/exit_code.h"
#include "clients/cli/options.h"
#include "common/json.h"
#include "ipc/client.h"

namespace llmq::cli {

class Session {
 public:
  // Uses globals.socket_path, or ipc::defaultSocketPath() when it is empty.
  explicit Session(const GlobalOptions& globals);

  // Calls `method` and waits for its answer. On success fills `out` and returns kOk.
  // Otherwise prints the reason ("llmq: <message> (<SYMBOL>)" for a refusal,
  // "llmq: cannot connect ..." for transport) and returns kFailed or kUnreachable;
  // params that are not valid UTF-8 JSON are not sent and give kUsage.
  ExitCode call(std::string_view method, std::string_view params_json, ipc::Response* out);

  // Blocks for the next event notification and parses it into `event` (the whole
  // notification; its params are what commands read). kUnreachable if the daemon
  // goes away, after printing why.
  ExitCode nextEvent(json::Document* event);
  // As nextEvent() but does not wait; kOk with *got == false when nothing is queued.
  ExitCode pollEvent(json::Document* event, bool* got);

  // Connects now instead of on the first call, e.g. before reading a prompt from
  // stdin that would be typed in vain. Prints the reason and returns kUnreachable
  // on failure; a no-op once connected.
  ExitCode connect();

  const std::string& socketPath() const { return socket_path_; }

 private:
  ExitCode readEvent(json::Document* event, int timeout_ms, bool* got);
  ExitCode lost(const std::string& why);

  std::string socket_path_;
  std::unique_ptr<ipc::Client> client_;
};

// Prints "llmq: <message>" on stderr: the one format of every CLI error line.
void printError(const std::string& message);

}  // namespace llmq::cli
