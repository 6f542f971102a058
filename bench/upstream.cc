// bench_upstream: llmqd against a real HTTP upstream that does no work, a canned
// nginx (bench/support/nginx.h) on 127.0.0.1, with max_inflight = 256. Three
// figures, each the median of --runs runs, each with its baseline measured in
// the same run:
//   1. throughput: --jobs non-streamed jobs, pipelined (window 256) on one
//      connection, final_response/error events on another; jobs/s from the first
//      submit to the last final_response. Baseline: wrk -t2 -c64 -d5s POSTing the
//      same body straight to nginx.
//   2. added latency at low load: --latency-jobs jobs one at a time (submit with
//      subscribe:true, wait for final_response), each paired with one direct POST
//      from this process on a kept-alive libcurl easy handle; p50/p99 of both and
//      of the per-pair difference.
//   3. streaming fan-out: --stream-jobs streamed jobs of --chunks chunks each,
//      --subscribers connections each subscribed to every event of every job; each
//      checks per job that seq grows by exactly one, that there are --chunks
//      message_chunk events and that final_response's content is their
//      concatenation. llmqd CPU seconds (/proc/PID/stat) per 1M chunk events
//      delivered, and its peak RSS.
// Every wait is bounded; every process is stopped and reaped, also on failure.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/http_client.h"
#include "bench/support/nginx.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"
#include "common/json.h"
#include "ipc/jsonrpc.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {
namespace {

constexpr char kJsonModel[] = "bench/json";
constexpr char kSseModel[] = "bench/sse";
constexpr int64_t kWindow = 256;
constexpr int kWrkSeconds = 5;
constexpr int kWrkThreads = 2;
constexpr int kWrkConnections = 64;
// An event connection gives up after this long without an event.
constexpr double kEventStallSeconds = 30;
// One sequential job (or direct request) must finish within this.
constexpr int kOneJobTimeoutMs = 10000;
constexpr int kWarmup = 20;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_upstream: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

// --max-pending-mib: [ipc] max_pending_output_bytes; 0 keeps the daemon's default (8 MiB).
int64_t g_max_pending_mib = 0;

std::string daemonConfig(const CannedUpstream& up) {
  std::string ipc = g_max_pending_mib > 0
                        ? "[ipc]\nmax_pending_output_bytes = " + std::to_string(g_max_pending_mib << 20) + "\n"
                        : std::string();
  return "[daemon]\nmax_inflight = 256\n" + ipc + "[[providers]]\nname = \"canned\"\nbase_url = \"" +
         up.url("/json") +
         "\"\n"
         "models = [\"bench/json*\"]\nstream_usage = false\n"
         "[[providers]]\nname = \"canned-sse\"\nbase_url = \"" +
         up.url("/sse") +
         "\"\n"
         "models = [\"bench/sse*\"]\nstream_usage = false\n";
}

// A failure inside a daemon run: keeps a copy of the daemon's log (its temp dir
// goes away with it) and quotes its warning and error lines.
Error withDaemonLog(const BenchDaemon& d, const char* phase, Error e) {
  std::string log = d.log();
  char path[96];
  std::snprintf(path, sizeof path, "/tmp/bench_upstream.%s.%d.llmqd.log", phase, static_cast<int>(::getpid()));
  std::ofstream(path) << log;
  std::string quoted;
  std::istringstream lines(log);
  int n = 0;
  for (std::string line; std::getline(lines, line) && n < 25;) {
    if (line.find("error") != std::string::npos || line.find("warn") != std::string::npos ||
        line.find("ERROR") != std::string::npos || line.find("WARN") != std::string::npos) {
      quoted += "\n    | " + line.substr(0, 300);
      ++n;
    }
  }
  e.message += "\n  llmqd log copied to " + std::string(path) +
               (quoted.empty() ? " (no warning or error lines)" : "; its warning/error lines:" + quoted);
  return e;
}

// ---- event lines ----------------------------------------------------------

// The numeric part of the first "job_id":"j<hex>" in `line`, or -1.
int64_t jobIdIn(std::string_view line) {
  constexpr std::string_view kKey = "\"job_id\":\"j";
  size_t at = line.find(kKey);
  if (at == std::string_view::npos) {
    return -1;
  }
  std::string hex(line.substr(at + kKey.size(), 12));
  char* end = nullptr;
  long long v = std::strtoll(hex.c_str(), &end, 16);
  return end == hex.c_str() ? -1 : v;
}

struct EventView {
  int64_t job = -1;
  int64_t seq = -1;
  std::string_view name;
  std::string_view data;  // From "data": to the end of the line.
};

// An event notification's job, seq, name and data; false for any other line.
bool parseEvent(std::string_view l, EventView* ev) {
  if (l.find("\"method\":\"event\"") == std::string_view::npos) {
    return false;
  }
  ev->job = jobIdIn(l);
  size_t s = l.find("\"seq\":");
  ev->seq = s == std::string_view::npos ? -1 : std::atoll(std::string(l.substr(s + 6, 20)).c_str());
  size_t e = l.find("\"event\":\"");
  if (e == std::string_view::npos) {
    return false;
  }
  std::string_view rest = l.substr(e + 9);
  ev->name = rest.substr(0, rest.find('"'));
  size_t d = l.find("\"data\":");
  ev->data = d == std::string_view::npos ? std::string_view() : l.substr(d + 7);
  return true;
}

// The string value of the first "key":"..." in `text`, unescaped.
bool stringField(std::string_view text, std::string_view key, std::string* out) {
  std::string pattern = "\"" + std::string(key) + "\":\"";
  size_t at = text.find(pattern);
  if (at == std::string_view::npos) {
    return false;
  }
  size_t begin = at + pattern.size();
  bool escaped = false;
  for (size_t i = begin; i < text.size(); ++i) {
    if (text[i] == '\\') {
      escaped = true;
      ++i;
    } else if (text[i] == '"') {
      if (!escaped) {
        out->assign(text.data() + begin, i - begin);
        return true;
      }
      json::Document doc;  // Rare: let the JSON parser unescape it.
      if (!json::parse(doc, text.substr(begin - 1, i - begin + 2), nullptr) || !doc.IsString()) {
        return false;
      }
      *out = std::string(json::view(doc));
      return true;
    }
  }
  return false;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// ---- 1. throughput --------------------------------------------------------

// wrk against nginx: requests/s, with the same POST body the jobs carry.
Result<double> runWrk(const CannedUpstream& up, const std::string& lua) {
  std::string wrk = "/usr/bin/wrk";
  if (const char* p = std::getenv("LLMQ_BENCH_WRK"); p != nullptr && *p != '\0') {
    wrk = p;
  }
  auto r =
      testing::runCommand({wrk, "-t" + std::to_string(kWrkThreads), "-c" + std::to_string(kWrkConnections),
                           "-d" + std::to_string(kWrkSeconds) + "s", "-s", lua, up.url("/json/chat/completions")},
                          "", {}, (kWrkSeconds + 30) * 1000);
  const std::string& out = r.output;
  size_t at = out.find("Requests/sec:");
  if (r.exit_code != 0 || at == std::string::npos) {
    return makeError(ErrorKind::kIo, "wrk exited with " + std::to_string(r.exit_code) + ": " + out);
  }
  if (out.find("Non-2xx") != std::string::npos || out.find("Socket errors") != std::string::npos) {
    return makeError(ErrorKind::kInternal, "wrk saw failed requests: " + out);
  }
  return std::atof(out.c_str() + at + 13);
}

struct EventTally {
  int64_t finals = 0;
  int64_t errors = 0;
  int64_t wrong_content = 0;
  std::unordered_set<int64_t> final_ids;
  double last_final_at = 0;
  std::string first_error;
  std::string first_wrong;
  std::string failure;
};

void readFinals(ipc::Client& events, int64_t expected, const std::atomic<bool>& abort, EventTally& t) {
  const std::string want = CannedUpstream::jsonContent();
  double last_event = nowSeconds();
  std::string content;
  while (t.finals + t.errors < expected && !abort) {
    auto line = events.readLine(200);
    if (!line) {
      t.failure = line.error().message;
      return;
    }
    if (!line->has_value()) {
      if (nowSeconds() - last_event > kEventStallSeconds) {
        t.failure = "no event for 30 s";
        return;
      }
      continue;
    }
    last_event = nowSeconds();
    EventView ev;
    if (!parseEvent(**line, &ev)) {
      continue;
    }
    if (ev.name == "final_response") {
      ++t.finals;
      t.final_ids.insert(ev.job);
      t.last_final_at = last_event;
      if (!stringField(ev.data, "content", &content) || content != want) {
        if (t.wrong_content++ == 0) {
          t.first_wrong = (*line)->substr(0, 400);
        }
      }
    } else if (ev.name == "error") {
      if (t.errors++ == 0) {
        t.first_error = (*line)->substr(0, 400);
      }
    }
  }
}

struct ThroughputResult {
  double jobs_per_s = 0;
  double acks_per_s = 0;
  double cpu_us_per_job = 0;
  MemoryUsage mem;
};

Result<void> throughputChecks(BenchDaemon& d, int64_t jobs, const Result<PipelineResult>& res, const EventTally& t,
                              const std::vector<int64_t>& acked_ids) {
  if (!res) {
    return res.error();
  }
  if (!t.failure.empty()) {
    return makeError(ErrorKind::kIo, "event connection: " + t.failure + " after " + std::to_string(t.finals) +
                                         " final_response events");
  }
  std::string n = std::to_string(jobs);
  if (t.errors != 0) {
    return makeError(ErrorKind::kInternal, std::to_string(t.errors) + " error events; the first: " + t.first_error);
  }
  if (t.finals != jobs || static_cast<int64_t>(t.final_ids.size()) != jobs) {
    return makeError(ErrorKind::kInternal, std::to_string(t.finals) + " final_response events for " +
                                               std::to_string(t.final_ids.size()) + " distinct jobs, expected " +
                                               n);
  }
  if (t.wrong_content != 0) {
    return makeError(ErrorKind::kInternal, std::to_string(t.wrong_content) +
                                               " final_response events with the wrong content; "
                                               "the first: " +
                                               t.first_wrong);
  }
  for (int64_t id : acked_ids) {
    if (!t.final_ids.contains(id)) {
      return makeError(ErrorKind::kInternal, "acknowledged job " + std::to_string(id) + " has no final_response");
    }
  }
  auto succeeded = d.jobsInState("succeeded");
  if (!succeeded) {
    return succeeded.takeError();
  }
  if (*succeeded != jobs) {
    return makeError(ErrorKind::kInternal,
                     "daemon.status counts " + std::to_string(*succeeded) + " succeeded, expected " + n);
  }
  return {};
}

Result<ThroughputResult> runThroughput(const CannedUpstream& up, int64_t jobs) {
  auto daemon = BenchDaemon::start(daemonConfig(up));
  if (!daemon) {
    return daemon.takeError();
  }
  BenchDaemon& d = **daemon;
  auto events = d.connect();
  if (!events) {
    return events.takeError();
  }
  auto sub = (*events)->call("events.subscribe", R"({"all":true,"events":["final_response","error"]})", 10000);
  if (!sub || !sub->ok()) {
    return makeError(ErrorKind::kInternal, "events.subscribe failed");
  }
  auto submits = d.connect();
  if (!submits) {
    return submits.takeError();
  }
  PipelineOptions opts{.jobs = jobs, .window = kWindow, .workload = Workload{.model = kJsonModel}};
  EventTally tally;
  std::atomic<bool> abort{false};
  std::thread reader([&] { readFinals(**events, jobs, abort, tally); });
  std::vector<int64_t> acked_ids;
  acked_ids.reserve(static_cast<size_t>(jobs));
  double cpu0 = d.cpuSeconds();
  auto res = pipelineSubmits(**submits, opts, [&](std::string_view line) { acked_ids.push_back(jobIdIn(line)); });
  if (!res) {
    abort = true;
  }
  reader.join();
  double cpu1 = d.cpuSeconds();
  auto checked = throughputChecks(d, jobs, res, tally, acked_ids);
  if (!checked) {
    return withDaemonLog(d, "throughput", checked.takeError());
  }
  ThroughputResult out;
  out.jobs_per_s = static_cast<double>(jobs) / (tally.last_final_at - res->started_at);
  out.acks_per_s = res->perSecond();
  out.cpu_us_per_job = (cpu1 - cpu0) * 1e6 / static_cast<double>(jobs);
  out.mem = d.memory();
  events->reset();
  submits->reset();
  if (auto s = d.stop(); !s) {
    return withDaemonLog(d, "throughput", s.takeError());
  }
  return out;
}

// ---- 2. latency -----------------------------------------------------------

struct LatencyResult {
  std::vector<double> llmqd_us;
  std::vector<double> direct_us;
  std::vector<double> added_us;  // llmqd minus direct, pair by pair.
  MemoryUsage mem;
};

// One job: submit with subscribe:true, then read until its final_response.
Result<double> oneJob(ipc::Client& c, const Workload& w, int64_t i, int64_t rpc_id) {
  std::string params = "{\"request\":" + requestJson(w, i) + ",\"client\":\"bench-client\",\"subscribe\":true}";
  std::string req = ipc::makeRequest("job.submit", params, rpc_id);
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = c.sendRaw(req); !s) {
    return s.takeError();
  }
  const std::string want = CannedUpstream::jsonContent();
  const std::string id_key = "\"id\":" + std::to_string(rpc_id) + ",";
  int64_t job = -1;
  std::unordered_set<int64_t> finished;  // Finals seen before the answer (never, in practice).
  auto deadline = t0 + std::chrono::milliseconds(kOneJobTimeoutMs);
  std::string content;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return makeError(ErrorKind::kIo, "sequential job " + std::to_string(i) + " (job id " + std::to_string(job) +
                                           "): no final_response within " + std::to_string(kOneJobTimeoutMs) +
                                           " ms");
    }
    auto line = c.readLine(static_cast<int>(left.count()));
    if (!line) {
      return line.takeError();
    }
    if (!line->has_value()) {
      continue;
    }
    std::string_view l = **line;
    EventView ev;
    if (parseEvent(l, &ev)) {
      if (ev.name == "error") {
        return makeError(ErrorKind::kInternal,
                         "sequential job " + std::to_string(i) + ": error event: " + std::string(l.substr(0, 400)));
      }
      if (ev.name == "final_response") {
        if (!stringField(ev.data, "content", &content) || content != want) {
          return makeError(ErrorKind::kInternal, "wrong final_response: " + std::string(l.substr(0, 400)));
        }
        finished.insert(ev.job);
      }
    } else if (l.find(id_key) != std::string_view::npos) {
      if (l.find("\"result\":{\"job_id\":\"") == std::string_view::npos) {
        return makeError(ErrorKind::kInternal, "submit refused: " + std::string(l.substr(0, 400)));
      }
      job = jobIdIn(l);
    }
    if (job >= 0 && finished.contains(job)) {
      auto t1 = std::chrono::steady_clock::now();
      return std::chrono::duration<double, std::micro>(t1 - t0).count();
    }
  }
}

Result<double> oneDirect(DirectClient& c, const CannedUpstream& up, const std::string& url, const Workload& w,
                         int64_t i) {
  std::string body = requestJson(w, i);
  auto t0 = std::chrono::steady_clock::now();
  auto a = c.post(url, body, false, kOneJobTimeoutMs);
  auto t1 = std::chrono::steady_clock::now();
  if (!a) {
    return a.takeError();
  }
  if (a->status != 200 || a->body != up.jsonBody()) {
    return makeError(ErrorKind::kInternal,
                     "direct POST " + std::to_string(i) + " gave " + std::to_string(a->status));
  }
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

Result<LatencyResult> runLatency(const CannedUpstream& up, int64_t n) {
  auto daemon = BenchDaemon::start(daemonConfig(up));
  if (!daemon) {
    return daemon.takeError();
  }
  BenchDaemon& d = **daemon;
  auto client = d.connect();
  if (!client) {
    return client.takeError();
  }
  DirectClient direct;
  const std::string url = up.url("/json/chat/completions");
  Workload w{.model = kJsonModel};
  LatencyResult out;
  int64_t rpc_id = 1;
  // Warm-up pairs (connections, caches), not measured; then the measured pairs.
  for (int64_t i = -kWarmup; i < n; ++i) {
    auto dt = oneDirect(direct, up, url, w, i + kWarmup);
    if (!dt) {
      return dt.takeError();
    }
    auto lt = oneJob(**client, w, i + kWarmup, rpc_id++);
    if (!lt) {
      return withDaemonLog(d, "latency", lt.takeError());
    }
    if (i >= 0) {
      out.direct_us.push_back(*dt);
      out.llmqd_us.push_back(*lt);
      out.added_us.push_back(*lt - *dt);
    }
  }
  out.mem = d.memory();
  client->reset();
  if (auto s = d.stop(); !s) {
    return withDaemonLog(d, "latency", s.takeError());
  }
  return out;
}

// ---- 3. streaming fan-out -------------------------------------------------

struct JobTrack {
  int64_t next_seq = 1;  // A job's first event (queued) has seq 1.
  int64_t chunks = 0;
  std::string text;
  bool done = false;
};

struct SubscriberTally {
  int64_t events = 0;
  int64_t chunks = 0;
  int64_t finals = 0;
  int64_t problems = 0;              // Gaps, reorders, wrong chunk counts or content, errors.
  std::vector<std::string> samples;  // The first few problems, described.
  std::string failure;               // Set when the reader stopped early.
  double failed_at = 0;
  double last_final_at = 0;
  std::vector<std::pair<int64_t, double>> progress;  // (chunks read, when), every 10%.
  int64_t done_jobs = 0;
};

void problem(SubscriberTally& t, std::string what) {
  if (t.problems++ < 5) {
    t.samples.push_back(std::move(what));
  }
}

void readStream(ipc::Client& c, int sub_index, int64_t jobs, int64_t chunks, const std::string& want,
                const std::atomic<bool>& abort, SubscriberTally& t) {
  std::unordered_map<int64_t, JobTrack> tracks;
  tracks.reserve(static_cast<size_t>(jobs) * 2);
  double last_event = nowSeconds();
  std::string s;
  std::string sub = "subscriber " + std::to_string(sub_index) + ": ";
  while (t.done_jobs < jobs && !abort) {
    auto line = c.readLine(200);
    if (!line) {
      t.failure = sub + line.error().message;
      t.failed_at = nowSeconds();
      return;
    }
    if (!line->has_value()) {
      if (nowSeconds() - last_event > kEventStallSeconds) {
        t.failure = sub + "no event for 30 s";
        t.failed_at = nowSeconds();
        return;
      }
      continue;
    }
    last_event = nowSeconds();
    EventView ev;
    if (!parseEvent(**line, &ev)) {
      continue;
    }
    ++t.events;
    JobTrack& k = tracks[ev.job];
    std::string job = "job " + std::to_string(ev.job);
    if (ev.seq != k.next_seq) {
      problem(t, sub + job + ": seq " + std::to_string(ev.seq) + " (" + std::string(ev.name) + ") where " +
                     std::to_string(k.next_seq) + " was due");
    }
    k.next_seq = ev.seq + 1;
    if (k.done) {
      problem(t, sub + job + ": " + std::string(ev.name) + " after its terminal event");
      continue;
    }
    if (ev.name == "message_chunk") {
      if (++t.chunks % std::max<int64_t>(1, jobs * chunks / 10) == 1) {
        t.progress.emplace_back(t.chunks, last_event);
      }
      ++k.chunks;
      if (!stringField(ev.data, "delta", &s)) {
        problem(t, sub + job + ": message_chunk without a delta: " + (*line)->substr(0, 300));
      }
      k.text += s;
    } else if (ev.name == "final_response") {
      ++t.finals;
      k.done = true;
      ++t.done_jobs;
      t.last_final_at = last_event;
      if (k.chunks != chunks) {
        problem(t, sub + job + ": " + std::to_string(k.chunks) + " message_chunk events, expected " +
                       std::to_string(chunks));
      }
      if (!stringField(ev.data, "content", &s) || s != k.text || s != want) {
        problem(t, sub + job + ": final_response content (" + std::to_string(s.size()) +
                       " bytes) differs from its deltas (" + std::to_string(k.text.size()) +
                       " bytes) or from the canned text");
      }
      std::string().swap(k.text);
    } else if (ev.name == "error" || ev.name == "cancelled" || ev.name == "expired" || ev.name == "retrying") {
      problem(t, sub + job + ": " + (*line)->substr(0, 400));
      if (ev.name != "retrying" &&
          (ev.name != "error" || ev.data.find("\"retryable\":false") != std::string_view::npos)) {
        k.done = true;
        ++t.done_jobs;
      }
    }
  }
  if (t.done_jobs < jobs) {
    t.failure = sub + "stopped after " + std::to_string(t.done_jobs) + " of " + std::to_string(jobs) + " jobs";
  }
}

struct StreamResult {
  int64_t chunks_delivered = 0;  // message_chunk events, all subscribers together.
  int64_t events_delivered = 0;
  int64_t problems = 0;
  double cpu_s = 0;
  double seconds = 0;
  double tenth_at = 0;  // When subscriber 0 had read 10% of its chunk events.
  MemoryUsage mem;
};

Result<StreamResult> runStream(const CannedUpstream& up, int64_t jobs, int64_t chunks, int64_t subscribers) {
  auto daemon = BenchDaemon::start(daemonConfig(up));
  if (!daemon) {
    return daemon.takeError();
  }
  BenchDaemon& d = **daemon;
  std::vector<std::unique_ptr<ipc::Client>> subs;
  for (int64_t i = 0; i < subscribers; ++i) {
    auto c = d.connect();
    if (!c) {
      return c.takeError();
    }
    auto r = (*c)->call("events.subscribe", R"({"all":true})", 10000);
    if (!r || !r->ok()) {
      return makeError(ErrorKind::kInternal, "events.subscribe failed");
    }
    subs.push_back(std::move(*c));
  }
  auto submits = d.connect();
  if (!submits) {
    return submits.takeError();
  }
  const std::string want = up.sseContent();
  std::vector<SubscriberTally> tallies(static_cast<size_t>(subscribers));
  std::atomic<bool> abort{false};
  std::vector<std::thread> readers;
  for (int64_t i = 0; i < subscribers; ++i) {
    readers.emplace_back(
        [&, i] { readStream(*subs[i], static_cast<int>(i), jobs, chunks, want, abort, tallies[i]); });
  }
  PipelineOptions opts{.jobs = jobs, .window = kWindow, .workload = Workload{.model = kSseModel, .stream = true}};
  double cpu0 = d.cpuSeconds();
  double t0 = nowSeconds();
  auto res = pipelineSubmits(**submits, opts);
  if (!res) {
    abort = true;
  }
  for (auto& r : readers) {
    r.join();
  }
  double cpu1 = d.cpuSeconds();
  if (!res) {
    return withDaemonLog(d, "stream", res.takeError());
  }
  StreamResult out;
  std::string failures;
  std::vector<std::string> samples;
  double last = 0;
  for (const SubscriberTally& t : tallies) {
    out.chunks_delivered += t.chunks;
    out.events_delivered += t.events;
    out.problems += t.problems;
    last = std::max(last, t.last_final_at);
    if (!t.failure.empty()) {
      failures += "\n  " + t.failure + " " + fixed(t.failed_at - t0, 3) + " s after the first submit (" +
                  std::to_string(t.events) + " events, " + std::to_string(t.chunks) + " chunks, " +
                  std::to_string(t.finals) + " final_response read)";
    }
    for (const auto& s : t.samples) {
      if (samples.size() < 10) {
        samples.push_back(s);
      }
    }
  }
  if (!failures.empty() || out.problems != 0) {
    std::string msg = std::to_string(out.problems) +
                      " lost or reordered events or wrong content, "
                      "and these subscribers stopped early:" +
                      (failures.empty() ? " none" : failures);
    for (const auto& s : samples) {
      msg += "\n  " + s;
    }
    return withDaemonLog(d, "stream", makeError(ErrorKind::kInternal, msg));
  }
  auto succeeded = d.jobsInState("succeeded");
  if (!succeeded || *succeeded != jobs) {
    return withDaemonLog(d, "stream",
                         makeError(ErrorKind::kInternal,
                                   "daemon.status does not count " + std::to_string(jobs) + " succeeded jobs"));
  }
  if (std::getenv("LLMQ_BENCH_TRACE") != nullptr) {
    for (size_t i = 0; i < tallies.size(); ++i) {
      std::fprintf(stderr, "  trace: subscriber %zu, chunks read by time since first submit:", i);
      for (auto [n, at] : tallies[i].progress) {
        std::fprintf(stderr, " %lld@%.3fs", static_cast<long long>(n), at - t0);
      }
      std::fprintf(stderr, " all@%.3fs; submits acked at %.3fs\n", tallies[i].last_final_at - t0,
                   res->started_at + res->seconds - t0);
    }
  }
  out.cpu_s = cpu1 - cpu0;
  out.seconds = last - res->started_at;
  if (tallies[0].progress.size() > 1) {
    out.tenth_at = tallies[0].progress[1].second - res->started_at;
  }
  out.mem = d.memory();
  for (auto& s : subs) {
    s.reset();
  }
  submits->reset();
  if (auto s = d.stop(); !s) {
    return withDaemonLog(d, "stream", s.takeError());
  }
  return out;
}

// ---- report ---------------------------------------------------------------

std::string us(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f µs", v);
  return buf;
}

std::string usList(const std::vector<double>& v) {
  std::string out = "(runs:";
  for (double x : v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.0f", x);
    out += buf;
  }
  return out + ")";
}

int run(int argc, char** argv) {
  int64_t jobs = 50000;
  int64_t runs = 3;
  int64_t latency_jobs = 300;
  int64_t stream_jobs = 1000;
  int64_t chunks = 200;
  int64_t subscribers = 10;
  if (!parseFlags(argc, argv, "bench_upstream",
                  {{"jobs", &jobs, 1, "non-streamed jobs per throughput run"},
                   {"runs", &runs, 1, "runs; each figure is the median"},
                   {"latency-jobs", &latency_jobs, 1, "sequential jobs per latency run"},
                   {"stream-jobs", &stream_jobs, 1, "streamed jobs per fan-out run"},
                   {"chunks", &chunks, 1, "SSE chunks per streamed job"},
                   {"subscribers", &subscribers, 1, "subscriber connections in the fan-out run"},
                   {"max-pending-mib", &g_max_pending_mib, 0,
                    "llmqd [ipc] max_pending_output_bytes in MiB; 0 = its default (8)"}})) {
    return 2;
  }
  auto up = CannedUpstream::start({.sse_chunks = static_cast<int>(chunks)});
  if (!up) {
    return fail("starting the canned nginx upstream", up.error());
  }
  CannedUpstream& u = **up;
  // wrk's script: the body of job 0, the headers llmqd sends.
  testing::TempDir lua_dir;
  std::string lua = lua_dir.file("post.lua");
  std::ofstream(lua) << "wrk.method = \"POST\"\n"
                     << "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                     << "wrk.headers[\"Accept\"] = \"application/json\"\n"
                     << "wrk.body = [==[" << requestJson(Workload{.model = kJsonModel}, 0) << "]==]\n";

  std::printf(
      "upstream: canned nginx (1 worker) on 127.0.0.1:%d, llmqd max_inflight 256, "
      "max_pending_output_bytes %s, %lld runs\n",
      u.port(), g_max_pending_mib > 0 ? (std::to_string(g_max_pending_mib) + " MiB").c_str() : "default (8 MiB)",
      static_cast<long long>(runs));
  std::fflush(stdout);
  std::vector<double> wrk_rates, job_rates, ack_rates, cpu_per_job;
  std::vector<double> l_p50, l_p99, d_p50, d_p99, a_p50, a_p99;
  std::vector<double> cpu_per_m, chunk_rates, stream_hwm, tenth_at, upstream_done_at;
  MemoryUsage thr_mem, lat_mem, str_mem;
  int64_t chunks_delivered = 0;
  std::string stream_failure;  // The fan-out run's failure; later runs skip it.
  for (int64_t r = 1; r <= runs; ++r) {
    auto wrk = runWrk(u, lua);
    if (!wrk) {
      return fail("wrk baseline", wrk.error());
    }
    auto thr = runThroughput(u, jobs);
    if (!thr) {
      return fail("throughput run", thr.error());
    }
    auto lat = runLatency(u, latency_jobs);
    if (!lat) {
      return fail("latency run", lat.error());
    }
    wrk_rates.push_back(*wrk);
    job_rates.push_back(thr->jobs_per_s);
    ack_rates.push_back(thr->acks_per_s);
    cpu_per_job.push_back(thr->cpu_us_per_job);
    l_p50.push_back(percentile(lat->llmqd_us, 50));
    l_p99.push_back(percentile(lat->llmqd_us, 99));
    d_p50.push_back(percentile(lat->direct_us, 50));
    d_p99.push_back(percentile(lat->direct_us, 99));
    a_p50.push_back(percentile(lat->added_us, 50));
    a_p99.push_back(percentile(lat->added_us, 99));
    thr_mem = thr->mem;
    lat_mem = lat->mem;
    std::printf(
        "  run %lld: wrk %s req/s | llmqd %s jobs/s (%.2f s) | latency p50 llmqd %.0f µs, "
        "direct %.0f µs, added %.0f µs",
        static_cast<long long>(r), rate(*wrk).c_str(), rate(thr->jobs_per_s).c_str(),
        static_cast<double>(jobs) / thr->jobs_per_s, l_p50.back(), d_p50.back(), a_p50.back());
    std::fflush(stdout);
    if (!stream_failure.empty()) {
      std::printf(" | stream skipped\n");
      continue;
    }
    auto str = runStream(u, stream_jobs, chunks, subscribers);
    if (!str) {
      stream_failure = "run " + std::to_string(r) + ": " + str.error().message;
      std::printf(" | stream FAILED (below)\n");
      std::fflush(stdout);
      continue;
    }
    double per_m = str->cpu_s / (static_cast<double>(str->chunks_delivered) / 1e6);
    cpu_per_m.push_back(per_m);
    chunk_rates.push_back(static_cast<double>(str->chunks_delivered) / str->seconds);
    stream_hwm.push_back(static_cast<double>(str->mem.hwm_kib));
    tenth_at.push_back(str->tenth_at);
    upstream_done_at.push_back(str->seconds);
    chunks_delivered = str->chunks_delivered;
    str_mem = str->mem;
    std::printf(" | stream %lld chunk events in %.2f s (10%% read at %.2f s), llmqd cpu %.2f s\n",
                static_cast<long long>(str->chunks_delivered), str->seconds, str->tenth_at, str->cpu_s);
    std::fflush(stdout);
  }

  double jr = median(job_rates);
  double wr = median(wrk_rates);
  std::printf(
      "throughput: %lld non-streamed jobs (model %s), window %lld, events on a second "
      "connection\n",
      static_cast<long long>(jobs), kJsonModel, static_cast<long long>(kWindow));
  printLine("llmqd end-to-end jobs/s", jr, runsList(job_rates));
  printLine("  submit acks/s during it", median(ack_rates), runsList(ack_rates));
  std::printf("  %-31s median %-9s (runs:", "  llmqd CPU µs per job", fixed(median(cpu_per_job), 1).c_str());
  for (double x : cpu_per_job) {
    std::printf(" %.1f", x);
  }
  std::printf(")\n");
  printLine("baseline nginx direct (wrk)", wr, ratio(jr, wr) + "   " + runsList(wrk_rates));
  std::printf("  wrk -t%d -c%d -d%ds, same body; target ratio >= 0.20: %s\n", kWrkThreads, kWrkConnections,
              kWrkSeconds, wr > 0 && jr / wr >= 0.2 ? "met" : "NOT met");
  std::printf(
      "  verified: every run, %lld final_response events for %lld distinct jobs, right "
      "content, 0 errors\n",
      static_cast<long long>(jobs), static_cast<long long>(jobs));

  std::printf(
      "latency: %lld sequential jobs, one at a time, each paired with a direct POST "
      "(medians of runs)\n",
      static_cast<long long>(latency_jobs));
  auto latLine = [](const char* label, const std::vector<double>& p50, const std::vector<double>& p99) {
    std::printf("  %-31s p50 %-9s p99 %-9s p50 %s\n", label, us(median(p50)).c_str(), us(median(p99)).c_str(),
                usList(p50).c_str());
  };
  latLine("llmqd submit -> final_response", l_p50, l_p99);
  latLine("baseline direct libcurl POST", d_p50, d_p99);
  latLine("added by llmqd (pair diff)", a_p50, a_p99);
  std::printf("  target added p50 < 200 µs: %s\n", median(a_p50) < 200 ? "met" : "NOT met");

  std::printf("streaming fan-out: %lld streamed jobs x %lld chunks, %lld subscribers to all events\n",
              static_cast<long long>(stream_jobs), static_cast<long long>(chunks),
              static_cast<long long>(subscribers));
  if (!cpu_per_m.empty()) {
    std::printf("  chunk events delivered          %lld per run (= jobs x chunks x subscribers)\n",
                static_cast<long long>(chunks_delivered));
    std::printf(
        "  lost or reordered: 0 (%zu runs: seq +1 per event, %lld chunks per job, "
        "final content = deltas)\n",
        cpu_per_m.size(), static_cast<long long>(chunks));
    std::printf("  %-31s median %-9s (runs:", "llmqd CPU s per 1M chunk events",
                fixed(median(cpu_per_m), 2).c_str());
    for (double x : cpu_per_m) {
      std::printf(" %.2f", x);
    }
    std::printf(")\n");
    printLine("chunk events delivered/s", median(chunk_rates), runsList(chunk_rates));
    std::printf("  %-31s median %.2f s of %.2f s (first submit to last final_response)\n",
                "10% of chunk events read after", median(tenth_at), median(upstream_done_at));
    std::printf("  llmqd peak RSS (VmHWM)          median %s\n",
                mib(static_cast<int64_t>(median(stream_hwm))).c_str());
  }
  if (!stream_failure.empty()) {
    std::printf("  FAILED %s\n", stream_failure.c_str());
  }
  std::printf(
      "llmqd RSS at the end of the last run: throughput %s (peak %s), latency %s (peak %s), "
      "stream %s\n",
      mib(thr_mem.rss_kib).c_str(), mib(thr_mem.hwm_kib).c_str(), mib(lat_mem.rss_kib).c_str(),
      mib(lat_mem.hwm_kib).c_str(),
      cpu_per_m.empty() ? "n/a (failed)" : (mib(str_mem.rss_kib) + " (peak " + mib(str_mem.hwm_kib) + ")").c_str());
  if (auto s = u.stop(); !s) {
    return fail("stopping nginx", s.error());
  }
  if (!stream_failure.empty()) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_upstream: FAILED streaming fan-out run (see above)\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
