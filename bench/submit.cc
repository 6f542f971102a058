// bench_submit: how many job.submit calls per second llmqd acknowledges (each
// answer is sent only after its SQLite commit), with the queue paused so nothing
// runs. One client pipelines --jobs submits with --window outstanding. Beside it,
// measured in the same run: the transport ceiling (the same client against an
// in-process echo responder) and the storage ceiling (plain SQLite inserts of the
// same rows, 256 per transaction). See bench/README.md.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/echo_responder.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"
#include "bench/support/sqlite_baseline.h"

namespace llmq::bench {
namespace {

constexpr int64_t kSqliteBatch = 256;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_submit: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

// The transport ceiling: the same client and framing against EchoResponder.
Result<PipelineResult> runEcho(const PipelineOptions& opts) {
  EchoResponder echo;
  if (auto r = echo.start(); !r) {
    return r.takeError();
  }
  auto client = ipc::Client::connect(echo.socketPath());
  if (!client) {
    return client.takeError();
  }
  return pipelineSubmits(**client, opts);
}

// llmqd in a fresh temp dir, queue paused; also samples its memory at the end.
Result<PipelineResult> runDaemon(const PipelineOptions& opts, MemoryUsage* mem) {
  auto daemon = BenchDaemon::start("");
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
  if (!res) {
    return res;
  }
  auto queued = (*daemon)->jobsInState("queued");
  if (!queued) {
    return queued.takeError();
  }
  if (*queued != opts.jobs) {
    return makeError(ErrorKind::kInternal, "llmqd acknowledged " + std::to_string(opts.jobs) +
                                               " submits but holds " + std::to_string(*queued) + " queued jobs");
  }
  *mem = (*daemon)->memory();
  client->reset();
  if (auto s = (*daemon)->stop(); !s) {
    return s.takeError();
  }
  return res;
}

int run(int argc, char** argv) {
  int64_t jobs = 100000;
  int64_t window = 256;
  int64_t runs = 3;
  if (!parseFlags(argc, argv, "bench_submit",
                  {{"jobs", &jobs, 1, "job.submit calls per run"},
                   {"window", &window, 1, "requests outstanding at most"},
                   {"runs", &runs, 1, "runs; each figure is the median"}})) {
    return 2;
  }
  PipelineOptions opts{.jobs = jobs, .window = window};
  std::vector<double> daemon_rates;
  std::vector<double> echo_rates;
  std::vector<double> sqlite_rates;
  MemoryUsage mem;
  std::printf("submit: %lld jobs, window %lld, %lld runs\n", static_cast<long long>(jobs),
              static_cast<long long>(window), static_cast<long long>(runs));
  // Interleaved per run, so machine noise hits the three figures alike.
  for (int64_t r = 1; r <= runs; ++r) {
    auto echo = runEcho(opts);
    if (!echo) {
      return fail("echo baseline", echo.error());
    }
    auto sql = sqliteInserts(opts.workload, jobs, kSqliteBatch);
    if (!sql) {
      return fail("sqlite baseline", sql.error());
    }
    auto daemon = runDaemon(opts, &mem);
    if (!daemon) {
      return fail("llmqd run", daemon.error());
    }
    echo_rates.push_back(echo->perSecond());
    sqlite_rates.push_back(sql->perSecond());
    daemon_rates.push_back(daemon->perSecond());
    std::printf("  run %lld: llmqd %s/s (%.2f s)   echo %s/s   sqlite %s/s\n", static_cast<long long>(r),
                rate(daemon->perSecond()).c_str(), daemon->seconds, rate(echo->perSecond()).c_str(),
                rate(sql->perSecond()).c_str());
  }
  double d = median(daemon_rates);
  printLine("llmqd acknowledged submits/s", d, runsList(daemon_rates));
  printLine("baseline echo over same socket", median(echo_rates),
            ratio(d, median(echo_rates)) + "   " + runsList(echo_rates));
  printLine("baseline sqlite inserts", median(sqlite_rates),
            ratio(d, median(sqlite_rates)) + "   " + runsList(sqlite_rates));
  std::printf("  llmqd RSS %s, peak %s (last run, after %lld queued jobs)\n", mib(mem.rss_kib).c_str(),
              mib(mem.hwm_kib).c_str(), static_cast<long long>(jobs));
  return 0;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
