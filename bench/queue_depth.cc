// bench_queue_depth: does llmqd slow down or grow with a deep queue? The queue
// lives in SQLite, not in RAM, so submitting and dispatching should cost about
// the same with a million jobs waiting as with none, and the daemon's memory
// should not grow with the backlog (bench/README.md).
//
// Prefill, once per run of the program: one llmqd, queue paused, takes
// --max-depth pipelined submits (the same requests as bench_e2e_mock: mock
// model, no delays, 16 streamed tokens); the time it takes is reported. The
// daemon is stopped cleanly at --mid-depth and at --max-depth, and each database
// file is kept as a template: the backlog is built by the daemon itself, so it is
// exactly what llmqd stores, with nothing written behind its back.
//
// Each run, for each depth D in 0, --mid-depth, --max-depth (interleaved, so
// machine noise hits every depth alike): a fresh llmqd on a copy of the template
// (an empty database for 0), queue paused, then
//   - startup: exec to READY=1;
//   - submit: --submits pipelined job.submit calls (window --window), each
//     acknowledged after its commit; daemon.status must then count D + submits
//     queued jobs;
//   - dispatch: queue.resume, and the time until --dispatch jobs have sent
//     their final_response (the oldest first: the backlog's own jobs when D > 0);
//   - memory: VmRSS of llmqd after the submits and after the dispatch, and its
//     peak (VmHWM).
// Every figure is the median of --runs runs, printed beside the same figure at
// depth 0 from the same run, with the ratio. Targets: the rates at --max-depth
// at least half those at depth 0, and RSS at --max-depth under 150 MiB.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"
#include "common/json.h"
#include "ipc/client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {
namespace {

constexpr char kConfig[] = "[daemon]\nmax_inflight = 256\n[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\n";
constexpr int kMockTokens = 16;
// Starting on a big database, and stopping with a big backlog, may take a while;
// both stay bounded.
constexpr int kStartTimeoutMs = 300000;
constexpr int kCallTimeoutMs = 60000;
// The dispatch reader gives up after this long without an event.
constexpr double kEventStallSeconds = 60;
// The prefill reports its rate per slice of this many jobs.
constexpr int64_t kPrefillSlice = 100000;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_queue_depth: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

Error error(const std::string& what) { return makeError(ErrorKind::kInternal, what); }

// "1000000" -> "1,000,000" for the headings.
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

// One llmqd on the database file at <dir>/llmq.db, which the caller may have put
// there before start(). Like BenchDaemon (whose temp dir is private), it honours
// LLMQ_BENCH_DAEMON. Destroying it kills and reaps the daemon if stop() did not,
// then removes the directory.
class DepthDaemon {
 public:
  explicit DepthDaemon(std::string seed_db) : proc_(dir_.path(), options()), seed_(std::move(seed_db)) {}

  // Copies the seed database (if any) into place, starts llmqd and waits for
  // READY=1; *seconds is the time from exec to READY=1.
  Result<void> start(double* seconds) {
    if (!seed_.empty() && !copied_) {
      std::error_code ec;
      for (const char* suffix : {"", "-wal"}) {
        std::string from = seed_ + suffix;
        if (suffix[0] != '\0' && !std::filesystem::exists(from)) {
          continue;
        }
        std::filesystem::copy_file(from, proc_.dbPath() + suffix, std::filesystem::copy_options::overwrite_existing,
                                   ec);
        if (ec) {
          return makeError(ErrorKind::kIo, "copying " + from + ": " + ec.message());
        }
      }
      copied_ = true;
    }
    double t0 = nowSeconds();
    if (auto r = proc_.start(kStartTimeoutMs); !r) {
      return makeError(ErrorKind::kIo, std::string("starting llmqd: ") + r.message());
    }
    *seconds = nowSeconds() - t0;
    return {};
  }

  Result<void> stop() {
    if (auto r = proc_.stop(kStartTimeoutMs); !r) {
      return makeError(ErrorKind::kIo, std::string("stopping llmqd: ") + r.message());
    }
    return {};
  }

  Result<std::unique_ptr<ipc::Client>> connect() { return ipc::Client::connect(proc_.socketPath()); }

  // A call that must succeed; its result is discarded.
  Result<void> call(const char* method, const char* params) {
    auto c = connect();
    if (!c) {
      return c.takeError();
    }
    auto r = (*c)->call(method, params, kCallTimeoutMs);
    if (!r) {
      return r.takeError();
    }
    if (!r->ok()) {
      return error(std::string(method) + " failed: " + r->error.message);
    }
    return {};
  }

  // daemon.status's count of queued jobs, and how long the call took.
  Result<int64_t> queued(double* call_seconds) {
    auto c = connect();
    if (!c) {
      return c.takeError();
    }
    double t0 = nowSeconds();
    auto r = (*c)->call("daemon.status", "{}", kCallTimeoutMs);
    *call_seconds = nowSeconds() - t0;
    if (!r) {
      return r.takeError();
    }
    const json::Value* queue = r->ok() ? json::member(*r->result, "queue") : nullptr;
    const json::Value* n = queue != nullptr ? json::member(*queue, "queued") : nullptr;
    if (n == nullptr || !n->IsInt64()) {
      return error("daemon.status has no queued count");
    }
    return n->GetInt64();
  }

  MemoryUsage memory() const { return readMemory(proc_.pid()); }
  const std::string& dbPath() const { return proc_.dbPath(); }
  std::string logTail() const {
    std::string log = proc_.log();
    return log.size() > 2000 ? log.substr(log.size() - 2000) : log;
  }

 private:
  static testing::DaemonOptions options() {
    testing::DaemonOptions o{.config_toml = kConfig};
    if (const char* path = std::getenv("LLMQ_BENCH_DAEMON"); path != nullptr && *path != '\0') {
      o.daemon_path = path;
    }
    return o;
  }

  // Declared first: the directory outlives the process that uses it.
  testing::TempDir dir_;
  testing::DaemonProcess proc_;
  std::string seed_;
  bool copied_ = false;
};

int64_t fileKib(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) / 1024 : 0;
}

// ---- prefill --------------------------------------------------------------

struct Template {
  int64_t depth = 0;
  std::string db;  // Empty for depth 0: a fresh database.
  int64_t db_kib = 0;
};

struct Prefill {
  testing::TempDir dir;  // Holds the templates' database files.
  std::vector<Template> templates;
  double seconds = 0;           // Submitting only (not the stops and copies).
  double first_slice_rate = 0;  // Submits/s over the first and the last slice.
  double last_slice_rate = 0;
  int64_t first_slice = 0;
  int64_t last_slice = 0;
};

// Copies the stopped daemon's database (and its WAL, if one was left) to `to`.
Result<void> keepDatabase(const DepthDaemon& d, const std::string& to) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    std::string from = d.dbPath() + suffix;
    if (suffix[0] != '\0' && !std::filesystem::exists(from)) {
      continue;
    }
    std::filesystem::copy_file(from, to + suffix, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      return makeError(ErrorKind::kIo, "copying " + from + ": " + ec.message());
    }
  }
  return {};
}

// Builds a template for every depth in `depths` (ascending, > 0) with one daemon,
// stopping it at each depth to copy its database.
Result<void> prefill(const std::vector<int64_t>& depths, int64_t window, Prefill* out) {
  DepthDaemon d("");
  double start_s = 0;
  if (auto r = d.start(&start_s); !r) {
    return r;
  }
  if (auto r = d.call("queue.pause", "{}"); !r) {
    return r;
  }
  Workload w{.execute = true, .mock_tokens = kMockTokens};
  int64_t have = 0;
  for (int64_t depth : depths) {
    auto client = d.connect();
    if (!client) {
      return client.takeError();
    }
    while (have < depth) {
      int64_t n = std::min(kPrefillSlice, depth - have);
      PipelineOptions opts{.jobs = n, .window = window, .workload = w};
      auto res = pipelineSubmits(**client, opts);
      if (!res) {
        return makeError(ErrorKind::kIo, "prefill at " + std::to_string(have) + " jobs: " + res.error().message +
                                             "\n  llmqd log tail:\n" + d.logTail());
      }
      out->seconds += res->seconds;
      if (have == 0) {
        out->first_slice_rate = res->perSecond();
        out->first_slice = n;
      }
      out->last_slice_rate = res->perSecond();
      out->last_slice = n;
      have += n;
    }
    client->reset();
    double call_s = 0;
    auto queued = d.queued(&call_s);
    if (!queued) {
      return queued.takeError();
    }
    if (*queued != depth) {
      return error("after the prefill to " + std::to_string(depth) + " llmqd holds " + std::to_string(*queued) +
                   " queued jobs");
    }
    if (auto r = d.stop(); !r) {
      return r;
    }
    Template t{.depth = depth, .db = out->dir.file("depth-" + std::to_string(depth) + ".db")};
    if (auto r = keepDatabase(d, t.db); !r) {
      return r;
    }
    t.db_kib = fileKib(t.db) + fileKib(t.db + "-wal");
    out->templates.push_back(t);
    if (depth != depths.back()) {
      if (auto r = d.start(&start_s); !r) {
        return r;
      }
    }
  }
  return {};
}

// ---- one measurement at one depth ----------------------------------------

struct DepthResult {
  double start_s = 0;
  double submit_rate = 0;
  double status_s = 0;  // daemon.status with D + submits queued.
  double dispatch_rate = 0;
  MemoryUsage after_start;
  MemoryUsage after_submit;
  MemoryUsage after_dispatch;  // Its hwm_kib is the peak of the whole run.
};

// Reads final_response/error events until `want` final_responses; returns when
// the last one arrived.
Result<double> awaitFinals(ipc::Client& events, int64_t want) {
  int64_t finals = 0;
  double last_event = nowSeconds();
  while (finals < want) {
    auto line = events.readLine(200);
    if (!line) {
      return line.takeError();
    }
    if (!line->has_value()) {
      if (nowSeconds() - last_event > kEventStallSeconds) {
        return error("no event for 60 s after " + std::to_string(finals) + " final_response events");
      }
      continue;
    }
    last_event = nowSeconds();
    std::string_view l = **line;
    size_t at = l.find(",\"event\":\"");
    if (at == std::string_view::npos) {
      continue;
    }
    std::string_view name = l.substr(at + 10);
    if (name.starts_with("final_response\"")) {
      ++finals;
    } else if (name.starts_with("error\"")) {
      return error("a job failed: " + std::string(l.substr(0, 400)));
    }
  }
  return last_event;
}

Result<DepthResult> measure(const Template& t, int64_t submits, int64_t dispatch, int64_t window) {
  DepthResult out;
  DepthDaemon d(t.db);
  if (auto r = d.start(&out.start_s); !r) {
    return r.takeError();
  }
  auto withLog = [&](Error e) {
    e.message += "\n  llmqd log tail:\n" + d.logTail();
    return e;
  };
  out.after_start = d.memory();
  // A template remembers its paused queue; a fresh database needs the pause.
  if (auto r = d.call("queue.pause", "{}"); !r) {
    return r.takeError();
  }

  // Submit.
  {
    auto client = d.connect();
    if (!client) {
      return client.takeError();
    }
    Workload w{.execute = true, .mock_tokens = kMockTokens};
    PipelineOptions opts{.jobs = submits, .window = window, .workload = w};
    auto res = pipelineSubmits(**client, opts);
    if (!res) {
      return withLog(res.takeError());
    }
    out.submit_rate = res->perSecond();
  }
  out.after_submit = d.memory();
  auto queued = d.queued(&out.status_s);
  if (!queued) {
    return queued.takeError();
  }
  if (*queued != t.depth + submits) {
    return withLog(error("llmqd holds " + std::to_string(*queued) + " queued jobs, expected " +
                         std::to_string(t.depth + submits)));
  }

  // Dispatch: the oldest `dispatch` jobs, from queue.resume to their final_response.
  {
    auto events = d.connect();
    if (!events) {
      return events.takeError();
    }
    auto sub =
        (*events)->call("events.subscribe", R"({"all":true,"events":["final_response","error"]})", kCallTimeoutMs);
    if (!sub || !sub->ok()) {
      return withLog(error("events.subscribe failed"));
    }
    auto control = d.connect();
    if (!control) {
      return control.takeError();
    }
    double t0 = nowSeconds();
    auto resumed = (*control)->call("queue.resume", "{}", kCallTimeoutMs);
    if (!resumed || !resumed->ok()) {
      return withLog(error("queue.resume failed"));
    }
    auto last = awaitFinals(**events, dispatch);
    if (!last) {
      return withLog(last.takeError());
    }
    out.dispatch_rate = static_cast<double>(dispatch) / (*last - t0);
    out.after_dispatch = d.memory();
    // Quiet the daemon before it stops; the rest of the backlog stays queued.
    auto paused = (*control)->call("queue.pause", "{}", kCallTimeoutMs);
    if (!paused || !paused->ok()) {
      return withLog(error("queue.pause after the dispatch failed"));
    }
  }
  if (auto r = d.stop(); !r) {
    return withLog(r.takeError());
  }
  return out;
}

// ---- report ---------------------------------------------------------------

std::string depthLabel(int64_t depth) {
  return "at " + grouped(depth) + " queued" + (depth == 0 ? " (baseline)" : "");
}

std::string verdict(bool met) { return met ? "met" : "NOT met"; }

// One rate per depth, each beside depth 0's.
void printRates(const std::vector<Template>& ts, const std::vector<std::vector<double>>& rates, bool with_target) {
  double base = median(rates[0]);
  for (size_t i = 0; i < ts.size(); ++i) {
    double m = median(rates[i]);
    std::string extra = i == 0 ? runsList(rates[i]) : ratio(m, base) + "   " + runsList(rates[i]);
    if (with_target && i + 1 == ts.size() && i > 0) {
      extra += "   target ratio >= 0.50: " + verdict(m >= 0.5 * base);
    }
    printLine(depthLabel(ts[i].depth), m, extra);
  }
}

std::string mibOf(double kib) { return mib(static_cast<int64_t>(kib)); }

std::vector<double> pick(const std::vector<DepthResult>& rs, double (*f)(const DepthResult&)) {
  std::vector<double> v;
  for (const auto& r : rs) {
    v.push_back(f(r));
  }
  return v;
}

int run(int argc, char** argv) {
  int64_t mid_depth = 100000;
  int64_t max_depth = 1000000;
  int64_t submits = 50000;
  int64_t dispatch = 50000;
  int64_t window = 256;
  int64_t runs = 3;
  if (!parseFlags(argc, argv, "bench_queue_depth",
                  {{"max-depth", &max_depth, 1, "deepest backlog of queued jobs"},
                   {"mid-depth", &mid_depth, 0, "a backlog between 0 and --max-depth; 0 = none"},
                   {"submits", &submits, 1, "pipelined submits measured per run and depth"},
                   {"dispatch", &dispatch, 1, "jobs timed from queue.resume to final_response"},
                   {"window", &window, 1, "submits outstanding at most"},
                   {"runs", &runs, 1, "runs; each figure is the median"}})) {
    return 2;
  }
  if (dispatch > submits) {
    std::fprintf(stderr,
                 "bench_queue_depth: --dispatch (%lld) must not exceed --submits (%lld): at "
                 "depth 0 only the submitted jobs are queued\n",
                 static_cast<long long>(dispatch), static_cast<long long>(submits));
    return 2;
  }
  std::vector<int64_t> depths;
  if (mid_depth > 0 && mid_depth < max_depth) {
    depths.push_back(mid_depth);
  }
  depths.push_back(max_depth);

  std::printf(
      "queue-depth: backlogs of 0 / %s queued jobs (queue paused); per run and depth: %s "
      "pipelined submits (window %lld), then the first %s jobs dispatched after "
      "queue.resume (mock, no delays, %d streamed tokens, max_inflight 256); %lld runs\n",
      [&] {
        std::string s;
        for (int64_t dep : depths) {
          s += (s.empty() ? "" : " / ") + grouped(dep);
        }
        return s;
      }()
          .c_str(),
      grouped(submits).c_str(), static_cast<long long>(window), grouped(dispatch).c_str(), kMockTokens,
      static_cast<long long>(runs));
  std::fflush(stdout);

  Prefill pre;
  if (auto r = prefill(depths, window, &pre); !r) {
    return fail("prefill", r.error());
  }
  // ts[0] is depth 0: a fresh database.
  std::vector<Template> ts(pre.templates.size() + 1);
  std::copy(pre.templates.begin(), pre.templates.end(), ts.begin() + 1);
  std::printf(
      "prefill through llmqd (queue paused, pipelined): %s jobs in %.1f s, %s/s (first %s "
      "at %s/s, last %s at %s/s); database %s\n",
      grouped(max_depth).c_str(), pre.seconds, rate(static_cast<double>(max_depth) / pre.seconds).c_str(),
      grouped(pre.first_slice).c_str(), rate(pre.first_slice_rate).c_str(), grouped(pre.last_slice).c_str(),
      rate(pre.last_slice_rate).c_str(), mib(ts.back().db_kib).c_str());
  std::fflush(stdout);

  std::vector<std::vector<DepthResult>> results(ts.size());
  for (int64_t r = 1; r <= runs; ++r) {
    std::string line = "  run " + std::to_string(r) + ":";
    for (size_t i = 0; i < ts.size(); ++i) {
      auto res = measure(ts[i], submits, dispatch, window);
      if (!res) {
        return fail("run " + std::to_string(r) + " at depth " + std::to_string(ts[i].depth), res.error());
      }
      results[i].push_back(*res);
      line += (i == 0 ? " " : " | ") + grouped(ts[i].depth) + ": submit " + rate(res->submit_rate) +
              "/s, dispatch " + rate(res->dispatch_rate) + "/s, RSS " + mib(res->after_submit.rss_kib);
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  std::vector<std::vector<double>> submit_rates;
  std::vector<std::vector<double>> dispatch_rates;
  for (const auto& rs : results) {
    submit_rates.push_back(pick(rs, [](const DepthResult& x) { return x.submit_rate; }));
    dispatch_rates.push_back(pick(rs, [](const DepthResult& x) { return x.dispatch_rate; }));
  }
  std::printf("submits/s (acknowledged after commit, queue paused):\n");
  printRates(ts, submit_rates, true);
  std::printf("dispatched jobs/s (queue.resume to the %s-th final_response, oldest first):\n",
              grouped(dispatch).c_str());
  printRates(ts, dispatch_rates, true);

  std::printf("llmqd memory (medians; VmRSS after the submits, after the dispatch, and the peak VmHWM):\n");
  double base_rss =
      median(pick(results[0], [](const DepthResult& x) { return static_cast<double>(x.after_submit.rss_kib); }));
  for (size_t i = 0; i < ts.size(); ++i) {
    const auto& rs = results[i];
    double rss = median(pick(rs, [](const DepthResult& x) { return static_cast<double>(x.after_submit.rss_kib); }));
    double rss_d =
        median(pick(rs, [](const DepthResult& x) { return static_cast<double>(x.after_dispatch.rss_kib); }));
    double hwm =
        median(pick(rs, [](const DepthResult& x) { return static_cast<double>(x.after_dispatch.hwm_kib); }));
    std::string extra = i == 0 ? "" : "   ratio " + fixed(rss / base_rss, 2);
    if (i + 1 == ts.size() && i > 0) {
      extra += "   target peak < 150 MiB: " + verdict(hwm < 150 * 1024);
    }
    std::printf("  %-31s RSS %-10s after dispatch %-10s peak %s%s\n", depthLabel(ts[i].depth).c_str(),
                mibOf(rss).c_str(), mibOf(rss_d).c_str(), mibOf(hwm).c_str(), extra.c_str());
  }
  std::printf("startup (exec to READY=1) and one daemon.status call (medians):\n");
  double base_start = median(pick(results[0], [](const DepthResult& x) { return x.start_s; }));
  for (size_t i = 0; i < ts.size(); ++i) {
    double s = median(pick(results[i], [](const DepthResult& x) { return x.start_s; }));
    double st = median(pick(results[i], [](const DepthResult& x) { return x.status_s; }));
    std::string vs = i == 0 ? "" : " (" + ratio(s, base_start) + ")";
    std::string db = i == 0 ? "" : "   database " + mib(ts[i].db_kib);
    std::printf("  %-31s start %s s%s   daemon.status %s ms%s\n", depthLabel(ts[i].depth).c_str(),
                fixed(s, 3).c_str(), vs.c_str(), fixed(st * 1000, 1).c_str(), db.c_str());
  }
  std::printf(
      "  verified: every run and depth, daemon.status counted depth + %s queued after the "
      "submits; %s final_response events and 0 errors after queue.resume\n",
      grouped(submits).c_str(), grouped(dispatch).c_str());
  return 0;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
