// bench_http_front: the OpenAI-compatible HTTP front under wrk. The same POST
// /chat/completions, the same canned nginx upstream (bench/support/nginx.h):
//   baseline  wrk -t2 -c64 straight at nginx;
//   llmqd     wrk -t2 -c64 at llmqd's /v1/chat/completions, which makes each
//             request a job (persisted, rate-limited, accounted) and forwards it
//             to that nginx.
// Requests/s ratio and the added p50/p99 latency, medians of --runs runs, each
// run measuring both. After each llmqd run the jobs are counted: every request
// wrk completed must be a succeeded job.
// Every wait is bounded; every process is stopped and reaped, also on failure.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/nginx.h"
#include "bench/support/report.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {
namespace {

constexpr char kToken[] = "bench-token-0123456789abcdef";
constexpr int kWrkThreads = 2;
constexpr int kWrkConnections = 64;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_http_front: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

struct WrkResult {
  double requests_per_s = 0;
  int64_t requests = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// "1.23ms" -> 1230.
double toMicros(const std::string& text) {
  const double v = std::atof(text.c_str());
  if (text.find("us") != std::string::npos) {
    return v;
  }
  if (text.find("ms") != std::string::npos) {
    return v * 1000;
  }
  if (text.find('s') != std::string::npos) {
    return v * 1e6;
  }
  return v;
}

double percentileLine(const std::string& out, const char* label) {
  const size_t at = out.find(label);
  if (at == std::string::npos) {
    return 0;
  }
  size_t p = at + std::string(label).size();
  while (p < out.size() && out[p] == ' ') {
    ++p;
  }
  return toMicros(out.substr(p, out.find('\n', p) - p));
}

Result<WrkResult> runWrk(const std::string& url, const std::string& lua, int seconds) {
  std::string wrk = "/usr/bin/wrk";
  if (const char* p = std::getenv("LLMQ_BENCH_WRK"); p != nullptr && *p != '\0') {
    wrk = p;
  }
  auto r = testing::runCommand({wrk, "-t" + std::to_string(kWrkThreads), "-c" + std::to_string(kWrkConnections),
                                "-d" + std::to_string(seconds) + "s", "--latency", "-s", lua, url},
                               "", {}, (seconds + 30) * 1000);
  const std::string& out = r.output;
  const size_t at = out.find("Requests/sec:");
  if (r.exit_code != 0 || at == std::string::npos) {
    return makeError(ErrorKind::kIo, "wrk exited with " + std::to_string(r.exit_code) + ": " + out);
  }
  if (out.find("Non-2xx") != std::string::npos) {
    return makeError(ErrorKind::kInternal, "wrk saw non-2xx answers: " + out);
  }
  WrkResult w;
  w.requests_per_s = std::atof(out.c_str() + at + 13);
  if (size_t n = out.find(" requests in "); n != std::string::npos) {
    size_t b = out.rfind('\n', n);
    w.requests = std::atoll(out.c_str() + (b == std::string::npos ? 0 : b + 1));
  }
  w.p50_us = percentileLine(out, " 50%");
  w.p99_us = percentileLine(out, " 99%");
  return w;
}

std::string us(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f µs", v);
  return buf;
}

}  // namespace

int run(int argc, char** argv) {
  int64_t runs = 3;
  int64_t seconds = 5;
  if (!parseFlags(argc, argv, "bench_http_front",
                  {{"runs", &runs, 1, "runs; each figure is the median"},
                   {"seconds", &seconds, 1, "wrk duration per measurement"}})) {
    return 2;
  }
  auto up = CannedUpstream::start({.sse_chunks = 8});
  if (!up) {
    return fail("starting the canned nginx upstream", up.error());
  }
  CannedUpstream& u = **up;
  const std::string body =
      R"({"model":"bench/json","messages":[{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16})";
  testing::TempDir lua_dir;
  const std::string direct_lua = lua_dir.file("direct.lua");
  const std::string front_lua = lua_dir.file("front.lua");
  std::ofstream(direct_lua) << "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
                            << "wrk.body = [==[" << body << "]==]\n";
  std::ofstream(front_lua) << "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
                           << "wrk.headers[\"Authorization\"] = \"Bearer " << kToken << "\"\n"
                           << "wrk.body = [==[" << body << "]==]\n";
  const std::string config = std::string("[daemon]\nmax_inflight = 256\n") +
                             "[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"" + kToken + "\"\n" +
                             "[[providers]]\nname = \"canned\"\nbase_url = \"" + u.url("/json") + "\"\n" +
                             "models = [\"bench/json*\"]\nstream_usage = false\n";

  std::printf("http front: wrk -t%d -c%d -d%llds, canned nginx (1 worker) on 127.0.0.1:%d, %lld runs\n",
              kWrkThreads, kWrkConnections, static_cast<long long>(seconds), u.port(),
              static_cast<long long>(runs));
  std::fflush(stdout);
  std::vector<double> direct_rate, front_rate, direct_p50, direct_p99, front_p50, front_p99, cpu_per_req;
  for (int64_t r = 1; r <= runs; ++r) {
    auto direct = runWrk(u.url("/json/chat/completions"), direct_lua, static_cast<int>(seconds));
    if (!direct) {
      return fail("wrk against nginx", direct.error());
    }
    auto d = BenchDaemon::start(config);
    if (!d) {
      return fail("starting llmqd", d.error());
    }
    const std::string log = (*d)->log();
    const std::string marker = "API on http://127.0.0.1:";
    const size_t at = log.find(marker);
    if (at == std::string::npos) {
      return fail("finding the HTTP port", makeError(ErrorKind::kInternal, log));
    }
    const int port = std::atoi(log.c_str() + at + marker.size());
    const double cpu0 = (*d)->cpuSeconds();
    auto front = runWrk("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions", front_lua,
                        static_cast<int>(seconds));
    if (!front) {
      return fail("wrk against llmqd", front.error());
    }
    const double cpu = (*d)->cpuSeconds() - cpu0;
    auto succeeded = (*d)->jobsInState("succeeded");
    if (!succeeded) {
      return fail("counting jobs", succeeded.error());
    }
    if (*succeeded < front->requests) {
      return fail("checking the jobs",
                  makeError(ErrorKind::kInternal, "wrk completed " + std::to_string(front->requests) +
                                                      " requests but only " + std::to_string(*succeeded) +
                                                      " jobs succeeded"));
    }
    if (auto s = (*d)->stop(); !s) {
      return fail("stopping llmqd", s.error());
    }
    direct_rate.push_back(direct->requests_per_s);
    front_rate.push_back(front->requests_per_s);
    direct_p50.push_back(direct->p50_us);
    direct_p99.push_back(direct->p99_us);
    front_p50.push_back(front->p50_us);
    front_p99.push_back(front->p99_us);
    cpu_per_req.push_back(front->requests > 0 ? cpu * 1e6 / static_cast<double>(front->requests) : 0);
    std::printf(
        "  run %lld: nginx %s req/s (p50 %s) | via llmqd %s req/s (p50 %s), %lld requests = "
        "%lld succeeded jobs, llmqd %.0f CPU µs/request\n",
        static_cast<long long>(r), rate(direct->requests_per_s).c_str(), us(direct->p50_us).c_str(),
        rate(front->requests_per_s).c_str(), us(front->p50_us).c_str(), static_cast<long long>(front->requests),
        static_cast<long long>(*succeeded), cpu_per_req.back());
    std::fflush(stdout);
  }
  const double fr = median(front_rate);
  const double dr = median(direct_rate);
  std::printf("summary (medians of %lld runs)\n", static_cast<long long>(runs));
  printLine("POST /v1/chat/completions via llmqd", fr, ratio(fr, dr) + "   " + runsList(front_rate));
  printLine("baseline nginx direct (wrk)", dr, runsList(direct_rate));
  std::printf("  target ratio >= 0.20: %s\n", fr >= 0.2 * dr ? "met" : "NOT met");
  std::printf("  latency p50: via llmqd %s, direct %s, added %s\n", us(median(front_p50)).c_str(),
              us(median(direct_p50)).c_str(), us(median(front_p50) - median(direct_p50)).c_str());
  std::printf("  latency p99: via llmqd %s, direct %s, added %s\n", us(median(front_p99)).c_str(),
              us(median(direct_p99)).c_str(), us(median(front_p99) - median(direct_p99)).c_str());
  std::printf("  llmqd CPU per request: median %.0f µs; every completed request was a succeeded job\n",
              median(cpu_per_req));
  if (auto s = u.stop(); !s) {
    return fail("stopping nginx", s.error());
  }
  return 0;
}

}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
