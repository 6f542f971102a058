// Session: connection set-up and the mapping of llmq::client errors to one stderr
// line and an exit code. The library words its connect error for logs
// ("connecting to PATH: ..."); the CLI rephrases it for people.
#include "clients/cli/session.h"

#include <cstdio>

#include "clients/cli/output.h"

namespace llmq::cli {

void printError(const std::string& message) {
  std::fflush(stdout);  // Keeps stdout and stderr in order on a terminal.
  // Error messages quote outsiders (an upstream's error text, another client's
  // names): control characters, C1 controls and line breaks are shown escaped so
  // they cannot drive the terminal or fake a second line.
  std::fprintf(stderr, "llmq: %s\n", printable(terminalText(message)).c_str());
}

Session::Session(const GlobalOptions& globals)
    : socket_path_(globals.socket_path.empty() ? client::defaultSocketPath() : globals.socket_path) {}

ExitCode Session::connect() {
  if (client_) {
    return ExitCode::kOk;
  }
  auto c = client::Client::connect(socket_path_);
  if (!c) {
    return fail(c.error());
  }
  client_ = std::move(c.value());
  return ExitCode::kOk;
}

ExitCode Session::fail(const client::Error& error) {
  switch (error.kind) {
    case client::ErrorKind::kConnect: {
      std::string why = error.message;
      const std::string prefix = "connecting to " + socket_path_ + ": ";
      if (why.compare(0, prefix.size(), prefix) == 0) {
        why.erase(0, prefix.size());
      }
      printError("cannot connect to llmqd at " + socket_path_ + ": " + why);
      return ExitCode::kUnreachable;
    }
    case client::ErrorKind::kRpc:
      printError(error.message + " (" + error.symbol + ")");
      return ExitCode::kFailed;
    case client::ErrorKind::kInvalidArgument:
      // The CLI escapes everything it puts into params, so the one way to get here
      // is invalid UTF-8 from argv, a file or stdin: the user's input.
      printError("the arguments or input are not valid UTF-8, which llmqd requires");
      return ExitCode::kUsage;
    case client::ErrorKind::kTransport:
    case client::ErrorKind::kTimeout:
    case client::ErrorKind::kProtocol:
      break;
  }
  printError("lost the connection to llmqd: " + error.message);
  return ExitCode::kUnreachable;
}

namespace {

// `params` (a JSON object's text) with "cursor": cursor added.
std::string withCursor(std::string_view params, const std::string& cursor) {
  std::string out(params.substr(0, params.rfind('}')));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) {
    out.pop_back();
  }
  if (out.empty()) {
    out = "{";
  }
  out += out.back() == '{' ? "\"cursor\":" : ",\"cursor\":";
  json::appendString(out, cursor);
  return out + "}";
}

json::Value* mutableMember(json::Value& obj, const char* name) {
  if (!obj.IsObject()) {
    return nullptr;
  }
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

}  // namespace

ExitCode Session::callAllPages(std::string_view method, std::string_view params_json, const char* array,
                               json::Document* result, std::string_view later_params_json) {
  if (ExitCode rc = call(method, params_json, result); rc != ExitCode::kOk) {
    return rc;
  }
  json::Value* rows = mutableMember(*result, array);
  json::Value* next = mutableMember(*result, "next_cursor");
  if (rows == nullptr || !rows->IsArray()) {
    return ExitCode::kOk;  // The command says what is missing.
  }
  std::string cursor = next != nullptr && next->IsString() ? std::string(json::view(*next)) : "";
  json::Document page;
  while (!cursor.empty()) {
    const std::string params = withCursor(later_params_json.empty() ? params_json : later_params_json, cursor);
    if (ExitCode rc = call(method, params, &page); rc != ExitCode::kOk) {
      return rc;
    }
    const json::Value* more = json::member(page, array);
    const json::Value* after = json::member(page, "next_cursor");
    if (more == nullptr || !more->IsArray()) {
      printError("llmqd sent a page of " + std::string(method) + " without \"" + array + "\"");
      return ExitCode::kUnreachable;
    }
    for (const json::Value& row : more->GetArray()) {
      rows->PushBack(json::Value(row, result->GetAllocator()), result->GetAllocator());
    }
    std::string following = after != nullptr && after->IsString() ? std::string(json::view(*after)) : "";
    if (!following.empty() && following == cursor) {
      printError("llmqd sent the same next_cursor twice for " + std::string(method));
      return ExitCode::kUnreachable;
    }
    cursor = std::move(following);
  }
  if (next != nullptr) {
    next->SetNull();
  }
  return ExitCode::kOk;
}

ExitCode Session::call(std::string_view method, std::string_view params_json, json::Document* result) {
  if (ExitCode rc = connect(); rc != ExitCode::kOk) {
    return rc;
  }
  auto r = client_->call(method, params_json);
  if (!r) {
    return fail(r.error());
  }
  std::string why;
  if (!json::parse(*result, *r, &why, json::kMaxAnswerDepth)) {
    printError("llmqd sent invalid JSON: " + why);
    return ExitCode::kUnreachable;
  }
  return ExitCode::kOk;
}

ExitCode Session::pollEvent(json::Document* params, bool* got, int timeout_ms) {
  *got = false;
  if (ExitCode rc = connect(); rc != ExitCode::kOk) {
    return rc;
  }
  auto e = client_->nextEvent(timeout_ms);
  if (!e) {
    return fail(e.error());
  }
  if (!e->has_value()) {
    return ExitCode::kOk;
  }
  json::parse(*params, (*e)->params_json, nullptr, json::kMaxAnswerDepth);  // Compact JSON the library wrote.
  *got = true;
  return ExitCode::kOk;
}

ExitCode Session::nextEvent(json::Document* params) {
  bool got = false;
  return pollEvent(params, &got, -1);
}

}  // namespace llmq::cli
