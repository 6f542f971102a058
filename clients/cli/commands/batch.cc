// `llmq batch submit|status|results`: OpenAI Batch files through llmqd. submit
// checks the whole file, then pipelines one job.submit per line with the
// idempotency key batch:<tag>:<custom_id> (so a re-run after a crash or Ctrl-C
// submits nothing twice) and follows the batch's events to its end with a
// progress display; status and results read the batch back with job.list by tag.
// See docs/batch.md.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "clients/cli/batch_file.h"
#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/progress.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

constexpr size_t kMaxTagBytes = 256;      // llmqd's limit on a tag.
constexpr size_t kMaxReported = 50;       // Invalid or refused lines listed one by one.
constexpr int kSweepPageSize = 1000;      // job.list's largest page.
constexpr int64_t kEventSweepMs = 15000;  // Following events: re-read the batch after this long quiet.
constexpr int64_t kPollSweepMs = 1000;    // Without events (not allowed to subscribe by tag).
constexpr const char* kStateOrder[] = {"succeeded", "failed",  "cancelled",  "expired",
                                       "queued",    "running", "retry_wait", "held"};

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// What the batch knows about one of its jobs.
struct Tracked {
  std::string state;
  double cost_usd = 0;
  bool done = false;
};

// The batch's jobs as acks, events and sweeps tell about them. A sweep (job.list)
// is the truth for jobs that have ended; events keep the display live in between.
// The counts are kept up to date as jobs change, so a batch of any size costs
// O(1) per event.
class Tracker {
 public:
  void add(const std::string& job_id, const std::string& state) {
    auto [it, inserted] = jobs_.try_emplace(job_id);
    if (inserted) {
      ++counts_.total;
      ++counts_.submitted;
    }
    if (!it->second.done) {
      it->second.state = state;
      if (client::isTerminalState(state)) {
        end(it->second, state);
      }
    }
  }

  void onEvent(const client::Event& e) {
    auto it = jobs_.find(e.job_id);
    if (it == jobs_.end() || it->second.done) {
      return;  // Another batch's job with this tag, or one a sweep already settled.
    }
    Tracked& t = it->second;
    if (e.name == "usage") {
      setCost(t, t.cost_usd + e.cost_usd);
    } else if (e.terminal) {
      end(t, e.name == "final_response" ? "succeeded" : e.name == "error" ? "failed" : e.name);
    }
  }

  void onSweep(const client::Job& job) {
    auto it = jobs_.find(job.job_id);
    if (it == jobs_.end()) {
      return;
    }
    Tracked& t = it->second;
    if (t.done) {
      return;
    }
    t.state = job.state;
    if (job.finished()) {
      setCost(t, job.usage ? job.usage->cost_usd : 0);  // The job's own total.
      end(t, job.state);
    }
  }

  bool allDone() const { return counts_.done == jobs_.size(); }
  const BatchCounts& counts() const { return counts_; }

 private:
  void end(Tracked& t, const std::string& state) {
    t.done = true;
    t.state = state;
    ++counts_.done;
    counts_.failed += state == "succeeded" ? 0 : 1;
  }
  void setCost(Tracked& t, double usd) {
    counts_.spent_usd += usd - t.cost_usd;
    t.cost_usd = usd;
  }

  std::unordered_map<std::string, Tracked> jobs_;
  BatchCounts counts_;
};

// Reads every job of batch `tag` (job.list by tag, page by page), newest first:
// the jobs tagged `tag` whose idempotency key is one of the batch's keys.
ExitCode sweep(Session& session, const std::string& tag, bool include_result, std::vector<client::Job>* out) {
  out->clear();
  if (ExitCode rc = session.connect(); rc != ExitCode::kOk) {
    return rc;
  }
  client::ListQuery q;
  q.tag = tag;
  q.limit = kSweepPageSize;
  q.include_result = include_result;
  std::string custom_id;
  do {
    auto page = session.client().list(q);
    if (!page) {
      return session.fail(page.error());
    }
    for (client::Job& job : page->jobs) {
      if (customIdFromKey(tag, job.idempotency_key, &custom_id)) {
        out->push_back(std::move(job));
      }
    }
    q.cursor = page->next_cursor;
  } while (!q.cursor.empty());
  return ExitCode::kOk;
}

// What `batch status` shows, and `batch submit` at its end.
struct BatchSummary {
  std::string tag;
  size_t total = 0;  // Jobs of the batch (or lines of --input).
  size_t done = 0;
  std::map<std::string, size_t> states;
  double spent_usd = 0;
  std::optional<size_t> not_submitted;  // Lines of --input without a job.
};

BatchSummary summarize(const std::string& tag, const std::vector<client::Job>& jobs) {
  BatchSummary s;
  s.tag = tag;
  s.total = jobs.size();
  for (const client::Job& job : jobs) {
    ++s.states[job.state];
    s.done += job.finished() ? 1 : 0;
    s.spent_usd += job.usage ? job.usage->cost_usd : 0;
  }
  return s;
}

// "1980 succeeded, 10 failed, 5 queued": the states in a fixed order, then any a
// newer daemon may add.
std::string describeStates(const std::map<std::string, size_t>& states) {
  std::string out;
  auto add = [&out](const std::string& name, size_t n) {
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + printable(name);
  };
  for (const char* name : kStateOrder) {
    if (auto it = states.find(name); it != states.end()) {
      add(it->first, it->second);
    }
  }
  for (const auto& [name, n] : states) {
    if (std::find(std::begin(kStateOrder), std::end(kStateOrder), name) == std::end(kStateOrder)) {
      add(name, n);
    }
  }
  return out.empty() ? "no jobs" : out;
}

void printSummary(const BatchSummary& s, bool json_output) {
  if (json_output) {
    std::string out = "{\"tag\":";
    json::appendString(out, s.tag);
    out += ",\"total\":" + std::to_string(s.total) + ",\"done\":" + std::to_string(s.done) + ",\"states\":{";
    bool first = true;
    for (const auto& [name, n] : s.states) {
      out += first ? "" : ",";
      first = false;
      json::appendString(out, name);
      out += ":" + std::to_string(n);
    }
    char spent[40];
    std::snprintf(spent, sizeof spent, "%.10g", s.spent_usd);
    out += std::string("},\"spent_usd\":") + spent;
    if (s.not_submitted) {
      out += ",\"not_submitted\":" + std::to_string(*s.not_submitted);
    }
    out += "}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return;
  }
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%",
                s.total == 0 ? 100.0 : 100.0 * static_cast<double>(s.done) / static_cast<double>(s.total));
  std::printf("%-14s %s\n", "batch:", printable(s.tag).c_str());
  std::printf("%-14s %zu of %zu (%s)\n", "done:", s.done, s.total, pct);
  std::printf("%-14s %s\n", "jobs:", describeStates(s.states).c_str());
  if (s.not_submitted) {
    std::printf("%-14s %zu\n", "not submitted:", *s.not_submitted);
  }
  std::printf("%-14s %s\n", "spent:", formatCost(s.spent_usd).c_str());
}

// Lists the invalid lines, at most kMaxReported of them.
void reportProblems(const std::string& file, const std::vector<BatchProblem>& problems) {
  for (size_t i = 0; i < problems.size() && i < kMaxReported; ++i) {
    printError(printable(file) + ":" + std::to_string(problems[i].line) + ": " + printable(problems[i].message));
  }
  if (problems.size() > kMaxReported) {
    printError("... and " + std::to_string(problems.size() - kMaxReported) + " more invalid lines");
  }
}

// SIGINT while a batch is submitted or followed: the jobs llmqd acknowledged are
// stored, and a re-run finds them by their keys. Written once before the handler
// is installed; the handler only reads it.
char g_batch_interrupt_note[512];
size_t g_batch_interrupt_note_len = 0;

extern "C" void onBatchInterrupt(int) {
  ssize_t ignored = ::write(STDERR_FILENO, g_batch_interrupt_note, g_batch_interrupt_note_len);
  (void)ignored;
  ::_exit(130);
}

void noteBatchOnInterrupt(const std::string& tag) {
  const std::string t = printable(tag);
  int n = std::snprintf(g_batch_interrupt_note, sizeof g_batch_interrupt_note,
                        "\nllmq: interrupted; the jobs submitted so far stay in llmqd. Run the "
                        "same command again to submit the rest and follow the batch "
                        "(llmq batch status %s)\n",
                        t.c_str());
  if (n <= 0) {
    return;
  }
  g_batch_interrupt_note_len = std::min(static_cast<size_t>(n), sizeof g_batch_interrupt_note - 1);
  struct sigaction sa {};
  sa.sa_handler = onBatchInterrupt;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

struct SubmitOptions {
  std::string file;
  std::string tag;
  std::optional<int64_t> priority;
  std::string client;
  std::optional<int64_t> max_attempts;
  int64_t window = static_cast<int64_t>(client::kDefaultWindow);
  bool skip_invalid = false;
  bool wait = true;
};

// Reads the submit options; a usage error is recorded in `args`.
void parseSubmitOptions(ArgReader& args, SubmitOptions* o) {
  int64_t n = 0;
  size_t files = 0;
  while (args.next()) {
    if (args.positional()) {
      o->file = args.current();
      ++files;
    } else if (args.value("--tag", &o->tag) || args.value("--client", &o->client)) {
    } else if (args.intValue("--priority", -1000, 1000, &n)) {
      o->priority = n;
    } else if (args.intValue("--max-attempts", 1, 100, &n)) {
      o->max_attempts = n;
    } else if (args.intValue("--window", 1, 4096, &o->window)) {
    } else if (args.flag("--skip-invalid")) {
      o->skip_invalid = true;
    } else if (args.flag("--no-wait")) {
      o->wait = false;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return;
  }
  if (files != 1) {
    args.fail("batch submit takes one FILE.jsonl");
  } else if (o->tag.empty() && (o->tag = defaultBatchTag(o->file)).empty()) {
    args.fail("give --tag when the batch comes from stdin");
  } else if (o->tag.size() > kMaxTagBytes) {
    args.fail("the tag is longer than " + std::to_string(kMaxTagBytes) + " bytes; give a shorter --tag");
  }
}

// Follows the batch until every job has ended: events from the tag subscription
// when there is one, polling with job.list when there is not. Following events, a
// sweep also runs after kEventSweepMs without a job ending, in case an event was
// missed (a job retried by hand, a daemon restart); a busy batch never pays for it.
ExitCode follow(Session& session, const std::string& tag, bool events, Tracker* tracker, Progress* progress) {
  client::Client& c = session.client();
  const int64_t interval = events ? kEventSweepMs : kPollSweepMs;
  int64_t next_sweep = nowMs() + interval;
  std::vector<client::Job> jobs;
  while (!tracker->allDone()) {
    auto e = c.nextEvent(events ? 200 : static_cast<int>(kPollSweepMs));
    if (!e) {
      progress->finish();
      return session.fail(e.error());
    }
    const size_t done_before = tracker->counts().done;
    if (e->has_value()) {
      tracker->onEvent(**e);
      while (std::optional<client::Event> more = c.takeEvent()) {
        tracker->onEvent(*more);
      }
    }
    if (tracker->counts().done != done_before && events) {
      next_sweep = nowMs() + interval;
    }
    if (nowMs() >= next_sweep) {
      if (ExitCode rc = sweep(session, tag, false, &jobs); rc != ExitCode::kOk) {
        progress->finish();
        return rc;
      }
      for (const client::Job& job : jobs) {
        tracker->onSweep(job);
      }
      next_sweep = nowMs() + interval;
    }
    progress->show(tracker->counts(), false);
  }
  progress->show(tracker->counts(), false, /*force=*/true);
  progress->finish();
  return ExitCode::kOk;
}

ExitCode submitBatch(ArgReader& args, GlobalOptions& globals) {
  SubmitOptions o;
  parseSubmitOptions(args, &o);
  if (args.failed()) {
    return usageError("batch", args.error());
  }
  BatchInput input;
  std::string error;
  if (!readBatchInput(o.file, o.tag, true, &input, &error)) {
    printError("cannot read the batch: " + error);
    return ExitCode::kUsage;
  }
  reportProblems(o.file, input.problems);
  if (!input.problems.empty() && !o.skip_invalid) {
    printError(printable(o.file) + ": " + std::to_string(input.problems.size()) + " invalid line" +
               (input.problems.size() == 1 ? "" : "s") +
               "; nothing was submitted (fix them, or give --skip-invalid to submit the other " +
               std::to_string(input.requests.size()) + ")");
    return ExitCode::kUsage;
  }
  if (input.requests.empty()) {
    printError(printable(o.file) + ": no requests to submit");
    return ExitCode::kUsage;
  }
  if (!input.problems.empty()) {
    printError("skipping " + std::to_string(input.problems.size()) + " invalid line" +
               (input.problems.size() == 1 ? "" : "s"));
  }

  Session session(globals);
  if (ExitCode rc = session.connect(); rc != ExitCode::kOk) {
    return rc;
  }
  client::Client& c = session.client();
  // Subscribe before submitting, so no job can end unseen. Someone who may not
  // subscribe by tag (not an administrator, ipc/PROTOCOL.md "Access") polls.
  bool events = false;
  if (o.wait) {
    client::SubscribeRequest sub;
    sub.tag = o.tag;
    sub.events = {"usage", "final_response", "error", "cancelled", "expired"};
    auto ack = c.subscribe(sub);
    if (ack) {
      events = true;
    } else if (ack.error().kind != client::ErrorKind::kRpc || ack.error().symbol != "PERMISSION_DENIED") {
      return session.fail(ack.error());
    }
  }
  noteBatchOnInterrupt(o.tag);

  std::vector<std::string> params;
  params.reserve(input.requests.size());
  for (BatchRequest& r : input.requests) {
    client::SubmitRequest s;
    s.request_json = std::move(r.body);
    s.kind = r.kind;
    if (o.priority) {
      s.priority = static_cast<int>(*o.priority);
    }
    s.client = o.client;
    s.tags = {o.tag};
    s.idempotency_key = batchKey(o.tag, r.custom_id);
    if (o.max_attempts) {
      s.max_attempts = static_cast<int>(*o.max_attempts);
    }
    params.push_back(s.paramsJson());
  }

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  Progress progress(stderr, tty, printable(o.tag));
  Tracker tracker;
  BatchCounts submitting;
  submitting.total = params.size();
  size_t fresh = 0;
  size_t deduplicated = 0;
  size_t refused = 0;
  auto on_reply = [&](size_t index, const client::Reply& reply) {
    ++submitting.submitted;
    if (!reply.ok) {
      if (++refused <= kMaxReported) {
        progress.finish();
        const BatchRequest& r = input.requests[index];
        printError(printable(o.file) + ":" + std::to_string(r.line) + ": llmqd refused custom_id \"" +
                   printable(r.custom_id) + "\": " + reply.error.message + " (" + reply.error.symbol + ")");
      }
      return true;
    }
    json::Document ack;
    json::parse(ack, reply.result_json, nullptr, json::kMaxAnswerDepth);  // Compact JSON the library wrote.
    const std::string job_id(stringField(ack, "job_id"));
    tracker.add(job_id, std::string(stringField(ack, "state")));
    (boolField(ack, "deduplicated") ? deduplicated : fresh) += 1;
    // Events that came with the answers, taken without reading the socket.
    while (std::optional<client::Event> e = c.takeEvent()) {
      tracker.onEvent(*e);
    }
    progress.show(submitting, true);
    return true;
  };
  auto replies = c.callPipelined("job.submit", params, static_cast<size_t>(o.window), on_reply);
  if (!replies || refused > kMaxReported || !o.wait) {
    progress.finish();  // Otherwise the completion display takes over the same line.
  }
  if (!replies) {
    printError(std::to_string(fresh + deduplicated) + " of " + std::to_string(params.size()) +
               " lines were acknowledged before the failure; run the same command again to "
               "submit the rest");
    return session.fail(replies.error());
  }
  if (refused > kMaxReported) {
    printError("... and " + std::to_string(refused - kMaxReported) + " more lines refused");
  }
  if (!o.wait || fresh + deduplicated == 0) {
    if (globals.json) {
      std::string tag;
      json::appendString(tag, o.tag);
      std::printf("{\"tag\":%s,\"submitted\":%zu,\"deduplicated\":%zu,\"refused\":%zu}\n", tag.c_str(), fresh,
                  deduplicated, refused);
    } else {
      std::printf("batch %s: %zu jobs submitted, %zu were already there, %zu refused\n", printable(o.tag).c_str(),
                  fresh, deduplicated, refused);
    }
    return refused > 0 ? ExitCode::kFailed : ExitCode::kOk;
  }

  std::vector<client::Job> jobs;
  if (deduplicated > 0 || !events) {
    // A re-run: jobs that ended before it sent no events; read them once.
    if (ExitCode rc = sweep(session, o.tag, false, &jobs); rc != ExitCode::kOk) {
      return rc;
    }
    for (const client::Job& job : jobs) {
      tracker.onSweep(job);
    }
  }
  if (ExitCode rc = follow(session, o.tag, events, &tracker, &progress); rc != ExitCode::kOk) {
    return rc;
  }
  if (ExitCode rc = sweep(session, o.tag, false, &jobs); rc != ExitCode::kOk) {
    return rc;
  }
  BatchSummary summary = summarize(o.tag, jobs);
  printSummary(summary, globals.json);
  if (!globals.json) {
    std::fflush(stdout);
    std::fprintf(stderr, "results: llmq batch results %s --input %s -o %s.out.jsonl\n", printable(o.tag).c_str(),
                 printable(o.file).c_str(), printable(o.tag).c_str());
  }
  const bool all_ok = refused == 0 && summary.states["succeeded"] == summary.total;
  return all_ok ? ExitCode::kOk : ExitCode::kFailed;
}

// What batch status and batch results start from: the TAG operand, the batch's
// input file when --input names one, and every job of the batch.
struct LoadedBatch {
  std::string tag;
  std::string input_file;
  BatchInput input;
  std::vector<client::Job> jobs;
};

ExitCode loadBatch(const char* command, const std::vector<std::string>& operands, std::string input_file,
                   bool with_results, GlobalOptions& globals, LoadedBatch* out) {
  if (operands.size() != 1) {
    return usageError("batch", std::string("batch ") + command + " takes one TAG");
  }
  out->tag = operands[0];
  out->input_file = std::move(input_file);
  std::string error;
  if (!out->input_file.empty() && !readBatchInput(out->input_file, out->tag, false, &out->input, &error)) {
    printError("cannot read the batch: " + error);
    return ExitCode::kUsage;
  }
  Session session(globals);
  return sweep(session, out->tag, with_results, &out->jobs);
}

ExitCode batchStatus(ArgReader& args, GlobalOptions& globals) {
  std::vector<std::string> operands;
  std::string input_file;
  while (args.next()) {
    if (args.positional()) {
      operands.push_back(args.current());
    } else if (!args.value("--input", &input_file)) {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("batch", args.error());
  }
  LoadedBatch batch;
  if (ExitCode rc = loadBatch("status", operands, input_file, false, globals, &batch); rc != ExitCode::kOk) {
    return rc;
  }
  const std::string& tag = batch.tag;
  const BatchInput& input = batch.input;
  const std::vector<client::Job>& jobs = batch.jobs;
  BatchSummary summary = summarize(tag, jobs);
  if (!input_file.empty()) {
    std::unordered_map<std::string, bool> known;
    std::string id;
    for (const client::Job& job : jobs) {
      if (customIdFromKey(tag, job.idempotency_key, &id)) {
        known[id] = true;
      }
    }
    size_t missing = 0;
    for (const BatchRequest& r : input.requests) {
      missing += known.count(r.custom_id) == 0 ? 1 : 0;
    }
    summary.not_submitted = missing;
    summary.total = jobs.size() + missing;
  } else if (jobs.empty()) {
    printError("no jobs of batch \"" + printable(tag) + "\" (jobs tagged " + printable(tag) +
               " with idempotency keys batch:" + printable(tag) + ":...)");
    return ExitCode::kFailed;
  }
  printSummary(summary, globals.json);
  return ExitCode::kOk;
}

// Writes `lines` to `path` through a temporary file and a rename, so a reader
// never sees half a file; "-" or empty: stdout.
bool writeLines(const std::string& path, const std::string& text, std::string* error) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  }
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

ExitCode batchResults(ArgReader& args, GlobalOptions& globals) {
  std::vector<std::string> operands;
  std::string input_file;
  std::string output;
  while (args.next()) {
    if (args.positional()) {
      operands.push_back(args.current());
    } else if (!args.value("--input", &input_file) && !args.value("-o", &output) &&
               !args.value("--output", &output)) {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("batch", args.error());
  }
  LoadedBatch batch;
  if (ExitCode rc = loadBatch("results", operands, input_file, true, globals, &batch); rc != ExitCode::kOk) {
    return rc;
  }
  const std::string& tag = batch.tag;
  const BatchInput& input = batch.input;
  const std::vector<client::Job>& jobs = batch.jobs;
  if (jobs.empty()) {
    printError("no jobs of batch \"" + printable(tag) + "\"");
    return ExitCode::kFailed;
  }
  std::unordered_map<std::string, const client::Job*> by_id;  // custom_id -> job.
  std::vector<std::pair<std::string, const client::Job*>> order;
  std::string custom_id;
  for (const client::Job& job : jobs) {
    if (customIdFromKey(tag, job.idempotency_key, &custom_id)) {
      by_id[custom_id] = &job;
      order.emplace_back(custom_id, &job);
    }
  }
  if (!input_file.empty()) {
    order.clear();
    for (const BatchRequest& r : input.requests) {
      auto it = by_id.find(r.custom_id);
      order.emplace_back(r.custom_id, it == by_id.end() ? nullptr : it->second);
    }
  } else {
    // Job ids sort in creation order.
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.second->job_id < b.second->job_id; });
  }
  std::string text;
  size_t written = 0;
  size_t failed = 0;
  size_t unfinished = 0;
  size_t missing = 0;
  for (const auto& [id, job] : order) {
    if (job == nullptr) {
      ++missing;
      continue;
    }
    if (!job->finished()) {
      ++unfinished;
      continue;
    }
    text += batchOutputLine(*job, id);
    text += '\n';
    ++written;
    failed += job->state == "succeeded" ? 0 : 1;
  }
  if (std::string error; !writeLines(output, text, &error)) {
    printError("cannot write the results: " + error);
    return ExitCode::kFailed;
  }
  const bool to_file = !output.empty() && output != "-";
  if (to_file && !globals.json) {
    std::fprintf(stderr, "wrote %zu results (%zu failed) to %s\n", written, failed, printable(output).c_str());
  }
  if (unfinished > 0) {
    printError(std::to_string(unfinished) +
               " jobs of the batch have not ended; their lines are "
               "not in the results yet (llmq batch status " +
               printable(tag) + ")");
  }
  if (missing > 0) {
    printError(std::to_string(missing) + " lines of " + printable(input_file) +
               " have no job; run llmq batch submit again to submit them");
  }
  return unfinished + missing > 0 ? ExitCode::kFailed : ExitCode::kOk;
}

}  // namespace

ExitCode runBatch(ArgReader& args, GlobalOptions& globals) {
  if (!args.next() || !args.positional()) {
    if (args.failed()) {
      return usageError("batch", args.error());
    }
    return usageError("batch", "batch needs submit, status or results");
  }
  const std::string sub = args.current();
  if (sub == "submit") {
    return submitBatch(args, globals);
  }
  if (sub == "status") {
    return batchStatus(args, globals);
  }
  if (sub == "results") {
    return batchResults(args, globals);
  }
  return usageError("batch", "batch needs submit, status or results, not \"" + sub + "\"");
}

}  // namespace llmq::cli
