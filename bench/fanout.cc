// bench_fanout: --subscribers connections (default 1,000) each subscribed to
// every event of every job (events.subscribe {"all": true}) while --jobs streamed
// mock jobs (default 1,000, --tokens chunks each) run. Each subscriber checks,
// per job, that seq grows by exactly one from the first event (queued, seq 1) to
// final_response, and that it saw every job end; every subscriber must receive
// the same number of events as the single subscriber of the baseline. The
// benchmark's readers are --reader-threads epoll loops over nonblocking sockets,
// so the client side costs a few syscalls per burst, not a thread per connection.
//
// Per run, each phase on a fresh llmqd (max_inflight 256, mock with no delays):
//   1. burst, 1 subscriber (baseline): the jobs pipelined at once (window 256);
//   2. burst, N subscribers: the same jobs. Figures: events delivered per second
//      to all subscribers together (first submit to the last event read), the
//      lag of each event (its "ts" against the wall clock when it was read: under
//      a burst this is the backlog), llmqd CPU per delivered event, and llmqd's
//      RSS (VmHWM, the peak, and VmRSS at the end);
//   3. paced, N subscribers: --paced-jobs jobs submitted one at a time at
//      --paced-percent of the capacity phase 2 measured (jobs/s that would give
//      that share of its events/s), so the daemon is not saturated and the
//      latency is the delivery latency of a fan-out, not a queue;
//   4. paced, 1 subscriber (baseline): the same schedule.
// Latency resolution: "ts" has whole milliseconds (truncated), so each sample is
// the true latency plus 0 to 1 ms (0.5 ms on average); both sides of a ratio
// carry the same bias. Every figure is the median of --runs runs.
#include <fcntl.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/support/bench_daemon.h"
#include "bench/support/pipeline.h"
#include "bench/support/report.h"
#include "ipc/jsonrpc.h"

namespace llmq::bench {
namespace {

constexpr char kConfig[] = "[daemon]\nmax_inflight = 256\n[mock]\nchunk_delay_ms = 0\nfirst_chunk_delay_ms = 0\n";
constexpr int64_t kWindow = 256;
// A reader thread gives up after this long without a byte on any of its sockets.
constexpr double kStallSeconds = 30;
// Latency histogram: 0.1 ms buckets up to 120 s (the last bucket takes the rest).
constexpr int64_t kBucketUs = 100;
constexpr size_t kBuckets = 1200000;

int fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "bench_fanout: FAILED %s: %s\n", what.c_str(), e.message.c_str());
  return 1;
}

Error error(const std::string& what) { return makeError(ErrorKind::kInternal, what); }

int64_t wallMicros() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "2026-11-24T08:40:35.123Z" -> milliseconds since the epoch; -1 if malformed.
int64_t parseTsMs(std::string_view s) {
  if (s.size() < 24 || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[23] != 'Z') {
    return -1;
  }
  auto num = [&](size_t at, size_t n) {
    int64_t v = 0;
    for (size_t i = at; i < at + n; ++i) {
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int64_t days = daysFromCivil(num(0, 4), static_cast<unsigned>(num(5, 2)), static_cast<unsigned>(num(8, 2)));
  return ((days * 24 + num(11, 2)) * 60 + num(14, 2)) * 60000 + num(17, 2) * 1000 + num(20, 3);
}

// ---- subscribers ----------------------------------------------------------

struct Subscriber {
  int fd = -1;
  std::string buf;            // A partial line left from the last read.
  std::vector<int32_t> next;  // Per job id (1..jobs on a fresh database): the seq due next.
  int64_t events = 0;
  int64_t ended = 0;     // Jobs whose terminal event arrived.
  int64_t problems = 0;  // Gaps, reorders, events after the end, errors, foreign ids.
  std::string first_problem;
  bool cut_off = false;  // EOF before every job ended.
  bool done() const { return cut_off || ended >= static_cast<int64_t>(next.size()) - 1; }
};

void problem(Subscriber& s, const std::string& what) {
  if (s.problems++ == 0) {
    s.first_problem = what;
  }
}

struct ReaderTally {
  std::vector<uint32_t> hist = std::vector<uint32_t>(kBuckets, 0);
  int64_t deliveries = 0;
  double last_event_at = 0;  // Monotonic seconds.
  std::string failure;
};

int64_t intAfter(std::string_view l, std::string_view key) {
  size_t at = l.find(key);
  if (at == std::string_view::npos) {
    return -1;
  }
  int64_t v = 0;
  for (size_t i = at + key.size(); i < l.size() && l[i] >= '0' && l[i] <= '9'; ++i) {
    v = v * 10 + (l[i] - '0');
  }
  return v;
}

// One event line of subscriber `s`, read at wall time `now_us`.
void takeLine(Subscriber& s, std::string_view l, int64_t now_us, ReaderTally& t) {
  size_t j = l.find("\"job_id\":\"j");
  size_t e = l.find("\"event\":\"");
  size_t ts = l.find("\"ts\":\"");
  if (j == std::string_view::npos || e == std::string_view::npos || ts == std::string_view::npos) {
    problem(s, "not an event: " + std::string(l.substr(0, 200)));
    return;
  }
  ++s.events;
  ++t.deliveries;
  int64_t ts_ms = parseTsMs(l.substr(ts + 6, 24));
  int64_t lat = ts_ms < 0 ? 0 : std::max<int64_t>(0, now_us - ts_ms * 1000);
  ++t.hist[std::min<size_t>(kBuckets - 1, static_cast<size_t>(lat / kBucketUs))];

  int64_t job = std::strtoll(std::string(l.substr(j + 11, 12)).c_str(), nullptr, 16);
  int64_t seq = intAfter(l, "\"seq\":");
  if (job <= 0 || job >= static_cast<int64_t>(s.next.size())) {
    problem(s, "job id out of range: " + std::string(l.substr(0, 200)));
    return;
  }
  int32_t& due = s.next[static_cast<size_t>(job)];
  if (due < 0) {
    problem(s, "an event after the job's end: " + std::string(l.substr(0, 200)));
    return;
  }
  if (seq != due) {
    problem(s, "job " + std::to_string(job) + ": seq " + std::to_string(seq) + " where " + std::to_string(due) +
                   " was due");
  }
  due = static_cast<int32_t>(seq + 1);
  std::string_view name = l.substr(e + 9);
  bool terminal = false;
  if (name.starts_with("final_response\"")) {
    terminal = true;
  } else if (name.starts_with("error\"") || name.starts_with("cancelled\"") || name.starts_with("expired\"")) {
    problem(s, std::string(l.substr(0, 300)));
    terminal = !name.starts_with("error\"") || l.find("\"retryable\":false") != std::string_view::npos;
  }
  if (terminal) {
    due = -1;
    ++s.ended;
  }
}

// Reads everything available on `s` (nonblocking).
void drain(Subscriber& s, ReaderTally& t, std::vector<char>& scratch) {
  for (;;) {
    ssize_t n = ::read(s.fd, scratch.data(), scratch.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return;  // EAGAIN: all taken; another error shows up as EOF next time.
    }
    if (n == 0) {
      if (!s.done()) {
        s.cut_off = true;
        problem(s, "connection closed by llmqd after " + std::to_string(s.events) + " events");
      }
      return;
    }
    int64_t now_us = wallMicros();
    t.last_event_at = nowSeconds();
    s.buf.append(scratch.data(), static_cast<size_t>(n));
    size_t from = 0;
    for (size_t nl; (nl = s.buf.find('\n', from)) != std::string::npos; from = nl + 1) {
      takeLine(s, std::string_view(s.buf).substr(from, nl - from), now_us, t);
    }
    s.buf.erase(0, from);
    if (static_cast<size_t>(n) < scratch.size()) {
      return;
    }
  }
}

// One epoll loop over `subs`, until each has seen every job end (or was cut off).
void readLoop(std::vector<Subscriber*> subs, const std::atomic<bool>& abort, ReaderTally& t) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < subs.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, subs[i]->fd, &ev);
  }
  std::vector<char> scratch(256 * 1024);
  std::vector<epoll_event> ready(256);
  size_t done = 0;
  std::vector<bool> counted(subs.size(), false);
  double last_byte = nowSeconds();
  while (done < subs.size() && !abort) {
    int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 200);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (nowSeconds() - last_byte > kStallSeconds) {
        t.failure = "no event for 30 s; " + std::to_string(subs.size() - done) +
                    " subscribers of this reader had not seen every job end";
        break;
      }
      continue;
    }
    last_byte = nowSeconds();
    for (int k = 0; k < n; ++k) {
      size_t i = ready[static_cast<size_t>(k)].data.u64;
      drain(*subs[i], t, scratch);
      if (!counted[i] && subs[i]->done()) {
        counted[i] = true;
        ++done;
        ::epoll_ctl(ep, EPOLL_CTL_DEL, subs[i]->fd, nullptr);
      }
    }
  }
  ::close(ep);
}

// ---- one phase ------------------------------------------------------------

struct Phase {
  int64_t subscribers = 1;
  int64_t jobs = 0;
  int64_t tokens = 8;
  double paced_jobs_per_s = 0;  // 0: a burst, pipelined.
};

struct PhaseResult {
  int64_t deliveries = 0;
  int64_t events_per_subscriber = 0;  // Equal for every subscriber, or the phase fails.
  double seconds = 0;                 // First submit to the last event read.
  double events_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double cpu_us_per_event = 0;
  MemoryUsage mem;
};

double percentileMs(const std::vector<uint64_t>& hist, int64_t total, double p) {
  // The (rank+1)-th smallest sample, as its bucket's upper edge.
  int64_t rank = std::min(total - 1, static_cast<int64_t>(p / 100.0 * static_cast<double>(total)));
  int64_t seen = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    seen += static_cast<int64_t>(hist[i]);
    if (seen > rank) {
      return static_cast<double>((static_cast<int64_t>(i) + 1) * kBucketUs) / 1000.0;
    }
  }
  return static_cast<double>(hist.size()) * kBucketUs / 1000.0;
}

bool isAck(std::string_view line) { return line.find("\"result\":{\"job_id\":\"") != std::string_view::npos; }

// One job.submit at a time, at `per_s` jobs per second; every ack read.
Result<double> pacedSubmits(ipc::Client& c, const Workload& w, int64_t jobs, double per_s) {
  double t0 = nowSeconds();
  int64_t acked = 0;
  auto take = [&](int timeout_ms) -> Result<bool> {
    auto line = c.readLine(timeout_ms);
    if (!line) {
      return line.takeError();
    }
    if (!line->has_value()) {
      return false;
    }
    if (!isAck(**line)) {
      return error("not an acknowledgement: " + (*line)->substr(0, 300));
    }
    ++acked;
    return true;
  };
  for (int64_t i = 0; i < jobs; ++i) {
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(t0 + static_cast<double>(i) / per_s))));
    if (auto s = c.sendRaw(ipc::makeRequest("job.submit", submitParams(w, i), i + 1)); !s) {
      return s.takeError();
    }
    for (;;) {
      auto got = take(0);
      if (!got) {
        return got.takeError();
      }
      if (!*got) {
        break;
      }
    }
  }
  while (acked < jobs) {
    auto got = take(30000);
    if (!got) {
      return got.takeError();
    }
    if (!*got) {
      return error("no acknowledgement for 30 s after " + std::to_string(acked) + " of " + std::to_string(jobs));
    }
  }
  return t0;
}

Result<PhaseResult> runPhase(const Phase& ph, int64_t reader_threads) {
  auto daemon = BenchDaemon::start(kConfig);
  if (!daemon) {
    return daemon.takeError();
  }
  BenchDaemon& d = **daemon;
  // The clients own the sockets (and close them); after the subscribe answer the
  // readers take their fds over, nonblocking. Nothing else was sent on them, so
  // no event sits unread in a client's buffer.
  std::vector<std::unique_ptr<ipc::Client>> clients;
  std::vector<Subscriber> subs(static_cast<size_t>(ph.subscribers));
  for (auto& s : subs) {
    auto c = d.connect();
    if (!c) {
      return c.takeError();
    }
    auto r = (*c)->call("events.subscribe", R"({"all":true})", 10000);
    if (!r) {
      return r.takeError();
    }
    if (!r->ok()) {
      return error("events.subscribe failed: " + r->error.message);
    }
    s.fd = (*c)->fd();
    ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    s.next.assign(static_cast<size_t>(ph.jobs) + 1, 1);
    clients.push_back(std::move(*c));
  }
  auto submits = d.connect();
  if (!submits) {
    return submits.takeError();
  }

  int64_t threads = std::min<int64_t>(reader_threads, ph.subscribers);
  std::vector<ReaderTally> tallies(static_cast<size_t>(threads));
  std::atomic<bool> abort{false};
  std::vector<std::thread> readers;
  for (int64_t k = 0; k < threads; ++k) {
    std::vector<Subscriber*> mine;
    for (size_t i = static_cast<size_t>(k); i < subs.size(); i += static_cast<size_t>(threads)) {
      mine.push_back(&subs[i]);
    }
    readers.emplace_back(
        [&abort, &tallies, k, mine = std::move(mine)] { readLoop(mine, abort, tallies[static_cast<size_t>(k)]); });
  }

  Workload w{.execute = true, .mock_tokens = static_cast<int>(ph.tokens)};
  double cpu0 = d.cpuSeconds();
  Result<double> started = 0.0;
  if (ph.paced_jobs_per_s > 0) {
    started = pacedSubmits(**submits, w, ph.jobs, ph.paced_jobs_per_s);
  } else {
    auto res = pipelineSubmits(**submits, PipelineOptions{.jobs = ph.jobs, .window = kWindow, .workload = w});
    started = res ? Result<double>(res->started_at) : Result<double>(res.takeError());
  }
  if (!started) {
    abort = true;
  }
  for (auto& r : readers) {
    r.join();
  }
  double cpu1 = d.cpuSeconds();
  if (!started) {
    return started.takeError();
  }

  PhaseResult out;
  std::vector<uint64_t> hist(kBuckets, 0);
  double last = 0;
  std::string failures;
  for (const auto& t : tallies) {
    out.deliveries += t.deliveries;
    last = std::max(last, t.last_event_at);
    for (size_t i = 0; i < kBuckets; ++i) {
      hist[i] += t.hist[i];
    }
    if (!t.failure.empty()) {
      failures += "\n  reader: " + t.failure;
    }
  }
  int64_t problems = 0;
  int64_t cut_off = 0;
  std::string samples;
  int64_t lo = subs[0].events;
  int64_t hi = subs[0].events;
  for (size_t i = 0; i < subs.size(); ++i) {
    const Subscriber& s = subs[i];
    problems += s.problems;
    cut_off += s.cut_off ? 1 : 0;
    lo = std::min(lo, s.events);
    hi = std::max(hi, s.events);
    if (s.problems > 0 && samples.size() < 2000) {
      samples += "\n  subscriber " + std::to_string(i) + " (" + std::to_string(s.problems) +
                 " problems): " + s.first_problem;
    }
  }
  if (problems != 0 || !failures.empty() || lo != hi) {
    std::string msg = std::to_string(problems) + " lost, reordered or failed events; " + std::to_string(cut_off) +
                      " subscribers cut off; events per subscriber from " + std::to_string(lo) + " to " +
                      std::to_string(hi) + failures + samples;
    std::string log = d.log();
    msg += "\n  llmqd log tail:\n" + (log.size() > 2000 ? log.substr(log.size() - 2000) : log);
    return error(msg);
  }
  auto succeeded = d.jobsInState("succeeded");
  if (!succeeded) {
    return succeeded.takeError();
  }
  if (*succeeded != ph.jobs) {
    return error("daemon.status counts " + std::to_string(*succeeded) + " succeeded jobs, expected " +
                 std::to_string(ph.jobs));
  }
  out.events_per_subscriber = lo;
  out.seconds = last - *started;
  out.events_per_s = out.seconds > 0 ? static_cast<double>(out.deliveries) / out.seconds : 0;
  out.p50_ms = percentileMs(hist, out.deliveries, 50);
  out.p99_ms = percentileMs(hist, out.deliveries, 99);
  out.max_ms = percentileMs(hist, out.deliveries, 100);
  out.cpu_us_per_event = out.deliveries > 0 ? (cpu1 - cpu0) * 1e6 / static_cast<double>(out.deliveries) : 0;
  out.mem = d.memory();
  clients.clear();
  submits->reset();
  if (auto s = d.stop(); !s) {
    return s.takeError();
  }
  return out;
}

// ---- report ---------------------------------------------------------------

std::vector<double> pick(const std::vector<PhaseResult>& rs, double PhaseResult::*field) {
  std::vector<double> v;
  for (const auto& r : rs) {
    v.push_back(r.*field);
  }
  return v;
}

std::string msList(const std::vector<double>& v) {
  std::string out = "(runs:";
  for (double x : v) {
    out += " " + fixed(x, 1);
  }
  return out + ")";
}

double medianOf(const std::vector<PhaseResult>& rs, double PhaseResult::*field) { return median(pick(rs, field)); }

// "p50 2.1 ms  p99 8.0 ms" for one phase, with the per-run p50s.
std::string latencyText(const std::vector<PhaseResult>& rs) {
  return "p50 " + fixed(medianOf(rs, &PhaseResult::p50_ms), 1) + " ms   p99 " +
         fixed(medianOf(rs, &PhaseResult::p99_ms), 1) + " ms   max " +
         fixed(medianOf(rs, &PhaseResult::max_ms), 1) + " ms   p50 " + msList(pick(rs, &PhaseResult::p50_ms));
}

std::vector<double> kib(const std::vector<PhaseResult>& rs, bool peak) {
  std::vector<double> v;
  for (const auto& r : rs) {
    v.push_back(static_cast<double>(peak ? r.mem.hwm_kib : r.mem.rss_kib));
  }
  return v;
}

int run(int argc, char** argv) {
  int64_t subscribers = 1000;
  int64_t jobs = 1000;
  int64_t tokens = 8;
  int64_t paced_jobs = 200;
  int64_t paced_percent = 50;
  int64_t reader_threads = 2;
  int64_t runs = 3;
  if (!parseFlags(argc, argv, "bench_fanout",
                  {{"subscribers", &subscribers, 1, "connections subscribed to all events"},
                   {"jobs", &jobs, 1, "streamed mock jobs per burst phase"},
                   {"tokens", &tokens, 1, "message_chunk events per job (one token each)"},
                   {"paced-jobs", &paced_jobs, 0, "jobs per paced phase; 0 = no paced phases"},
                   {"paced-percent", &paced_percent, 1, "paced load, % of the burst capacity"},
                   {"reader-threads", &reader_threads, 1, "epoll threads reading the subscribers"},
                   {"runs", &runs, 1, "runs; each figure is the median"}})) {
    return 2;
  }
  std::printf(
      "fanout: %lld subscribers to all events; %lld streamed mock jobs x %lld chunks "
      "(no delays, max_inflight 256) in a burst; %lld jobs paced at %lld%% of the burst "
      "capacity; baseline 1 subscriber; %lld reader threads; %lld runs\n",
      static_cast<long long>(subscribers), static_cast<long long>(jobs), static_cast<long long>(tokens),
      static_cast<long long>(paced_jobs), static_cast<long long>(paced_percent),
      static_cast<long long>(reader_threads), static_cast<long long>(runs));
  std::fflush(stdout);
  std::vector<PhaseResult> burst1, burstN, paced1, pacedN;
  std::vector<double> paced_rates;
  for (int64_t r = 1; r <= runs; ++r) {
    Phase b1{.subscribers = 1, .jobs = jobs, .tokens = tokens};
    auto a = runPhase(b1, reader_threads);
    if (!a) {
      return fail("burst, 1 subscriber", a.error());
    }
    Phase bn{.subscribers = subscribers, .jobs = jobs, .tokens = tokens};
    auto b = runPhase(bn, reader_threads);
    if (!b) {
      return fail("burst, " + std::to_string(subscribers) + " subscribers", b.error());
    }
    if (b->events_per_subscriber != a->events_per_subscriber) {
      return fail("burst", error(std::to_string(b->events_per_subscriber) +
                                 " events per subscriber, but the single subscriber had " +
                                 std::to_string(a->events_per_subscriber)));
    }
    burst1.push_back(*a);
    burstN.push_back(*b);
    std::string line = "  run " + std::to_string(r) + ": burst " + rate(b->events_per_s) + " events/s (" +
                       fixed(b->seconds, 2) + " s), lag p50 " + fixed(b->p50_ms, 1) + " ms, peak RSS " +
                       mib(b->mem.hwm_kib) + " | 1 subscriber " + rate(a->events_per_s) + " events/s";
    if (paced_jobs > 0) {
      // Jobs/s that would use paced_percent of the delivery rate just measured.
      double per_job = static_cast<double>(b->events_per_subscriber) / static_cast<double>(jobs) *
                       static_cast<double>(subscribers);
      double per_s = b->events_per_s * static_cast<double>(paced_percent) / 100.0 / per_job;
      paced_rates.push_back(per_s);
      Phase pn{.subscribers = subscribers, .jobs = paced_jobs, .tokens = tokens, .paced_jobs_per_s = per_s};
      auto c = runPhase(pn, reader_threads);
      if (!c) {
        return fail("paced, " + std::to_string(subscribers) + " subscribers", c.error());
      }
      Phase p1{.subscribers = 1, .jobs = paced_jobs, .tokens = tokens, .paced_jobs_per_s = per_s};
      auto e = runPhase(p1, reader_threads);
      if (!e) {
        return fail("paced, 1 subscriber", e.error());
      }
      pacedN.push_back(*c);
      paced1.push_back(*e);
      line += " | paced " + fixed(per_s, 1) + " jobs/s: latency p50 " + fixed(c->p50_ms, 1) + " ms p99 " +
              fixed(c->p99_ms, 1) + " ms | 1 subscriber p50 " + fixed(e->p50_ms, 1) + " ms";
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  const std::string n = std::to_string(subscribers);
  std::printf("burst: %lld jobs at once, %lld events per job and subscriber\n", static_cast<long long>(jobs),
              static_cast<long long>(burstN[0].events_per_subscriber / jobs));
  std::vector<double> rates_n = pick(burstN, &PhaseResult::events_per_s);
  std::vector<double> rates_1 = pick(burst1, &PhaseResult::events_per_s);
  printLine("events delivered/s, " + n + " subs", median(rates_n),
            ratio(median(rates_n), median(rates_1)) + "   " + runsList(rates_n));
  printLine("baseline events/s, 1 subscriber", median(rates_1), runsList(rates_1));
  std::printf("  %-31s %s\n", ("event lag, " + n + " subscribers").c_str(), latencyText(burstN).c_str());
  std::printf("  %-31s %s\n", "baseline lag, 1 subscriber", latencyText(burst1).c_str());
  double cpu_n = medianOf(burstN, &PhaseResult::cpu_us_per_event);
  double cpu_1 = medianOf(burst1, &PhaseResult::cpu_us_per_event);
  std::printf("  %-31s %s µs (1 subscriber: %s µs; job execution included)\n", "llmqd CPU per delivered event",
              fixed(cpu_n, 2).c_str(), fixed(cpu_1, 2).c_str());
  std::printf("  %-31s peak %s, at the end %s (1 subscriber: peak %s)\n",
              ("llmqd RSS, " + n + " subscribers").c_str(),
              mib(static_cast<int64_t>(median(kib(burstN, true)))).c_str(),
              mib(static_cast<int64_t>(median(kib(burstN, false)))).c_str(),
              mib(static_cast<int64_t>(median(kib(burst1, true)))).c_str());
  if (paced_jobs > 0) {
    std::printf(
        "paced: %lld jobs submitted one at a time at %s jobs/s (%lld%% of each run's burst "
        "capacity; runs: %s)\n",
        static_cast<long long>(paced_jobs), fixed(median(paced_rates), 1).c_str(),
        static_cast<long long>(paced_percent),
        [&] {
          std::string s;
          for (double x : paced_rates) {
            s += (s.empty() ? "" : " ") + fixed(x, 1);
          }
          return s;
        }()
            .c_str());
    std::printf("  %-31s %s\n", ("delivery latency, " + n + " subs").c_str(), latencyText(pacedN).c_str());
    std::printf("  %-31s %s\n", "baseline latency, 1 subscriber", latencyText(paced1).c_str());
    std::printf("  %-31s peak %s (1 subscriber: peak %s)\n", ("llmqd RSS, " + n + " subscribers").c_str(),
                mib(static_cast<int64_t>(median(kib(pacedN, true)))).c_str(),
                mib(static_cast<int64_t>(median(kib(paced1, true)))).c_str());
  }
  std::printf(
      "  verified: every run and phase, every subscriber saw every job from seq 1 to its "
      "final_response with no gap, and the same event count as the single subscriber; "
      "0 cut off, 0 errors\n");
  std::printf("  latency = read time (wall clock) - event ts; ts has whole ms, so +0 to 1 ms\n");
  return 0;
}

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) { return llmq::bench::run(argc, argv); }
