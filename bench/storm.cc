// bench_storm: a 429 storm. The fake OpenRouter
// (tests/fake_upstream) lets each key make --key-rps requests per sliding second
// and answers the rest with OpenRouter's key-level 429 (Retry-After, reset
// header). llmqd gets --keys keys in OPENROUTER_API_KEYS and --jobs jobs submitted
// at once (pipelined, window 256, max_inflight 256). Per mode, the median of
// --runs runs of:
//   - total time from the first submit to the last job ending, against the ideal
//     (jobs / (keys * key_rps)) seconds: the baseline no scheduler can beat;
//   - 429s received, as a share of all requests the fake saw (target: < 1%);
//   - jobs lost: submitted minus (succeeded + failed); jobs failed.
// Modes: "limits" configures [[limits.key]] rps = --key-rps (what an operator
// who knows the provider's limit does); "learn" configures nothing and relies on
// the 429 cooldowns alone (what the daemon does when it has not been told).
// Every wait is bounded; the fake and the daemon are stopped on every path.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"
#include "common/json.h"
#include "tests/support/fake_upstream_process.h"

namespace llmq::bench {
namespace {

struct Options {
  int64_t jobs = 20000;
  int64_t keys = 4;
  int64_t key_rps = 50;
  int64_t runs = 3;
  int64_t learn = 1;  // Also run the "learn" mode.
};

struct RunResult {
  double seconds = 0;
  int64_t requests = 0;
  int64_t rate_limited = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t lost = 0;
};

std::string keyList(int64_t n) {
  std::string v = "[";
  for (int64_t i = 0; i < n; ++i) {
    char key[80];
    std::snprintf(key, sizeof key, "\"sk-or-v1-test%04lld%s\"", static_cast<long long>(i),
                  "0000000000000000000000000000000000000000");
    v += i > 0 ? "," : "";
    v += key;
  }
  return v + "]";
}

Result<RunResult> runOnce(const Options& o, bool limits) {
  testing::FakeUpstream fake;
  if (auto r = fake.start(); !r) {
    return makeError(ErrorKind::kIo, std::string("fake upstream: ") + r.message());
  }
  if (auto r = fake.setRateLimit(static_cast<int>(o.key_rps)); !r) {
    return makeError(ErrorKind::kIo, r.message());
  }
  std::string toml = "[daemon]\nmax_inflight = 256\nlog_level = \"warning\"\n";
  if (limits) {
    toml += "[[limits.key]]\nmatch = \"pool-*\"\nrps = " + std::to_string(o.key_rps) + "\n";
  }
  auto daemon =
      BenchDaemon::start(toml, {"OPENROUTER_API_KEYS=" + keyList(o.keys), "OPENROUTER_BASE_URL=" + fake.baseUrl()});
  if (!daemon) {
    return daemon.takeError();
  }
  auto client = (*daemon)->connect();
  if (!client) {
    return client.takeError();
  }
  PipelineOptions p;
  p.jobs = o.jobs;
  p.window = 256;
  p.workload.model = "openai/gpt-4o-mini";
  auto submitted = pipelineSubmits(**client, p);
  if (!submitted) {
    return submitted.takeError();
  }
  const double ideal = static_cast<double>(o.jobs) / static_cast<double>(o.keys * o.key_rps);
  const double give_up = submitted->started_at + ideal * 5 + 60;
  RunResult out;
  for (;;) {
    auto ok = (*daemon)->jobsInState("succeeded");
    auto bad = (*daemon)->jobsInState("failed");
    if (!ok || !bad) {
      return makeError(ErrorKind::kIo, "daemon.status failed");
    }
    out.succeeded = *ok;
    out.failed = *bad;
    out.seconds = nowSeconds() - submitted->started_at;
    if (out.succeeded + out.failed >= o.jobs || nowSeconds() > give_up) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  out.lost = o.jobs - out.succeeded - out.failed;
  if (out.lost > 0) {
    // Say where the missing jobs are before the daemon goes.
    if (auto c = (*daemon)->connect(); c) {
      if (auto st = (*c)->call("daemon.status", "{}", 10000); st && st->ok()) {
        std::fprintf(stderr, "bench_storm: gave up; daemon.status: %s\n", json::toString(*st->result).c_str());
      }
    }
  }
  testing::FakeStats stats = fake.stats();
  out.requests = static_cast<int64_t>(stats.total);
  out.rate_limited = static_cast<int64_t>(stats.rate_limited);
  client->reset();
  if (auto r = (*daemon)->stop(); !r) {
    return r.takeError();
  }
  (void)fake.stop();
  return out;
}

int run(const Options& o) {
  const double ideal = static_cast<double>(o.jobs) / static_cast<double>(o.keys * o.key_rps);
  std::printf("bench_storm: %lld jobs, %lld keys x %lld req/s at the fake upstream, %lld runs\n",
              static_cast<long long>(o.jobs), static_cast<long long>(o.keys), static_cast<long long>(o.key_rps),
              static_cast<long long>(o.runs));
  std::printf("ideal (jobs / total allowed rate): %.1f s\n\n", ideal);
  int status = 0;
  for (bool limits : {true, false}) {
    if (!limits && o.learn == 0) {
      continue;
    }
    const char* mode = limits ? "limits" : "learn";
    std::vector<double> secs, share, lost, failed, requests;
    for (int64_t i = 0; i < o.runs; ++i) {
      auto r = runOnce(o, limits);
      if (!r) {
        std::fprintf(stderr, "bench_storm: %s run %lld: %s\n", mode, static_cast<long long>(i + 1),
                     r.error().message.c_str());
        return 1;
      }
      secs.push_back(r->seconds);
      requests.push_back(static_cast<double>(r->requests));
      share.push_back(
          r->requests > 0 ? 100.0 * static_cast<double>(r->rate_limited) / static_cast<double>(r->requests) : 0);
      lost.push_back(static_cast<double>(r->lost));
      failed.push_back(static_cast<double>(r->failed));
      std::printf(
          "  %-6s run %lld: %.1f s, %lld requests, %lld 429s (%.2f%%), %lld succeeded, "
          "%lld failed, %lld lost\n",
          mode, static_cast<long long>(i + 1), r->seconds, static_cast<long long>(r->requests),
          static_cast<long long>(r->rate_limited), share.back(), static_cast<long long>(r->succeeded),
          static_cast<long long>(r->failed), static_cast<long long>(r->lost));
      if (r->lost > 0) {
        status = 1;
      }
    }
    std::printf(
        "%-6s: total %.1f s (ideal %.1f s, ratio %.2f), 429s %.2f%% of %lld requests, "
        "%lld failed, %lld lost  (medians)\n\n",
        mode, median(secs), ideal, ideal / median(secs), median(share), static_cast<long long>(median(requests)),
        static_cast<long long>(median(failed)), static_cast<long long>(median(lost)));
  }
  return status;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) {
  llmq::bench::Options o;
  if (!llmq::bench::parseFlags(
          argc, argv, "bench_storm",
          {{"jobs", &o.jobs, 1, "jobs submitted at once (default 20000)"},
           {"keys", &o.keys, 1, "server keys in the pool (default 4)"},
           {"key-rps", &o.key_rps, 1, "requests per second the fake allows each key (default 50)"},
           {"runs", &o.runs, 1, "runs per mode; medians are reported (default 3)"},
           {"learn", &o.learn, 0, "1: also run without configured limits (default 1)"}})) {
    return 2;
  }
  return llmq::bench::run(o);
}
