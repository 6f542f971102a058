// Session: connection set-up and the mapping of transport and JSON-RPC failures to
// one stderr line and an exit code. ipc::Client words its connect error for logs
// ("connecting to PATH: ..."); the CLI rephrases it for people.
#include "clients/cli/session.h"

#include <cstdio>

#include "ipc/socket_path.h"

namespace llmq::cli {

void printError(const std::string& message) {
  std::fflush(stdout);  // Keeps stdout and stderr in order on a terminal.
  std::fprintf(stderr, "llmq: %s\n", message.c_str());
}

Session::Session(const GlobalOptions& globals)
    : socket_path_(globals.socket_path.empty() ? ipc::defaultSocketPath() : globals.socket_path) {}

ExitCode Session::connect() {
  if (client_) {
    return ExitCode::kOk;
  }
  auto client = ipc::Client::connect(socket_path_);
  if (!client) {
    std::string why = client.error().message;
    const std::string prefix = "connecting to " + socket_path_ + ": ";
    if (why.compare(0, prefix.size(), prefix) == 0) {
      why.erase(0, prefix.size());
    }
    printError("cannot connect to llmqd at " + socket_path_ + ": " + why);
    return ExitCode::kUnreachable;
  }
  client_ = std::move(client.value());
  return ExitCode::kOk;
}

ExitCode Session::lost(const std::string& why) {
  printError("lost the connection to llmqd: " + why);
  return ExitCode::kUnreachable;
}

ExitCode Session::call(std::string_view method, std::string_view params_json,
                       ipc::Response* out) {
  // llmqd answers a line it cannot parse (e.g. invalid UTF-8 from argv, a file or
  // stdin) with id null, which a blocking call never matches to its request and
  // would wait for forever. Such params are the user's input, so: a usage error.
  json::Document check;
  if (!json::parse(check, params_json, nullptr)) {
    printError("the arguments or input are not valid UTF-8, which llmqd requires");
    return ExitCode::kUsage;
  }
  if (ExitCode rc = connect(); rc != ExitCode::kOk) {
    return rc;
  }
  auto resp = client_->call(method, params_json);
  if (!resp) {
    return lost(resp.error().message);
  }
  *out = std::move(resp.value());
  if (!out->ok()) {
    std::string symbol = out->error.symbol.empty() ? ipc::rpc::symbolFor(out->error.code)
                                                   : out->error.symbol;
    printError(out->error.message + " (" + symbol + ")");
    return ExitCode::kFailed;
  }
  return ExitCode::kOk;
}

ExitCode Session::readEvent(json::Document* event, int timeout_ms, bool* got) {
  *got = false;
  if (ExitCode rc = connect(); rc != ExitCode::kOk) {
    return rc;
  }
  for (;;) {
    auto line = client_->nextNotification(timeout_ms);
    if (!line) {
      return lost(line.error().message);
    }
    if (!line->has_value()) {
      return ExitCode::kOk;
    }
    std::string err;
    if (!json::parse(*event, **line, &err)) {
      return lost("llmqd sent invalid JSON: " + err);
    }
    // Only "event" notifications are expected here; a stray response (there are no
    // requests outstanding) is skipped rather than misread as an event.
    const json::Value* method = json::member(*event, "method");
    const json::Value* params = json::member(*event, "params");
    if (method != nullptr && method->IsString() && json::view(*method) == "event" &&
        params != nullptr && params->IsObject()) {
      *got = true;
      return ExitCode::kOk;
    }
  }
}

ExitCode Session::nextEvent(json::Document* event) {
  bool got = false;
  return readEvent(event, -1, &got);
}

ExitCode Session::pollEvent(json::Document* event, bool* got) {
  return readEvent(event, 0, got);
}

}  // namespace llmq::cli
