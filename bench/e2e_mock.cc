// bench_e2e_mock: jobs/s from the first submit to the last final_response, with
// the built-in mock provider answering at once (no delays, 16 streamed tokens)
// and max_inflight = 256. One connection subscribes to every job's
// final_response and error events; a second pipelines the submits. Every job
// must end in exactly one final_response and no error, or the run fails. The
// baseline, measured in the same run, is the submit-only rate of the same
// requests with the queue paused, so the ratio shows what execution costs.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"

namespace llmq::bench {
namespace {

constexpr char kConfig[] = "[daemon]\nmax_inflight = 256\n[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\n";
constexpr int kMockTokens = 16;
// The event reader gives up after this long without an event.
constexpr double kEventStallSeconds = 60;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_e2e_mock: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

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

// What the event connection saw. Written by the reader thread only; read by the
// main thread after join().
struct EventTally {
  int64_t finals = 0;
  int64_t errors = 0;
  std::unordered_set<int64_t> final_ids;
  double last_final_at = 0;
  std::string first_error;
  std::string failure;  // Set when the reader stopped early.
};

void readEvents(ipc::Client& events, int64_t expected, const std::atomic<bool>& abort, EventTally& t) {
  double last_event = nowSeconds();
  while (t.finals + t.errors < expected && !abort) {
    auto line = events.readLine(200);
    if (!line) {
      t.failure = line.error().message;
      return;
    }
    if (!line->has_value()) {
      if (nowSeconds() - last_event > kEventStallSeconds) {
        t.failure = "no event for 60 s";
        return;
      }
      continue;
    }
    last_event = nowSeconds();
    std::string_view l = **line;
    size_t at = l.find(",\"event\":\"");
    if (at == std::string_view::npos) {
      continue;  // Not an event (nothing else is expected here).
    }
    std::string_view name = l.substr(at + 10);
    if (name.starts_with("final_response\"")) {
      ++t.finals;
      t.final_ids.insert(jobIdIn(l));
      t.last_final_at = last_event;
    } else if (name.starts_with("error\"")) {
      if (t.errors++ == 0) {
        t.first_error = std::string(l.substr(0, 400));
      }
    }
  }
}

struct E2eResult {
  double jobs_per_s = 0;
  double acks_per_s = 0;  // Submit acknowledgements/s while jobs execute.
};

Result<E2eResult> runE2e(const PipelineOptions& opts, MemoryUsage* mem) {
  auto daemon = BenchDaemon::start(kConfig);
  if (!daemon) {
    return daemon.takeError();
  }
  auto events = (*daemon)->connect();
  if (!events) {
    return events.takeError();
  }
  auto sub = (*events)->call("events.subscribe", R"({"all":true,"events":["final_response","error"]})", 10000);
  if (!sub) {
    return sub.takeError();
  }
  if (!sub->ok()) {
    return makeError(ErrorKind::kInternal, "events.subscribe failed: " + sub->error.message);
  }
  auto submits = (*daemon)->connect();
  if (!submits) {
    return submits.takeError();
  }

  EventTally tally;
  std::atomic<bool> abort{false};
  std::thread reader([&] { readEvents(**events, opts.jobs, abort, tally); });
  std::vector<int64_t> acked_ids;
  acked_ids.reserve(static_cast<size_t>(opts.jobs));
  auto res = pipelineSubmits(**submits, opts, [&](std::string_view line) { acked_ids.push_back(jobIdIn(line)); });
  if (!res) {
    abort = true;
  }
  reader.join();
  if (!res) {
    return res.takeError();
  }
  if (!tally.failure.empty()) {
    return makeError(ErrorKind::kIo, "event connection: " + tally.failure + " after " +
                                         std::to_string(tally.finals) + " final_response events");
  }
  std::string n = std::to_string(opts.jobs);
  if (tally.errors != 0) {
    return makeError(ErrorKind::kInternal,
                     std::to_string(tally.errors) + " error events; the first: " + tally.first_error);
  }
  if (tally.finals != opts.jobs || static_cast<int64_t>(tally.final_ids.size()) != opts.jobs) {
    return makeError(ErrorKind::kInternal, std::to_string(tally.finals) + " final_response events for " +
                                               std::to_string(tally.final_ids.size()) +
                                               " distinct jobs, expected " + n);
  }
  for (int64_t id : acked_ids) {
    if (!tally.final_ids.contains(id)) {
      return makeError(ErrorKind::kInternal, "acknowledged job " + std::to_string(id) + " has no final_response");
    }
  }
  auto succeeded = (*daemon)->jobsInState("succeeded");
  if (!succeeded) {
    return succeeded.takeError();
  }
  if (*succeeded != opts.jobs) {
    return makeError(ErrorKind::kInternal,
                     "daemon.status counts " + std::to_string(*succeeded) + " succeeded, expected " + n);
  }
  *mem = (*daemon)->memory();
  events->reset();
  submits->reset();
  if (auto s = (*daemon)->stop(); !s) {
    return s.takeError();
  }
  return E2eResult{.jobs_per_s = static_cast<double>(opts.jobs) / (tally.last_final_at - res->started_at),
                   .acks_per_s = res->perSecond()};
}

// The same requests to the same configuration, queue paused: submit cost only.
Result<PipelineResult> runPaused(const PipelineOptions& opts) {
  auto daemon = BenchDaemon::start(kConfig);
  if (!daemon) {
    return daemon.takeError();
  }
  if (auto p = (*daemon)->pauseQueue(); !p) {
    return p.takeError();
  }
  auto client = (*daemon)->connect();
  if (!client) {
    return client.takeError();
  }
  auto res = pipelineSubmits(**client, opts);
  client->reset();
  if (res) {
    if (auto s = (*daemon)->stop(); !s) {
      return s.takeError();
    }
  }
  return res;
}

int run(int argc, char** argv) {
  int64_t jobs = 100000;
  int64_t baseline_jobs = 0;
  int64_t window = 256;
  int64_t runs = 3;
  if (!parseFlags(argc, argv, "bench_e2e_mock",
                  {{"jobs", &jobs, 1, "jobs per end-to-end run"},
                   {"baseline-jobs", &baseline_jobs, 0, "jobs per paused baseline run; 0 = --jobs"},
                   {"window", &window, 1, "submits outstanding at most"},
                   {"runs", &runs, 1, "runs; each figure is the median"}})) {
    return 2;
  }
  Workload w{.execute = true, .mock_tokens = kMockTokens};
  PipelineOptions e2e_opts{.jobs = jobs, .window = window, .workload = w};
  PipelineOptions paused_opts{.jobs = baseline_jobs > 0 ? baseline_jobs : jobs, .window = window, .workload = w};
  std::printf("e2e-mock: %lld jobs, window %lld, %d streamed tokens, max_inflight 256, %lld runs\n",
              static_cast<long long>(jobs), static_cast<long long>(window), kMockTokens,
              static_cast<long long>(runs));
  std::vector<double> e2e_rates;
  std::vector<double> ack_rates;
  std::vector<double> paused_rates;
  MemoryUsage mem;
  for (int64_t r = 1; r <= runs; ++r) {
    auto paused = runPaused(paused_opts);
    if (!paused) {
      return fail("paused baseline", paused.error());
    }
    auto e2e = runE2e(e2e_opts, &mem);
    if (!e2e) {
      return fail("end-to-end run", e2e.error());
    }
    e2e_rates.push_back(e2e->jobs_per_s);
    ack_rates.push_back(e2e->acks_per_s);
    paused_rates.push_back(paused->perSecond());
    std::printf("  run %lld: end to end %s jobs/s (%.2f s)   acks during it %s/s   paused submit %s/s\n",
                static_cast<long long>(r), rate(e2e->jobs_per_s).c_str(),
                static_cast<double>(jobs) / e2e->jobs_per_s, rate(e2e->acks_per_s).c_str(),
                rate(paused->perSecond()).c_str());
  }
  double e = median(e2e_rates);
  printLine("llmqd end-to-end jobs/s", e, runsList(e2e_rates));
  printLine("  submit acks/s during e2e", median(ack_rates), runsList(ack_rates));
  printLine("baseline submit-only (paused)", median(paused_rates),
            ratio(e, median(paused_rates)) + "   " + runsList(paused_rates));
  std::printf("  verified: every run, %lld final_response events for %lld distinct jobs, 0 errors\n",
              static_cast<long long>(jobs), static_cast<long long>(jobs));
  std::printf("  llmqd RSS %s, peak %s (last run, after %lld finished jobs)\n", mib(mem.rss_kib).c_str(),
              mib(mem.hwm_kib).c_str(), static_cast<long long>(jobs));
  return 0;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
