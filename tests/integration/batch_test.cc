// Integration: `llmq batch` against a real llmqd. A 2,000-line OpenAI Batch file
// goes through the fake upstream with some lines failing and comes back complete
// and in input order; runs killed mid-submission (SIGKILL, SIGINT) resume without
// submitting any line twice; invalid lines are reported with their numbers and
// abort the batch, or are skipped on request.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-batch0123456789abcdef0123456789abcdef0123456789ab";

// The custom_id of input line i: a permutation, so input order is neither job id
// order's accident nor custom_id's sort order.
std::string customId(int i, int n) { return "req-" + std::to_string((i * 7919L) % n); }

// Writes an n-line batch; every `fail_every`-th line (0: none) asks `fail_model`.
void writeBatch(const std::string& path, int n, const std::string& model, int fail_every = 0,
                const std::string& fail_model = "") {
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    const bool fail = fail_every > 0 && i % fail_every == fail_every - 1;
    out << R"({"custom_id":")" << customId(i, n)
        << R"(","method":"POST","url":"/v1/chat/completions","body":{"model":")" << (fail ? fail_model : model)
        << R"(","messages":[{"role":"user","content":"line )" << i << R"("}],"max_tokens":4}})"
        << "\n";
  }
}

std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The llmq CLI started in the background, stdout and stderr into files.
class BackgroundCli {
 public:
  BackgroundCli(const std::vector<std::string>& args, const std::string& out_prefix)
      : out_(out_prefix + ".out"), err_(out_prefix + ".err") {
    std::vector<std::string> argv_s = args;
    std::vector<char*> argv;
    argv.reserve(argv_s.size());
    for (auto& a : argv_s) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  ~BackgroundCli() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitForExit(pid_, 30000);
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }
  // The wait status, or -1 if it did not exit in time.
  int wait(int timeout_ms) {
    int status = waitForExit(pid_, timeout_ms);
    if (status != -1) {
      pid_ = -1;
    }
    return status;
  }
  std::string out() const { return readAll(out_); }
  std::string err() const { return readAll(err_); }

 private:
  std::string out_;
  std::string err_;
  pid_t pid_ = -1;
};

class BatchTest : public DaemonFixture {
 protected:
  void start(const std::string& extra_toml = "", std::vector<std::string> env = {}) {
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n"
                                 "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n" +
                                 extra_toml,
                  .extra_env = std::move(env)});
  }
  CommandResult llmq(std::vector<std::string> args, int timeout_ms = 60000) {
    return runCommand(cliArgv(std::move(args)), "", {}, timeout_ms, /*merge_stderr=*/false);
  }
  CommandResult llmqMerged(std::vector<std::string> args) {
    return runCommand(cliArgv(std::move(args)), "", {}, 60000, /*merge_stderr=*/true);
  }
  // Every job in llmqd, whatever its state (daemon.status queue counts).
  int64_t jobCount() {
    json::Document s = callOk(*client_, "daemon.status", "{}");
    int64_t n = 0;
    if (s.IsObject() && s.HasMember("queue")) {
      for (const auto& m : s["queue"].GetObject()) {
        n += m.value.GetInt64();
      }
    }
    return n;
  }
  // The idempotency keys of the jobs tagged `tag` (job.list, every page).
  std::vector<std::string> keysOf(const std::string& tag) {
    std::vector<std::string> keys;
    std::string cursor;
    do {
      std::string params = R"({"tag":")" + tag + R"(","limit":1000)" +
                           (cursor.empty() ? "" : R"(,"cursor":")" + cursor + "\"") + "}";
      json::Document page = callOk(*client_, "job.list", params);
      if (!page.IsObject()) {
        break;
      }
      for (const auto& j : page["jobs"].GetArray()) {
        keys.emplace_back(j["idempotency_key"].IsString() ? j["idempotency_key"].GetString() : "");
      }
      cursor = page["next_cursor"].IsString() ? page["next_cursor"].GetString() : "";
    } while (!cursor.empty());
    return keys;
  }
  // Exactly one job per custom_id of an n-line batch `tag`.
  void expectOneJobPerLine(const std::string& tag, int n) {
    std::vector<std::string> keys = keysOf(tag);
    std::set<std::string> distinct(keys.begin(), keys.end());
    EXPECT_EQ(static_cast<size_t>(n), keys.size());
    EXPECT_EQ(keys.size(), distinct.size()) << "a line was submitted twice";
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(1u, distinct.count("batch:" + tag + ":" + customId(i, n))) << i;
    }
  }
  // Checks an output file of an n-line batch: every line, in input order.
  // Returns how many lines report a failure.
  static int checkResults(const std::string& path, int n) {
    std::vector<std::string> lines = readLines(path);
    EXPECT_EQ(static_cast<size_t>(n), lines.size());
    int failures = 0;
    std::set<std::string> ids;
    for (size_t i = 0; i < lines.size(); ++i) {
      json::Document d;
      if (!json::parse(d, lines[i], nullptr) || !d.IsObject()) {
        ADD_FAILURE() << "line " << i + 1 << " is not a JSON object: " << lines[i];
        continue;
      }
      EXPECT_EQ(customId(static_cast<int>(i), n), d["custom_id"].GetString()) << "line " << i + 1;
      EXPECT_EQ('j', d["id"].GetString()[0]) << lines[i];
      ids.insert(d["id"].GetString());
      if (d["response"].IsNull()) {
        ++failures;
        EXPECT_TRUE(d["error"].IsObject()) << lines[i];
        EXPECT_TRUE(d["error"]["code"].IsString() && d["error"]["message"].IsString()) << lines[i];
      } else {
        EXPECT_EQ(200, d["response"]["status_code"].GetInt()) << lines[i];
        EXPECT_STREQ("chat.completion", d["response"]["body"]["object"].GetString()) << lines[i];
        EXPECT_TRUE(d["error"].IsNull()) << lines[i];
      }
    }
    EXPECT_EQ(lines.size(), ids.size()) << "one job per line";
    return failures;
  }
};

TEST_F(BatchTest, TwoThousandLinesThroughTheFakeUpstreamComeBackInInputOrder) {
  startFake();
  start("[circuit]\nfailures = 100000\n", fakeEnv(kKey));
  constexpr int kLines = 2000;
  const std::string file = dir_.file("eval-2k.jsonl");
  // Every 50th line asks a model the fake answers with 400: 40 failures.
  writeBatch(file, kLines, "fake/ok", 50, "fake/fault-400");

  auto run = llmq({"batch", "submit", file});
  EXPECT_EQ(1, run.exit_code) << "some lines failed\n" << run.output;
  EXPECT_NE(std::string::npos, run.output.find("2000 of 2000")) << run.output;
  EXPECT_NE(std::string::npos, run.output.find("1960 succeeded, 40 failed")) << run.output;
  EXPECT_EQ(static_cast<size_t>(kLines), fake_.stats().total) << "400s are not retried";
  expectOneJobPerLine("eval-2k", kLines);  // The tag comes from the file name.

  const std::string out = dir_.file("out.jsonl");
  auto results = llmqMerged({"batch", "results", "eval-2k", "--input", file, "-o", out});
  EXPECT_EQ(0, results.exit_code) << results.output;
  EXPECT_NE(std::string::npos, results.output.find("wrote 2000 results (40 failed)")) << results.output;
  EXPECT_EQ(40, checkResults(out, kLines));
  // The failures are the lines that asked for them, with the upstream's reason.
  std::vector<std::string> lines = readLines(out);
  ASSERT_EQ(static_cast<size_t>(kLines), lines.size());
  json::Document fifty;
  ASSERT_TRUE(json::parse(fifty, lines[49], nullptr));
  EXPECT_TRUE(fifty["response"].IsNull()) << lines[49];
  EXPECT_STREQ("INVALID_REQUEST", fifty["error"]["code"].GetString()) << lines[49];
  // Without --input the order is the jobs' creation order: here, the same.
  auto by_id = llmq({"batch", "results", "eval-2k"});
  EXPECT_EQ(0, by_id.exit_code);
  EXPECT_EQ(readAll(out), by_id.output);

  // Running the same command again submits nothing: every line has its job.
  auto again = llmq({"batch", "submit", file});
  EXPECT_EQ(1, again.exit_code) << again.output;
  EXPECT_NE(std::string::npos, again.output.find("1960 succeeded, 40 failed")) << again.output;
  EXPECT_EQ(static_cast<size_t>(kLines), fake_.stats().total);
  expectOneJobPerLine("eval-2k", kLines);

  auto status = llmq({"batch", "status", "eval-2k", "--json"});
  ASSERT_EQ(0, status.exit_code) << status.output;
  json::Document s;
  ASSERT_TRUE(json::parse(s, status.output, nullptr)) << status.output;
  EXPECT_EQ(kLines, s["total"].GetInt());
  EXPECT_EQ(kLines, s["done"].GetInt());
  EXPECT_EQ(1960, s["states"]["succeeded"].GetInt());
  EXPECT_GT(s["spent_usd"].GetDouble(), 0);
}

TEST_F(BatchTest, InterruptedRunsResumeWithoutSubmittingAnyLineTwice) {
  start();
  constexpr int kLines = 3000;
  const std::string file = dir_.file("resume.jsonl");
  writeBatch(file, kLines, "mock/echo");
  // Paused, nothing runs: every run is cut off before the batch could end.
  ASSERT_EQ(0, llmq({"pause"}).exit_code);

  // Waits until llmqd holds more than `floor` jobs, then stops the CLI where it
  // is; returns the count it stopped at.
  auto stopMidway = [&](BackgroundCli& cli, int64_t floor) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (jobCount() <= floor && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    cli.signal(SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // What was sent lands.
    return jobCount();
  };

  // 1. SIGKILL in the middle of the submission (one request at a time, so the
  //    middle lasts long enough to be caught).
  BackgroundCli first(cliArgv({"batch", "submit", "--window", "1", file}), dir_.file("run1"));
  ASSERT_GT(first.pid(), 0);
  const int64_t after_first = stopMidway(first, 0);
  first.signal(SIGKILL);
  first.wait(5000);
  EXPECT_GT(after_first, 0);
  EXPECT_LT(after_first, kLines) << "the first run was to be stopped mid-submission";

  // 2. SIGINT in the middle of the second run's submission: the note, exit 130.
  BackgroundCli second(cliArgv({"batch", "submit", "--window", "1", file}), dir_.file("run2"));
  ASSERT_GT(second.pid(), 0);
  const int64_t after_second = stopMidway(second, after_first);
  EXPECT_LT(after_second, kLines) << "the second run was to be stopped mid-submission";
  second.signal(SIGINT);
  second.signal(SIGCONT);
  const int status = second.wait(10000);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(130, WEXITSTATUS(status));
  EXPECT_NE(std::string::npos, second.err().find("interrupted; the jobs submitted so far stay in llmqd"))
      << second.err();
  EXPECT_EQ(after_second, jobCount()) << "nothing was submitted after the interruption";

  // 3. The third run submits the rest and follows the batch to its end.
  ASSERT_EQ(0, llmq({"resume"}).exit_code);
  auto third = llmq({"batch", "submit", file});
  EXPECT_EQ(0, third.exit_code) << third.output;
  EXPECT_NE(std::string::npos, third.output.find("3000 of 3000")) << third.output;
  EXPECT_EQ(kLines, jobCount());
  expectOneJobPerLine("resume", kLines);

  // The results follow the file, though the jobs were created in three runs.
  const std::string out = dir_.file("resume.out.jsonl");
  auto results = llmqMerged({"batch", "results", "resume", "--input", file, "-o", out});
  EXPECT_EQ(0, results.exit_code) << results.output;
  EXPECT_EQ(0, checkResults(out, kLines));
}

TEST_F(BatchTest, InvalidLinesAreReportedByNumberAndAbortOrAreSkipped) {
  start();
  const std::string file = dir_.file("mixed.jsonl");
  {
    std::ofstream out(file);
    auto line = [](const std::string& id, const std::string& url = "/v1/chat/completions",
                   const std::string& body =
                       R"({"model":"mock/echo","messages":[{"role":"user","content":"hi"}]})") {
      return R"({"custom_id":")" + id + R"(","method":"POST","url":")" + url + R"(","body":)" + body + "}\n";
    };
    out << line("a")                                                      // 1
        << "{not json\n"                                                  // 2
        << line("b")                                                      // 3
        << line("c", "/v1/files")                                         // 4
        << line("a")                                                      // 5: duplicate custom_id
        << line("d", "/v1/chat/completions", R"({"model":"mock/echo"})")  // 6: no messages
        << "\n"                                                           // 7: blank, skipped quietly
        << R"({"method":"POST","url":"/v1/chat/completions","body":{}})"
        << "\n"        // 8: no custom_id
        << line("e");  // 9
  }
  auto aborted = llmqMerged({"batch", "submit", file});
  EXPECT_EQ(2, aborted.exit_code);
  for (const char* where :
       {"mixed.jsonl:2: not valid JSON", "mixed.jsonl:4: url must be",
        "mixed.jsonl:5: duplicate custom_id \"a\" (first on line 1)", "mixed.jsonl:6: body.messages",
        "mixed.jsonl:8: custom_id is missing", "5 invalid lines; nothing was submitted"}) {
    EXPECT_NE(std::string::npos, aborted.output.find(where)) << where << "\n" << aborted.output;
  }
  EXPECT_EQ(std::string::npos, aborted.output.find("mixed.jsonl:7:")) << aborted.output;
  EXPECT_EQ(0, jobCount());

  auto skipped = llmqMerged({"batch", "submit", "--skip-invalid", "--tag", "mixed-run", "--priority", "7", file});
  EXPECT_EQ(0, skipped.exit_code) << skipped.output;
  EXPECT_NE(std::string::npos, skipped.output.find("mixed.jsonl:2: not valid JSON")) << skipped.output;
  EXPECT_NE(std::string::npos, skipped.output.find("skipping 5 invalid lines")) << skipped.output;
  EXPECT_NE(std::string::npos, skipped.output.find("3 of 3")) << skipped.output;
  std::vector<std::string> keys = keysOf("mixed-run");
  EXPECT_EQ((std::set<std::string>{"batch:mixed-run:a", "batch:mixed-run:b", "batch:mixed-run:e"}),
            std::set<std::string>(keys.begin(), keys.end()));
  json::Document list = callOk(*client_, "job.list", R"({"tag":"mixed-run"})");
  for (const auto& j : list["jobs"].GetArray()) {
    EXPECT_EQ(7, j["priority"].GetInt());
  }

  // Results by the input file: the three submitted lines, in file order.
  auto results = llmq({"batch", "results", "mixed-run", "--input", file});
  EXPECT_EQ(0, results.exit_code) << results.output;
  std::istringstream in(results.output);
  std::vector<std::string> ids;
  for (std::string l; std::getline(in, l);) {
    json::Document d;
    ASSERT_TRUE(json::parse(d, l, nullptr)) << l;
    ids.emplace_back(d["custom_id"].GetString());
  }
  EXPECT_EQ((std::vector<std::string>{"a", "b", "e"}), ids);
}

TEST_F(BatchTest, EmbeddingAndResponsesLinesBecomeJobsOfTheirKind) {
  start();
  const std::string file = dir_.file("vectors.jsonl");
  {
    std::ofstream out(file);
    out << R"({"custom_id":"e-1","method":"POST","url":"/v1/embeddings","body":{"model":"mock/embed","input":["one","two"],"dimensions":3}})"
        << "\n"
        << R"({"custom_id":"c-1","method":"POST","url":"/v1/chat/completions","body":{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}})"
        << "\n"
        << R"({"custom_id":"e-2","method":"POST","url":"/v1/embeddings","body":{"model":"mock/embed"}})"
        << "\n"
        << R"({"custom_id":"r-1","method":"POST","url":"/v1/responses","body":{"model":"mock/echo","input":"as a response"}})"
        << "\n";
  }
  // A line without input is refused with the others checked.
  auto refused = llmqMerged({"batch", "submit", file});
  EXPECT_EQ(2, refused.exit_code) << refused.output;
  EXPECT_NE(std::string::npos, refused.output.find("vectors.jsonl:3: body.input is missing")) << refused.output;

  auto run = llmqMerged({"batch", "submit", "--skip-invalid", file});
  EXPECT_EQ(0, run.exit_code) << run.output;
  const std::string out = dir_.file("vectors.out.jsonl");
  ASSERT_EQ(0, llmq({"batch", "results", "vectors", "--input", file, "-o", out}).exit_code);
  std::vector<std::string> lines = readLines(out);
  ASSERT_EQ(3u, lines.size());
  json::Document e;
  ASSERT_TRUE(json::parse(e, lines[0], nullptr)) << lines[0];
  EXPECT_STREQ("e-1", e["custom_id"].GetString());
  EXPECT_STREQ("list", e["response"]["body"]["object"].GetString()) << lines[0];
  ASSERT_EQ(2u, e["response"]["body"]["data"].Size());
  EXPECT_EQ(3u, e["response"]["body"]["data"][0]["embedding"].Size());
  json::Document c;
  ASSERT_TRUE(json::parse(c, lines[1], nullptr)) << lines[1];
  EXPECT_STREQ("chat.completion", c["response"]["body"]["object"].GetString()) << lines[1];
  json::Document rr;
  ASSERT_TRUE(json::parse(rr, lines[2], nullptr)) << lines[2];
  EXPECT_STREQ("response", rr["response"]["body"]["object"].GetString()) << lines[2];
  EXPECT_STREQ("as a response", rr["response"]["body"]["output"][0]["content"][0]["text"].GetString()) << lines[2];
  json::Document job = callOk(*client_, "job.get", R"({"job_id":")" + std::string(e["id"].GetString()) + "\"}");
  EXPECT_STREQ("embedding", job["kind"].GetString());
}

TEST_F(BatchTest, NoWaitStatusAndUsageErrors) {
  start();
  const std::string file = dir_.file("quick.jsonl");
  writeBatch(file, 20, "mock/echo");
  ASSERT_EQ(0, llmq({"pause"}).exit_code);
  auto submitted = llmq({"batch", "submit", "--no-wait", file});
  EXPECT_EQ(0, submitted.exit_code) << submitted.output;
  EXPECT_NE(std::string::npos, submitted.output.find("20 jobs submitted")) << submitted.output;

  auto status = llmq({"batch", "status", "quick"});
  EXPECT_EQ(0, status.exit_code) << status.output;
  EXPECT_NE(std::string::npos, status.output.find("0 of 20")) << status.output;
  EXPECT_NE(std::string::npos, status.output.find("20 queued")) << status.output;

  // Unfinished jobs are not in the results yet, and the command says so.
  auto early = llmqMerged({"batch", "results", "quick"});
  EXPECT_EQ(1, early.exit_code) << early.output;
  EXPECT_NE(std::string::npos, early.output.find("20 jobs of the batch have not ended")) << early.output;

  ASSERT_EQ(0, llmq({"resume"}).exit_code);
  auto finished = llmq({"batch", "submit", file});
  EXPECT_EQ(0, finished.exit_code) << finished.output;
  EXPECT_NE(std::string::npos, finished.output.find("20 succeeded")) << finished.output;

  EXPECT_EQ(1, llmq({"batch", "status", "nothing-here"}).exit_code);
  EXPECT_EQ(2, llmq({"batch", "submit"}).exit_code);
  EXPECT_EQ(2, llmq({"batch", "submit", dir_.file("missing.jsonl")}).exit_code);
  EXPECT_EQ(2, llmq({"batch", "submit", "-", "--no-wait"}).exit_code) << "stdin needs --tag";
  EXPECT_EQ(2, llmq({"batch", "frobnicate"}).exit_code);
  auto help = llmq({"batch", "--help"});
  EXPECT_EQ(0, help.exit_code);
  EXPECT_NE(std::string::npos, help.output.find("--skip-invalid")) << help.output;
}

}  // namespace
}  // namespace llmq::testing
