// The job commands: get, list, cancel and retry (job.get, job.list, job.cancel,
// job.retry). Each builds its params with json::appendString (user text is
// always escaped), makes the call through a Session and prints the result.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

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

}  // namespace

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

}  // namespace llmq::cli
