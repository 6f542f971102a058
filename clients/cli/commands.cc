// The one-call subcommands: get, list, cancel, retry, status, pause and resume.
// Each builds its params with json::appendString (user text is always escaped),
// makes the call through a Session and prints the result; submit and watch, which
// follow events, live in submit.cc and watch.cc.
#include "clients/cli/commands.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "llmq/version.h"

namespace llmq::cli {
namespace {

// {"job_id":"<id>"}
std::string jobIdParams(std::string_view job_id) {
  std::string p = "{\"job_id\":";
  json::appendString(p, job_id);
  p += "}";
  return p;
}

// The positional JOB_ID arguments of a command that takes no options.
std::vector<std::string> readJobIds(ArgReader& args) {
  std::vector<std::string> ids;
  while (args.next()) {
    if (args.positional()) {
      ids.push_back(args.current());
    } else {
      args.unknown();
    }
  }
  return ids;
}

// Applies `method` to each job id; a failure on one id does not stop the others.
ExitCode forEachJob(ArgReader& args, GlobalOptions& globals, const char* command, const char* method) {
  std::vector<std::string> ids = readJobIds(args);
  if (args.failed()) {
    return usageError(command, args.error());
  }
  if (ids.empty()) {
    return usageError(command, "give at least one JOB_ID");
  }
  Session session(globals);
  ExitCode worst = ExitCode::kOk;
  for (const std::string& id : ids) {
    json::Document result;
    ExitCode rc = session.call(method, jobIdParams(id), &result);
    if (rc == ExitCode::kUnreachable) {
      return rc;
    }
    if (rc != ExitCode::kOk) {
      worst = rc;
      continue;
    }
    if (globals.json) {
      printJson(result);
    } else {
      std::printf("%s: %s\n", printable(stringField(result, "job_id")).c_str(),
                  printable(stringField(result, "state")).c_str());
    }
  }
  return worst;
}

ExitCode pauseOrResume(ArgReader& args, GlobalOptions& globals, bool pause) {
  const char* command = pause ? "pause" : "resume";
  std::string client;
  bool has_client = false;
  while (args.next()) {
    if (args.value("--client", &client)) {
      has_client = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError(command, args.error());
  }
  std::string params = "{";
  if (has_client) {
    params += "\"client\":";
    json::appendString(params, client);
  }
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call(pause ? "queue.pause" : "queue.resume", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
  } else {
    std::printf("paused: %s\n", describeQueueState(result).c_str());
  }
  return ExitCode::kOk;
}

}  // namespace

ExitCode usageError(std::string_view command, const std::string& message) {
  printError(message);
  if (command.empty()) {
    std::fprintf(stderr, "Try 'llmq --help'.\n");
  } else {
    std::fprintf(stderr, "Try 'llmq %.*s --help'.\n", static_cast<int>(command.size()), command.data());
  }
  return ExitCode::kUsage;
}

ExitCode runGet(ArgReader& args, GlobalOptions& globals) {
  std::vector<std::string> ids = readJobIds(args);
  if (args.failed()) {
    return usageError("get", args.error());
  }
  if (ids.size() != 1) {
    return usageError("get", "give exactly one JOB_ID");
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("job.get", jobIdParams(ids[0]), &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
  } else {
    printJob(result);
  }
  return ExitCode::kOk;
}

ExitCode runList(ArgReader& args, GlobalOptions& globals) {
  std::string state;
  std::string client;
  std::string tag;
  int64_t limit = 0;
  bool all = false;
  while (args.next()) {
    if (args.value("--state", &state) || args.value("--client", &client) || args.value("--tag", &tag) ||
        args.intValue("--limit", 1, 1000, &limit)) {
      continue;
    }
    if (args.flag("--all")) {
      all = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("list", args.error());
  }
  if (!state.empty() && !client::isJobState(state)) {
    return usageError("list", "unknown state \"" + state +
                                  "\"; one of queued, running, retry_wait, held, succeeded, "
                                  "failed, cancelled, expired");
  }
  std::string filter;
  auto add = [&filter](const char* name, const std::string& value) {
    if (!value.empty()) {
      filter += ",\"" + std::string(name) + "\":";
      json::appendString(filter, value);
    }
  };
  add("state", state);
  add("client", client);
  add("tag", tag);
  if (limit > 0) {
    filter += ",\"limit\":" + std::to_string(limit);
  }

  // Every page's document stays alive: the table points into them.
  Session session(globals);
  std::vector<std::unique_ptr<json::Document>> pages;
  std::vector<const json::Value*> jobs;
  std::string cursor;
  bool more = false;
  do {
    std::string params = "{\"include_result\":false" + filter;
    if (!cursor.empty()) {
      params += ",\"cursor\":";
      json::appendString(params, cursor);
    }
    params += "}";
    pages.push_back(std::make_unique<json::Document>());
    const json::Document& result = *pages.back();
    if (ExitCode rc = session.call("job.list", params, pages.back().get()); rc != ExitCode::kOk) {
      return rc;
    }
    const json::Value* list = json::member(result, "jobs");
    if (list != nullptr && list->IsArray()) {
      for (const auto& job : list->GetArray()) {
        jobs.push_back(&job);
      }
    }
    cursor = std::string(stringField(result, "next_cursor"));
    more = !cursor.empty();
  } while (all && more);

  if (globals.json) {
    if (pages.size() == 1) {
      printJson(*pages[0]);
      return ExitCode::kOk;
    }
    // --all over several pages: one object in the shape of a single page, complete.
    std::string out = "{\"jobs\":[";
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (i > 0) {
        out += ",";
      }
      json::appendTo(out, *jobs[i]);
    }
    out += "],\"next_cursor\":null}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return ExitCode::kOk;
  }
  if (jobs.empty()) {
    std::fprintf(stderr, "no jobs\n");
    return ExitCode::kOk;
  }
  printJobTable(jobs);
  if (more) {
    // On stderr, so a pipe reading the table sees only jobs.
    std::fflush(stdout);
    std::fprintf(stderr, "(more jobs: use --all, or --limit N up to 1000)\n");
  }
  return ExitCode::kOk;
}

ExitCode runCancel(ArgReader& args, GlobalOptions& globals) {
  return forEachJob(args, globals, "cancel", "job.cancel");
}

ExitCode runRetry(ArgReader& args, GlobalOptions& globals) {
  return forEachJob(args, globals, "retry", "job.retry");
}

ExitCode runStatus(ArgReader& args, GlobalOptions& globals) {
  while (args.next()) {
    args.unknown();
  }
  if (args.failed()) {
    return usageError("status", args.error());
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("daemon.status", "{}", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  printStatus(result);
  int64_t theirs = intField(result, "protocol_version");
  if (theirs != kProtocolVersion) {
    std::fflush(stdout);
    std::fprintf(stderr, "llmq: warning: llmqd speaks protocol %lld, this llmq %d\n",
                 static_cast<long long>(theirs), kProtocolVersion);
  }
  return ExitCode::kOk;
}

namespace {

// `llmq keys reset [NAME]` and `llmq breakers reset [MODEL]`: `method` with the
// optional operand as `field`, then the names it reset.
ExitCode runReset(const char* command, const char* method, const char* field,
                  const std::vector<std::string>& operands, GlobalOptions& globals) {
  std::string params = "{";
  if (operands.size() == 2) {
    params += "\"" + std::string(field) + "\":";
    json::appendString(params, operands[1]);
  }
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call(method, params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* reset = json::member(result, "reset");
  if (reset == nullptr || !reset->IsArray() || reset->Empty()) {
    std::printf("%s: nothing to reset\n", command);
    return ExitCode::kOk;
  }
  for (const auto& name : reset->GetArray()) {
    std::printf("reset %s\n", printable(name.IsString() ? json::view(name) : "?").c_str());
  }
  return ExitCode::kOk;
}

}  // namespace

ExitCode runBreakers(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("breakers", args.error());
  }
  if (operands.empty() || operands.size() > 2 || operands[0] != "reset") {
    return usageError("breakers", "usage: llmq breakers reset [MODEL]");
  }
  return runReset("breakers", "breakers.reset", "target", operands, globals);
}

ExitCode runKeys(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("keys", args.error());
  }
  if (!operands.empty()) {
    if (operands.size() > 2 || operands[0] != "reset") {
      return usageError("keys", "usage: llmq keys [reset [NAME]]");
    }
    return runReset("keys", "keys.reset", "name", operands, globals);
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("keys.status", "{}", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  std::printf("key source:  %s\n", printable(stringField(result, "key_source")).c_str());
  const json::Value* pool = json::member(result, "pool");
  if (pool == nullptr || !pool->IsArray() || pool->Empty()) {
    std::printf("server keys: none (set OPENROUTER_API_KEY or OPENROUTER_API_KEYS for llmqd)\n");
    return ExitCode::kOk;
  }
  Table table({"NAME", "KEY", "STATE", "UNTIL", "REQUESTS", "ERRORS"}, {false, false, false, false, true, true});
  for (const auto& k : pool->GetArray()) {
    std::string_view until = stringField(k, "until");
    table.addRow({printable(stringField(k, "name")), printable(stringField(k, "fingerprint")),
                  printable(stringField(k, "state")), until.empty() ? "-" : printable(until),
                  std::to_string(intField(k, "requests")), std::to_string(intField(k, "errors"))});
  }
  table.print(stdout);
  return ExitCode::kOk;
}

ExitCode runPause(ArgReader& args, GlobalOptions& globals) { return pauseOrResume(args, globals, true); }

ExitCode runResume(ArgReader& args, GlobalOptions& globals) { return pauseOrResume(args, globals, false); }

}  // namespace llmq::cli
