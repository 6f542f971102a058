// cli::Session: the CLI's one connection to llmqd, through the llmq::client
// library. It connects on first use, makes calls and reads events, and prints the
// single stderr line for every failure, so commands only decide what a success
// looks like.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "clients/cli/exit_code.h"
#include "clients/cli/options.h"
#include "common/json.h"
#include "llmq/client.h"

namespace llmq::cli {

class Session {
 public:
  // Uses globals.socket_path, or client::defaultSocketPath() when it is empty.
  explicit Session(const GlobalOptions& globals);

  // Calls `method` and waits for its answer. On success parses the result into
  // `result` and returns kOk. Otherwise prints the reason ("llmq: <message>
  // (<SYMBOL>)" for a refusal, "llmq: cannot connect ..." for transport) and
  // returns kFailed or kUnreachable; params that are not valid UTF-8 JSON are not
  // sent and give kUsage.
  ExitCode call(std::string_view method, std::string_view params_json, json::Document* result);
  // As call() for a paged list answer (usage.report, budget.list, models.list):
  // follows next_cursor to the last page and returns the first page's answer with
  // the `array` members of every page in its `array`, and next_cursor null.
  // `later_params_json` (an object, as params_json) is sent with the cursor for the
  // pages after the first; empty: params_json.
  ExitCode callAllPages(std::string_view method, std::string_view params_json, const char* array,
                        json::Document* result, std::string_view later_params_json = {});

  // Blocks for the next event notification and parses its params into `params`.
  // kUnreachable if the daemon goes away, after printing why.
  ExitCode nextEvent(json::Document* params);
  // As nextEvent() but waits at most timeout_ms (0: not at all); kOk with
  // *got == false when nothing came.
  ExitCode pollEvent(json::Document* params, bool* got, int timeout_ms = 0);

  // Connects now instead of on the first call, e.g. before reading a prompt from
  // stdin that would be typed in vain. Prints the reason and returns kUnreachable
  // on failure; a no-op once connected.
  ExitCode connect();

  // The connection, for typed and pipelined calls; connect() first.
  client::Client& client() { return *client_; }

  // Prints the one line for a failed library call and returns its exit code.
  ExitCode fail(const client::Error& error);

  const std::string& socketPath() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::unique_ptr<client::Client> client_;
};

// Prints "llmq: <message>" on stderr: the one format of every CLI error line.
void printError(const std::string& message);

}  // namespace llmq::cli
