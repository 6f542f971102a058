// Chaos: kill -9 under load loses nothing (docs/operations.md). Four
// clients submit jobs (streamed and not, mixed priorities) to llmqd in front of
// the fake upstream while the test SIGKILLs it, from inside a SQLite commit
// (kill_shim.c), in the middle of a streamed answer and at a random moment, and
// restarts it each time. A client whose connection drops reconnects and
// resubmits every request still in doubt with the same idempotency_key. At the
// end every acknowledged job exists and is terminal, every job that succeeded
// has exactly one successful attempt in the ledger, no job is there twice, and
// PRAGMA integrity_check is ok.
//
// The test suite runs the short version (2,000 jobs, 2 kills); scripts/chaos.sh
// runs the long one (20,000 jobs, 5 kills). Environment: LLMQ_CHAOS_JOBS,
// LLMQ_CHAOS_KILLS, LLMQ_CHAOS_RATE (jobs submitted per second, default 400),
// LLMQ_CHAOS_SEED (replays a run's plan and kill schedule; the timing is the
// machine's), LLMQ_CHAOS_KEEP_DIR=1 (copies the temp dir to <dir>-kept).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "ipc/client.h"
#include "ipc/protocol.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kKey[] = "sk-or-v1-testchaos0123456789abcdef0123456789abcdef01";
constexpr int kClients = 4;
constexpr size_t kWindow = 16;       // Submits a client keeps in flight (pipelined).
constexpr int kReconnectMs = 60000;  // How long a client keeps trying to reach llmqd.
// Streams paced this slowly are still running when a kill comes. Their prompt
// starts with "slow", so their first message_chunk is "slow" (the fake repeats
// the prompt's words), and at least four more paced events follow it.
constexpr char kSlowModel[] = "fake/fault-drip-40";
constexpr char kFastModel[] = "openai/gpt-4o-mini";

// Retries stay quick, breakers never open on the fake's (rare) hiccups, and a
// stalled transfer is given up on rather than hanging the drain.
constexpr char kConfig[] =
    "[daemon]\nmax_inflight = 128\nshutdown_grace_s = 2\n"
    "[retry]\nbase_ms = 10\ncap_ms = 200\n"
    "[circuit]\nfailures = 100000\n"
    "[http]\nidle_timeout_s = 15\n";

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct PlannedJob {
  std::string key;     // idempotency_key, unique per job.
  std::string params;  // job.submit params, the same on every (re)submission.
  bool fail_on_restart = false;
};

// What the daemon acknowledged: the job.submit result of one request.
struct Ack {
  size_t job = 0;  // Index into the plan.
  std::string job_id;
  bool deduplicated = false;
};

std::vector<PlannedJob> planJobs(int count, std::mt19937_64& rng) {
  std::vector<PlannedJob> plan;
  const int priorities[] = {-5, 0, 0, 0, 3, 10};
  for (int i = 0; i < count; ++i) {
    PlannedJob p;
    p.key = "chaos-" + std::to_string(i);
    const int kind = static_cast<int>(rng() % 100);
    const bool stream = kind >= 45;
    const bool slow = kind >= 80;  // 20% slow streams, 35% fast streams, 45% plain.
    p.fail_on_restart = rng() % 20 == 0;
    const int max_tokens = (slow ? 4 : 2) + static_cast<int>(rng() % 5);
    const int priority = priorities[rng() % std::size(priorities)];
    p.params = std::string(R"({"request":{"model":")") + (slow ? kSlowModel : kFastModel) +
               R"(","messages":[{"role":"user","content":")" + (slow ? "slow " : "") + "chaos job " +
               std::to_string(i) + R"( says hello"}],"max_tokens":)" + std::to_string(max_tokens) +
               (stream ? R"(,"stream":true)" : "") + R"(},"priority":)" + std::to_string(priority) +
               R"(,"client":"chaos-)" + std::to_string(i % kClients) + R"(","tags":["chaos"],)" +
               R"("idempotency_key":")" + p.key + "\"" + (p.fail_on_restart ? R"(,"on_restart":"fail")" : "") + "}";
    plan.push_back(std::move(p));
  }
  return plan;
}

// One submitting client: its own connection, up to kWindow pipelined submits,
// planned job g not sent before g / rate seconds into the run (so submits keep
// flowing while the kills come). Whatever is in flight when the connection drops
// is in doubt: after reconnecting, it is submitted again at once with the same
// idempotency_key, so the daemon answers with the job it already has
// (deduplicated) or creates it now.
class SubmitClient {
 public:
  SubmitClient(std::string socket, const std::vector<PlannedJob>& plan, std::vector<size_t> mine,
               Clock::time_point start, double rate, std::atomic<int64_t>* acked_total,
               const std::atomic<bool>* stop)
      : socket_(std::move(socket)),
        plan_(plan),
        mine_(std::move(mine)),
        start_(start),
        rate_(rate),
        acked_total_(acked_total),
        stop_(stop) {}

  void run() {
    size_t next = 0;
    std::deque<size_t> again;                    // In doubt or refused: submit again.
    std::unordered_map<int64_t, size_t> flight;  // JSON-RPC id -> plan index.
    std::unique_ptr<ipc::Client> conn;
    const auto drop = [&] {
      conn.reset();
      for (const auto& [id, job] : flight) {
        again.push_back(job);
        ++in_doubt;
      }
      flight.clear();
    };
    int64_t silent_ms = 0;
    while (acks.size() < mine_.size() && !stop_->load()) {
      if (!conn) {
        conn = reconnect();
        if (!conn) {
          failure = "could not reach llmqd for " + std::to_string(kReconnectMs) + " ms";
          return;
        }
      }
      while (flight.size() < kWindow && (!again.empty() || (next < mine_.size() && msUntilDue(next) <= 0))) {
        size_t job;
        if (!again.empty()) {
          job = again.front();
          again.pop_front();
        } else {
          job = mine_[next++];
        }
        auto id = conn->send("job.submit", plan_[job].params);
        if (!id) {
          again.push_front(job);  // Perhaps it left; in doubt like the rest.
          ++in_doubt;
          drop();
          break;
        }
        flight.emplace(*id, job);
      }
      if (!conn) {
        continue;
      }
      const int64_t due_ms = next < mine_.size() ? std::max<int64_t>(1, msUntilDue(next)) : 500;
      if (flight.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(due_ms, 500)));
        continue;
      }
      auto line = conn->readLine(static_cast<int>(std::min<int64_t>(due_ms, 500)));
      if (!line) {
        drop();  // llmqd died (or closed on us): everything in flight is in doubt.
        continue;
      }
      if (!line->has_value()) {
        silent_ms += std::min<int64_t>(due_ms, 500);
        if (silent_ms >= 10000) {
          ++stalls;  // Ten seconds without an answer: keep waiting, but say so.
          silent_ms = 0;
        }
        continue;
      }
      silent_ms = 0;
      auto resp = ipc::parseResponse(**line);
      if (!resp) {
        continue;  // Not a response (no subscriptions here, so this is unexpected).
      }
      const json::Value* rid = json::member(*resp->doc, "id");
      if (rid == nullptr || !rid->IsInt64() || flight.count(rid->GetInt64()) == 0) {
        continue;
      }
      const size_t job = flight[rid->GetInt64()];
      flight.erase(rid->GetInt64());
      if (!resp->ok()) {
        // Refused (e.g. -32006 while the disk is full): not acknowledged, so not
        // owed; submitted again so that every planned job ends up acknowledged.
        ++refusals;
        last_refusal = std::to_string(resp->error.code) + " " + resp->error.message;
        again.push_back(job);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      const json::Value* jid = json::member(*resp->result, "job_id");
      const json::Value* dedup = json::member(*resp->result, "deduplicated");
      if (jid == nullptr || !jid->IsString()) {
        failure = "job.submit result without job_id: " + **line;
        return;
      }
      acks.push_back(Ack{job, jid->GetString(), dedup != nullptr && dedup->IsBool() && dedup->GetBool()});
      acked_total_->fetch_add(1);
    }
  }

  // Filled by run(); read after join().
  std::vector<Ack> acks;
  int64_t in_doubt = 0;  // Requests in flight when a connection dropped.
  int64_t reconnects = 0;
  int64_t refusals = 0;
  int64_t stalls = 0;
  std::string last_refusal;
  std::string failure;

 private:
  // Milliseconds until mine_[n] may be sent (<= 0: now).
  int64_t msUntilDue(size_t n) const {
    const auto due = start_ + std::chrono::microseconds(static_cast<int64_t>(1e6 * mine_[n] / rate_));
    return std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count();
  }

  std::unique_ptr<ipc::Client> reconnect() {
    const auto start = Clock::now();
    while (msSince(start) < kReconnectMs && !stop_->load()) {
      auto c = ipc::Client::connect(socket_);
      if (c) {
        ++reconnects;
        return std::move(c).value();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return nullptr;
  }

  std::string socket_;
  const std::vector<PlannedJob>& plan_;
  std::vector<size_t> mine_;
  Clock::time_point start_;
  double rate_;  // Planned jobs per second, all clients together.
  std::atomic<int64_t>* acked_total_;
  const std::atomic<bool>* stop_;
};

// Stops and joins the client threads however the test leaves (an ASSERT returns early).
struct ClientThreads {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  void join() {
    for (auto& t : threads) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  ~ClientThreads() {
    stop = true;
    join();
  }
};

enum class KillMode { kCommit, kMidStream, kRandom };

const char* modeName(KillMode m) {
  switch (m) {
    case KillMode::kCommit:
      return "during a commit";
    case KillMode::kMidStream:
      return "mid-stream";
    case KillMode::kRandom:
      return "at a random moment";
  }
  return "?";
}

// A read-only handle on the database file, for the checks after the last stop.
class Sqlite {
 public:
  explicit Sqlite(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "opening " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~Sqlite() { sqlite3_close_v2(db_); }
  Sqlite(const Sqlite&) = delete;
  Sqlite& operator=(const Sqlite&) = delete;

  // Every row of `sql`, each column as text ("NULL" for null).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.emplace_back(t != nullptr ? reinterpret_cast<const char*>(t) : "NULL");
      }
      out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(st);
    return out;
  }
  int64_t count(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? -1 : std::stoll(r[0][0]);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Waits (bounded) for `pid`, our child, to die on its own; leaves it a zombie
// (WNOWAIT), so its pid cannot be reused before DaemonProcess reaps it.
bool waitForDeath(pid_t pid, int timeout_ms, siginfo_t* info) {
  const auto start = Clock::now();
  while (msSince(start) < timeout_ms) {
    *info = {};
    if (::waitid(P_PID, static_cast<id_t>(pid), info, WEXITED | WNOHANG | WNOWAIT) == 0 && info->si_pid == pid) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(CrashTest, KillNineUnderLoadLosesNoAcknowledgedJob) {
  const int jobs = envInt("LLMQ_CHAOS_JOBS", 2000);
  const int kills = envInt("LLMQ_CHAOS_KILLS", 2);
  const double rate = envInt("LLMQ_CHAOS_RATE", 400);  // Jobs submitted per second, all clients.
  const uint64_t seed =
      static_cast<uint64_t>(envInt("LLMQ_CHAOS_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  const bool keep = envInt("LLMQ_CHAOS_KEEP_DIR", 0) != 0;
  std::mt19937_64 rng(seed);
  std::printf("[chaos] %d jobs at %.0f/s, %d kills, seed %llu (LLMQ_CHAOS_SEED replays the plan)\n", jobs, rate,
              kills, static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  const auto t0 = Clock::now();

  TempDir dir;
  FakeUpstream fake;
  ASSERT_TRUE(fake.start());
  const std::string trigger = dir.file("kill-trigger");
  std::vector<std::string> env = openRouterEnv(kKey, fake.baseUrl());
  const bool shim = *LLMQ_CHAOS_SHIM != '\0';  // Empty in sanitizer builds (see tests/CMakeLists.txt).
  if (shim) {
    env.push_back(std::string("LD_PRELOAD=") + LLMQ_CHAOS_SHIM);
    env.push_back("LLMQ_CHAOS_TRIGGER=" + trigger);
  }
  DaemonProcess daemon(dir.path(), DaemonOptions{.config_toml = kConfig, .extra_env = env});
  ASSERT_TRUE(daemon.start());

  const std::vector<PlannedJob> plan = planJobs(jobs, rng);
  std::atomic<int64_t> acked_total{0};
  std::vector<std::unique_ptr<SubmitClient>> clients;
  ClientThreads threads;  // After `clients` and `daemon`: stopped and joined before they go.
  for (int c = 0; c < kClients; ++c) {
    std::vector<size_t> mine;
    for (size_t i = static_cast<size_t>(c); i < plan.size(); i += kClients) {
      mine.push_back(i);
    }
    clients.push_back(std::make_unique<SubmitClient>(daemon.socketPath(), plan, std::move(mine), Clock::now(), rate,
                                                     &acked_total, &threads.stop));
  }
  for (auto& c : clients) {
    threads.threads.emplace_back([&c] { c->run(); });
  }

  // The kill schedule: the modes in turn (so two kills are one in a commit and
  // one mid-stream), shuffled; kill k comes once a random share of the k-th
  // slice of the plan has been acknowledged.
  std::vector<KillMode> modes;
  for (int k = 0; k < kills; ++k) {
    modes.push_back(static_cast<KillMode>(k % 3));
  }
  std::shuffle(modes.begin(), modes.end(), rng);
  std::vector<int64_t> thresholds;
  for (int k = 0; k < kills; ++k) {
    std::uniform_real_distribution<double> share(0.15, 0.85);
    thresholds.push_back(static_cast<int64_t>(jobs * (k + share(rng)) / kills));
  }
  std::uniform_int_distribution<int> downtime_ms(0, 300);
  std::uniform_int_distribution<int> random_delay_ms(20, 400);
  std::uniform_int_distribution<int> wal_writes(1, 4);

  std::set<std::string> killed_mid_stream;  // Jobs whose stream was cut by a kill.
  int commit_kills = 0;
  int stream_kills = 0;
  for (int k = 0; k < kills; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k + 1));
    const auto up_since = Clock::now();
    // Wait for the threshold (and give a restarted daemon a moment to get busy again).
    while ((acked_total.load() < thresholds[k] || msSince(up_since) < 300) && msSince(up_since) < 120000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    KillMode mode = modes[k];
    const int64_t acked_at_kill = acked_total.load();
    bool killed = false;
    if (mode == KillMode::kCommit && shim) {
      // Arm the shim: llmqd kills itself at its n-th WAL write from now, before
      // or after the write.
      const std::string tmp = trigger + ".tmp";
      std::ofstream(tmp) << wal_writes(rng) << " " << (rng() % 2) << "\n";
      ASSERT_EQ(0, ::rename(tmp.c_str(), trigger.c_str()));
      siginfo_t info;
      if (waitForDeath(daemon.pid(), 20000, &info)) {
        EXPECT_EQ(CLD_KILLED, info.si_code) << "llmqd exited by itself; log:\n" << daemon.log();
        EXPECT_EQ(SIGKILL, info.si_status);
        killed = true;
        ++commit_kills;
      } else {
        ::unlink(trigger.c_str());
        ADD_FAILURE() << "llmqd wrote nothing to its WAL for 20 s after the trigger was armed";
      }
    } else if (mode == KillMode::kCommit) {
      mode = KillMode::kRandom;  // No shim (sanitizer build): a kill from outside will do.
    }
    if (mode == KillMode::kMidStream) {
      // Kill the moment a slow stream has sent its first chunk: it has at least
      // 160 ms to go (kSlowModel), so it is surely mid-stream.
      auto watcher = daemon.connect();
      ASSERT_NE(nullptr, watcher);
      callOk(*watcher, "events.subscribe", R"({"all":true,"events":["message_chunk"]})");
      const auto start = Clock::now();
      while (!killed && msSince(start) < 10000) {
        auto line = watcher->nextNotification(200);
        if (!line) {
          ADD_FAILURE() << "the watcher's connection broke: " << line.error().message;
          break;
        }
        if (!line->has_value()) {
          continue;
        }
        json::Document d;
        if (!json::parse(d, **line, nullptr) || !d.HasMember("params") ||
            json::toString(d["params"]["data"]["delta"]) != "\"slow\"") {
          continue;
        }
        daemon.kill9();
        killed = true;
        ++stream_kills;
        killed_mid_stream.insert(d["params"]["job_id"].GetString());
      }
      if (!killed) {
        std::printf("[chaos] kill %d: no stream was running for 10 s; killing at once instead\n", k + 1);
      }
    }
    if (!killed) {
      std::this_thread::sleep_for(std::chrono::milliseconds(random_delay_ms(rng)));
    }
    daemon.kill9();  // Reaps the zombie after a self-kill; the kill itself otherwise.
    std::printf("[chaos] kill %d %s at %lld acknowledged jobs, %lld ms into the run\n", k + 1, modeName(mode),
                static_cast<long long>(acked_at_kill), static_cast<long long>(msSince(t0)));
    std::this_thread::sleep_for(std::chrono::milliseconds(downtime_ms(rng)));
    ASSERT_TRUE(daemon.start(30000));
  }

  threads.join();
  const int64_t submit_ms = msSince(t0);
  int64_t in_doubt = 0, reconnects = 0, refusals = 0, stalls = 0;
  std::map<std::string, size_t> job_of_id;  // job_id -> plan index
  std::vector<std::string> id_of_job(plan.size());
  size_t deduplicated = 0;
  for (auto& c : clients) {
    ASSERT_EQ("", c->failure);
    in_doubt += c->in_doubt;
    reconnects += c->reconnects;
    refusals += c->refusals;
    stalls += c->stalls;
    EXPECT_EQ(0, c->refusals) << "last refusal: " << c->last_refusal;
    for (const Ack& a : c->acks) {
      deduplicated += a.deduplicated;
      // No job id is duplicated: one id per planned job, never shared by two.
      EXPECT_TRUE(id_of_job[a.job].empty()) << plan[a.job].key << " was acknowledged twice";
      id_of_job[a.job] = a.job_id;
      auto [it, fresh] = job_of_id.emplace(a.job_id, a.job);
      EXPECT_TRUE(fresh) << a.job_id << " acknowledged for " << plan[it->second].key << " and " << plan[a.job].key;
    }
  }
  ASSERT_EQ(plan.size(), job_of_id.size()) << "every planned job ends up acknowledged";

  // Drain: everything acknowledged runs to its end.
  auto client = daemon.connect();
  ASSERT_NE(nullptr, client);
  const int64_t drain_limit_ms = 60000 + jobs * 10;
  const auto drain_start = Clock::now();
  json::Document status;
  for (;;) {
    status = callOk(*client, "daemon.status", "{}");
    ASSERT_TRUE(status.IsObject());
    const json::Value& q = status["queue"];
    const int64_t waiting =
        q["queued"].GetInt64() + q["running"].GetInt64() + q["retry_wait"].GetInt64() + q["held"].GetInt64();
    if (waiting == 0) {
      break;
    }
    ASSERT_LT(msSince(drain_start), drain_limit_ms) << json::toString(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int64_t drain_ms = msSince(drain_start);

  // Through job.get: every acknowledged job is there, terminal.
  std::map<std::string, int> states;
  std::map<std::string, std::string> state_of;  // job_id -> state
  for (size_t i = 0; i < plan.size(); ++i) {
    json::Document j = callOk(*client, "job.get", "{\"job_id\":\"" + id_of_job[i] + "\"}");
    ASSERT_TRUE(j.IsObject()) << plan[i].key << " " << id_of_job[i];
    const std::string state = j["state"].GetString();
    ++states[state];
    state_of[id_of_job[i]] = state;
    EXPECT_TRUE(state == "succeeded" || state == "failed") << id_of_job[i] << " is " << state;
    if (state == "succeeded") {
      EXPECT_TRUE(j["result"].IsObject()) << id_of_job[i];
    } else if (state == "failed") {
      // The fake answers every request here; only a kill can fail a job, and only
      // one that asked for on_restart = "fail".
      EXPECT_STREQ("INTERRUPTED", j["error"]["code"].GetString()) << json::toString(j);
      EXPECT_TRUE(plan[i].fail_on_restart) << json::toString(j);
    }
  }
  client.reset();
  ASSERT_TRUE(daemon.stop());
  const int64_t total_ms = msSince(t0);

  // Through the database file.
  Sqlite db(daemon.dbPath());
  EXPECT_EQ((std::vector<std::vector<std::string>>{{"ok"}}), db.rows("PRAGMA integrity_check"));
  EXPECT_TRUE(db.rows("PRAGMA foreign_key_check").empty());
  // Nothing is there twice, and nothing is there that was not planned.
  EXPECT_EQ(jobs, db.count("SELECT count(*) FROM jobs"));
  EXPECT_EQ(jobs,
            db.count("SELECT count(DISTINCT idempotency_key) FROM jobs WHERE idempotency_key LIKE 'chaos-%'"));
  std::map<std::string, std::string> db_state;  // idempotency_key -> "id state"
  for (const auto& row : db.rows("SELECT idempotency_key, id, state FROM jobs")) {
    db_state[row[0]] = row[1] + " " + row[2];
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    int64_t id = 0;
    ASSERT_TRUE(ipc::parseJobId(id_of_job[i], &id));
    const std::string want_state = state_of[id_of_job[i]] == "succeeded" ? "4" : "5";
    EXPECT_EQ(std::to_string(id) + " " + want_state, db_state[plan[i].key]) << plan[i].key;
  }
  // Every job that succeeded has exactly one successful attempt; the others none.
  for (const auto& row : db.rows("SELECT j.id, j.state, (SELECT count(*) FROM attempts a WHERE a.job_id = j.id AND "
                                 "a.outcome = 'succeeded') AS ok FROM jobs j WHERE (j.state = 4 AND ok != 1) OR "
                                 "(j.state != 4 AND ok != 0) LIMIT 20")) {
    ADD_FAILURE() << "job " << row[0] << " in state " << row[1] << " has " << row[2]
                  << " successful attempts in the ledger";
  }
  // The ledger matches the jobs: one row per attempt made, none left running.
  EXPECT_EQ(0, db.count("SELECT count(*) FROM attempts WHERE outcome = 'running'"));
  for (const auto& row :
       db.rows("SELECT j.id, j.attempts, (SELECT count(*) FROM attempts a WHERE a.job_id = j.id) AS n "
               "FROM jobs j WHERE j.attempts != n LIMIT 20")) {
    ADD_FAILURE() << "job " << row[0] << " counts " << row[1] << " attempts, the ledger has " << row[2];
  }
  // A job failed INTERRUPTED has its interrupted attempt in the ledger.
  EXPECT_EQ(0, db.count("SELECT count(*) FROM jobs j WHERE j.state = 5 AND NOT EXISTS (SELECT 1 FROM "
                        "attempts a WHERE a.job_id = j.id AND a.outcome = 'interrupted')"));
  // The streams the kills cut are in the ledger as interrupted attempts.
  for (const std::string& job_id : killed_mid_stream) {
    int64_t id = 0;
    ASSERT_TRUE(ipc::parseJobId(job_id, &id));
    EXPECT_LE(1, db.count("SELECT count(*) FROM attempts WHERE outcome = 'interrupted' AND job_id = " +
                          std::to_string(id)))
        << job_id << " was mid-stream at a kill";
  }
  const int64_t interrupted = db.count("SELECT count(*) FROM attempts WHERE outcome = 'interrupted'");
  // Every kill happened the way it was planned.
  if (shim) {
    EXPECT_EQ(std::count(modes.begin(), modes.end(), KillMode::kCommit), commit_kills);
  }
  EXPECT_EQ(std::count(modes.begin(), modes.end(), KillMode::kMidStream), stream_kills);

  std::printf(
      "[chaos] %zu acknowledged (%zu deduplicated resubmissions), %lld in doubt at kills, "
      "%lld reconnects, %lld stalls, %lld refusals; states:",
      job_of_id.size(), deduplicated, static_cast<long long>(in_doubt), static_cast<long long>(reconnects),
      static_cast<long long>(stalls), static_cast<long long>(refusals));
  for (const auto& [s, n] : states) {
    std::printf(" %s=%d", s.c_str(), n);
  }
  std::printf("; %lld interrupted attempts; %d kills in a commit, %d mid-stream\n",
              static_cast<long long>(interrupted), commit_kills, stream_kills);
  std::printf("[chaos] submitted in %lld ms, drained in %lld ms, %lld ms in all\n",
              static_cast<long long>(submit_ms), static_cast<long long>(drain_ms),
              static_cast<long long>(total_ms));
  if (keep) {
    std::printf("[chaos] kept %s\n", dir.path().c_str());
    std::string cmd = "cp -a " + dir.path() + " " + dir.path() + "-kept";
    EXPECT_EQ(0, std::system(cmd.c_str()));
  }
}

}  // namespace
}  // namespace llmq::testing
