// `llmq watch`: subscribes to events (one job, a client, a tag or everything) and
// prints them one line each, or as raw params with --json, until interrupted or,
// for one job, until that job ends.
#include <cstdio>
#include <set>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

void show(const json::Value& params, bool json_output) {
  if (json_output) {
    printJson(params);
  } else {
    std::printf("%s\n", eventLine(params).c_str());
  }
  std::fflush(stdout);  // Watchers are often piped into grep or a log; don't sit on lines.
}

}  // namespace

ExitCode runWatch(ArgReader& args, GlobalOptions& globals) {
  std::string job;
  std::string client;
  std::string tag;
  std::string events;
  int scopes = 0;
  while (args.next()) {
    if (args.value("--job", &job) || args.value("--client", &client) || args.value("--tag", &tag)) {
      ++scopes;
    } else if (args.flag("--all")) {
      ++scopes;  // The default scope; the flag exists to say so explicitly.
    } else if (!args.value("--events", &events)) {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("watch", args.error());
  }
  if (scopes > 1) {
    return usageError("watch", "give one of --job, --client, --tag or --all");
  }
  std::set<std::string> wanted;  // Empty: every event.
  for (const std::string& name : splitList(events)) {
    if (!client::isEventName(name)) {
      return usageError("watch", "unknown event \"" + name + "\"");
    }
    wanted.insert(name);
  }
  if (!events.empty() && wanted.empty()) {
    return usageError("watch", "--events needs at least one event name");
  }

  std::string params = "{";
  if (!job.empty()) {
    params += "\"job_id\":";
    json::appendString(params, job);
  } else if (!client.empty()) {
    params += "\"client\":";
    json::appendString(params, client);
  } else if (!tag.empty()) {
    params += "\"tag\":";
    json::appendString(params, tag);
  } else {
    params += "\"all\":true";
  }
  if (!wanted.empty()) {
    // Watching one job, we must see its end to stop, even when it is filtered out:
    // the daemon ends the subscription silently after the terminal event.
    std::set<std::string> ask = wanted;
    if (!job.empty()) {
      ask.insert({"final_response", "error", "cancelled", "expired"});
    }
    params += ",\"events\":[";
    bool first = true;
    for (const std::string& name : ask) {
      params += first ? "" : ",";
      first = false;
      json::appendString(params, name);
    }
    params += "]";
  }
  params += "}";

  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("events.subscribe", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  auto shown = [&wanted](const json::Value& p) {
    return wanted.empty() || wanted.count(std::string(stringField(p, "event"))) > 0;
  };

  bool job_over = false;
  if (!job.empty()) {
    // A job that has already ended sends nothing more; don't wait for it forever.
    std::string get = "{\"job_id\":";
    json::appendString(get, job);
    get += "}";
    json::Document state;
    if (ExitCode rc = session.call("job.get", get, &state); rc != ExitCode::kOk) {
      return rc;
    }
    job_over = isTerminalState(stringField(state, "state"));
  }
  if (job_over) {
    // The daemon keeps a job subscription until the job's terminal event, which has
    // already gone by: end it ourselves rather than leave it behind in llmqd.
    std::string unsubscribe = "{\"subscription\":";
    json::appendString(unsubscribe, stringField(result, "subscription"));
    unsubscribe += "}";
    json::Document ignored;
    if (ExitCode rc = session.call("events.unsubscribe", unsubscribe, &ignored); rc == ExitCode::kUnreachable) {
      return rc;
    }
  }
  json::Document event;
  for (;;) {
    bool got = true;
    ExitCode rc = job_over ? session.pollEvent(&event, &got) : session.nextEvent(&event);
    if (rc != ExitCode::kOk) {
      return rc;
    }
    if (!got) {
      if (!globals.json) {
        std::fflush(stdout);
        std::fprintf(stderr, "llmq: job %s has ended\n", printable(job).c_str());
      }
      return ExitCode::kOk;
    }
    const json::Value& p = event;
    if (shown(p)) {
      show(p, globals.json);
    }
    if (!job.empty() && isTerminalEvent(p)) {
      return ExitCode::kOk;
    }
  }
}

}  // namespace llmq::cli
