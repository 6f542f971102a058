// Integration: llmqd under systemd's protocols, and the files that install it.
// - sd_notify: READY=1, STATUS= with the queue figures, WATCHDOG=1 at half of
//   WATCHDOG_USEC and STOPPING=1, read from a NOTIFY_SOCKET the test owns;
// - socket activation: llmqd started by systemd-socket-activate (Debian's systemd
//   package) takes the socket as fd 3 and runs jobs on it;
// - the install rules: `cmake --install` into a temporary DESTDIR puts every
//   file in place, and the installed units pass `systemd-analyze verify`, stay
//   under an exposure threshold of `systemd-analyze security`, and the sysusers.d
//   and tmpfiles.d entries create the user and directories in a scratch root;
// - the sample configuration is valid and lists every key llmqd knows.
// systemd does not run as PID 1 here: these use only tools that work without it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";
constexpr char kSysusers[] = "/usr/bin/systemd-sysusers";
constexpr char kTmpfiles[] = "/usr/bin/systemd-tmpfiles";
// `systemd-analyze security` exposure of llmqd.service, 0 (best) to 10; 1.2 when
// written. A change to the unit that raises it past this fails the test.
constexpr double kMaxExposure = 1.5;

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

mode_t fileMode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// (No std::regex here: GCC 12's libstdc++ regex trips -Wmaybe-uninitialized
// under the sanitizer build's -O1 -Werror.)
std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> splitOn(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string field; std::getline(in, field, sep);) {
    out.push_back(field);
  }
  return out;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The rest of the first line of `text` that starts with `prefix`, or nullopt.
std::optional<std::string> lineAfter(const std::string& text, const std::string& prefix) {
  for (const std::string& line : splitLines(text)) {
    if (line.rfind(prefix, 0) == 0) {
      return line.substr(prefix.size());
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// sd_notify and socket activation

// Mock jobs that finish quickly; a short grace period so a stop with a job still
// running (mock/hang) does not take the default 10 s.
constexpr char kConfig[] =
    "[daemon]\nshutdown_grace_s = 0.2\n"
    "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n";

TEST(NotifySocketTest, ReadyStatusWatchdogAndStopping) {
  TempDir dir;
  // WATCHDOG_USEC=200 ms: llmqd must ping every 100 ms.
  DaemonProcess daemon(dir.path(), {.config_toml = kConfig, .extra_env = {"WATCHDOG_USEC=200000"}});
  ASSERT_TRUE(daemon.start());

  // Startup progress, then READY=1, then the figures of an empty queue.
  std::vector<std::string> before_ready = daemon.notifications();
  ASSERT_FALSE(before_ready.empty());
  EXPECT_EQ(0u, before_ready.front().rfind("STATUS=opening database ", 0)) << before_ready.front();
  EXPECT_TRUE(
      daemon.waitForNotification("STATUS=queued 0, running 0, retry_wait 0, held 0, in flight 0, connections 0"));

  // The watchdog: pings keep coming while the loop runs.
  size_t now = daemon.notificationCount();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(daemon.waitForNotification("WATCHDOG=1", now, 30000));
    now = daemon.notificationCount();
  }

  // STATUS= follows the queue: a job that never answers is running.
  auto client = daemon.connect();
  ASSERT_NE(nullptr, client);
  std::string id = submit(*client, "mock/hang");
  ASSERT_FALSE(id.empty());
  std::string status;
  EXPECT_TRUE(
      daemon.waitForNotification("running 1, retry_wait 0, held 0, in flight 1, connections 1", 0, 10000, &status));
  EXPECT_EQ("STATUS=queued 0, running 1, retry_wait 0, held 0, in flight 1, connections 1", status);

  // SIGTERM: STOPPING=1 first, then a status that says so.
  size_t before_stop = daemon.notificationCount();
  ASSERT_TRUE(daemon.stop());
  EXPECT_TRUE(daemon.waitForNotification("STOPPING=1", before_stop, 30000));
  EXPECT_TRUE(daemon.waitForNotification("STATUS=stopping: ", before_stop, 30000));
  std::vector<std::string> all = daemon.notifications();
  EXPECT_EQ(1, std::count(all.begin(), all.end(), "READY=1"));
  EXPECT_EQ(1, std::count(all.begin(), all.end(), "STOPPING=1"));
  EXPECT_LT(std::find(all.begin(), all.end(), "READY=1"), std::find(all.begin(), all.end(), "STOPPING=1"));
}

TEST(NotifySocketTest, NoWatchdogPingsUnlessAsked) {
  TempDir dir;
  // No WATCHDOG_USEC at all, then one meant for another process (WATCHDOG_PID).
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{}, std::vector<std::string>{"WATCHDOG_USEC=100000", "WATCHDOG_PID=1"}}) {
    DaemonProcess daemon(dir.path(), {.config_toml = kConfig, .extra_env = env});
    ASSERT_TRUE(daemon.start());
    EXPECT_FALSE(daemon.waitForNotification("WATCHDOG=1", 0, 500));
    ASSERT_TRUE(daemon.stop());
  }
}

TEST(SocketActivationTest, JobsRunOnTheSocketSystemdPasses) {
  if (!executable(kSocketActivatePath)) {
    GTEST_SKIP() << kSocketActivatePath << " is missing (Debian package systemd)";
  }
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = kConfig, .socket_activation = true});
  ASSERT_TRUE(daemon.start());
  EXPECT_NE(std::string::npos, daemon.log().find("listening on the socket passed by systemd")) << daemon.log();

  auto client = daemon.connect();
  ASSERT_NE(nullptr, client);
  std::string id = submit(*client, "mock/activated");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ("succeeded", waitTerminal(*client, id));
  json::Document job = callOk(*client, "job.get", "{\"job_id\":\"" + id + "\"}");
  ASSERT_TRUE(job.IsObject());
  EXPECT_STREQ("mock/activated", job["model_used"].GetString());
  client.reset();

  size_t before_stop = daemon.notificationCount();
  ASSERT_TRUE(daemon.stop());
  EXPECT_TRUE(daemon.waitForNotification("STOPPING=1", before_stop, 30000));
  // The socket belongs to systemd: llmqd must not unlink what it did not bind.
  struct stat st {};
  EXPECT_EQ(0, ::lstat(daemon.socketPath().c_str(), &st));
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  // A second activation on the same database sees the job.
  ASSERT_TRUE(daemon.start());
  client = daemon.connect();
  ASSERT_NE(nullptr, client);
  job = callOk(*client, "job.get", "{\"job_id\":\"" + id + "\"}");
  ASSERT_TRUE(job.IsObject());
  EXPECT_STREQ("succeeded", job["state"].GetString());
  ASSERT_TRUE(daemon.stop());
}

// ---------------------------------------------------------------------------
// Install rules, units, sysusers.d, tmpfiles.d

// Installs this build tree as the .deb would lay it out: prefix /usr under a
// temporary DESTDIR (/etc/llmq goes to <root>/etc/llmq, never to the real one).
class InstalledTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.file("root");
    install();
  }

  void install() {
    CommandResult r = runCommand({LLMQ_CMAKE_COMMAND, "--install", LLMQ_BUILD_DIR, "--prefix", "/usr"}, "",
                                 {"DESTDIR=" + root_}, 120000);
    ASSERT_EQ(0, r.exit_code) << r.output;
    install_log_ = r.output;
  }

  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

  // Copies of the installed units in <dir>/<subdir>/, with ExecStart= pointing at
  // the installed binary under the temporary root, so that `systemd-analyze
  // verify` can check that it exists. Nothing else is changed.
  std::string unitsForVerify(const std::string& installed_dir, const std::string& subdir) {
    std::string out = dir_.file(subdir);
    ::mkdir(out.c_str(), 0755);
    for (const char* unit : {"llmqd.service", "llmqd.socket"}) {
      std::string text = readFile(path(installed_dir + "/" + unit));
      EXPECT_FALSE(text.empty()) << unit;
      std::string from = "ExecStart=/usr/bin/llmqd";
      if (size_t at = text.find(from); at != std::string::npos) {
        text.replace(at, from.size(), "ExecStart=" + path("usr/bin/llmqd"));
      }
      writeFile(out + "/" + unit, text);
    }
    return out;
  }

  TempDir dir_;
  std::string root_;
  std::string install_log_;
};

TEST_F(InstalledTreeTest, PutsEveryFileInPlace) {
  for (const char* bin : {"usr/bin/llmqd", "usr/bin/llmq"}) {
    EXPECT_TRUE(executable(path(bin))) << bin;
  }
  for (const char* file :
       {"usr/lib/systemd/system/llmqd.service", "usr/lib/systemd/system/llmqd.socket",
        "usr/lib/systemd/user/llmqd.service", "usr/lib/systemd/user/llmqd.socket", "usr/lib/sysusers.d/llmq.conf",
        "usr/lib/tmpfiles.d/llmq.conf", "usr/share/doc/llmq/README.md", "usr/share/doc/llmq/docs/operations.md",
        "usr/share/doc/llmq/docs/configuration.md", "usr/share/doc/llmq/ipc/PROTOCOL.md",
        "usr/share/doc/llmq/examples/llmqd.toml.example", "usr/share/doc/llmq/examples/llmqd.env.example"}) {
    EXPECT_EQ(0, ::access(path(file).c_str(), R_OK)) << file;
  }
  // The admin's files: the config readable by llmq, the secrets root's only.
  EXPECT_EQ(0644u, fileMode(path("etc/llmq/llmqd.toml")));
  EXPECT_EQ(0600u, fileMode(path("etc/llmq/llmqd.env")));
  // The units name the installed binary and the installed docs; no template is left.
  for (const char* unit : {"usr/lib/systemd/system/llmqd.service", "usr/lib/systemd/user/llmqd.service"}) {
    std::string text = readFile(path(unit));
    EXPECT_NE(std::string::npos, text.find("\nExecStart=/usr/bin/llmqd\n")) << unit;
    EXPECT_NE(std::string::npos, text.find("Documentation=file:/usr/share/doc/llmq/docs/operations.md")) << unit;
    EXPECT_EQ(std::string::npos, text.find("@LLMQ")) << unit;
  }
}

// llmqd.service runs llmqd as llmq, whose built-in defaults would be under its
// home; the unit's Environment= must lead them to /etc/llmq and /var/lib/llmq.
TEST_F(InstalledTreeTest, ServiceEnvironmentLeadsToTheSystemPaths) {
  std::string unit = readFile(path("usr/lib/systemd/system/llmqd.service"));
  std::optional<std::string> assignments = lineAfter(unit, "Environment=");
  ASSERT_TRUE(assignments.has_value()) << unit;
  // %E and %S of the system manager, moved under the temporary root.
  std::vector<std::string> env = {"HOME=/nonexistent", "XDG_RUNTIME_DIR="};
  std::istringstream words(*assignments);
  for (std::string word; words >> word;) {
    word = replaceAll(word, "%E", root_ + "/etc");
    word = replaceAll(word, "%S", root_ + "/var/lib");
    env.push_back(word);
  }
  CommandResult r = runCommand({path("usr/bin/llmqd"), "--check-config"}, "", env);
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("# config file: " + root_ + "/etc/llmq/llmqd.toml\n")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("# database: " + root_ + "/var/lib/llmq/llmq.db\n")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("# socket: /run/llmq/llmqd.sock (unless systemd passes one)\n"))
      << r.output;
}

TEST_F(InstalledTreeTest, ReinstallKeepsTheAdminsConfig) {
  writeFile(path("etc/llmq/llmqd.toml"), "[daemon]\nmax_inflight = 3\n");
  writeFile(path("etc/llmq/llmqd.env"), "OPENROUTER_API_KEY=sk-or-v1-local\n");
  install();
  EXPECT_EQ("[daemon]\nmax_inflight = 3\n", readFile(path("etc/llmq/llmqd.toml")));
  EXPECT_EQ("OPENROUTER_API_KEY=sk-or-v1-local\n", readFile(path("etc/llmq/llmqd.env")));
  EXPECT_NE(std::string::npos, install_log_.find("Keeping: ")) << install_log_;
}

TEST_F(InstalledTreeTest, SystemUnitsPassSystemdAnalyzeVerify) {
  if (!executable(kSystemdAnalyze)) {
    GTEST_SKIP() << kSystemdAnalyze << " is missing (Debian package systemd)";
  }
  std::string units = unitsForVerify("usr/lib/systemd/system", "system-units");
  CommandResult r =
      runCommand({kSystemdAnalyze, "verify", "--man=no", units + "/llmqd.socket", units + "/llmqd.service"});
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_EQ("", r.output);  // Not even a warning.
}

TEST_F(InstalledTreeTest, UserUnitsPassSystemdAnalyzeVerify) {
  if (!executable(kSystemdAnalyze)) {
    GTEST_SKIP() << kSystemdAnalyze << " is missing (Debian package systemd)";
  }
  std::string units = unitsForVerify("usr/lib/systemd/user", "user-units");
  std::string runtime = dir_.file("xdg-runtime");
  ::mkdir(runtime.c_str(), 0700);
  CommandResult r = runCommand(
      {kSystemdAnalyze, "--user", "verify", "--man=no", units + "/llmqd.socket", units + "/llmqd.service"}, "",
      {"XDG_RUNTIME_DIR=" + runtime});
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_EQ("", r.output);
}

TEST_F(InstalledTreeTest, ServiceExposureStaysLow) {
  if (!executable(kSystemdAnalyze)) {
    GTEST_SKIP() << kSystemdAnalyze << " is missing (Debian package systemd)";
  }
  std::string units = unitsForVerify("usr/lib/systemd/system", "security");
  CommandResult r =
      runCommand({kSystemdAnalyze, "security", "--offline=true", "--no-pager", units + "/llmqd.service"}, "", {},
                 30000, /*merge_stderr=*/false);
  const std::string marker = "Overall exposure level for llmqd.service: ";
  size_t at = r.output.find(marker);
  ASSERT_NE(std::string::npos, at) << r.output;
  std::string figure =
      r.output.substr(at + marker.size(), r.output.find(' ', at + marker.size()) - at - marker.size());
  double exposure = std::strtod(figure.c_str(), nullptr);
  RecordProperty("exposure", figure);
  std::printf("systemd-analyze security: llmqd.service exposure %s\n", figure.c_str());
  EXPECT_GT(exposure, 0.0) << r.output;
  EXPECT_LE(exposure, kMaxExposure) << r.output;
}

TEST_F(InstalledTreeTest, SysusersAndTmpfilesCreateUserAndDirectories) {
  if (!executable(kSysusers) || !executable(kTmpfiles)) {
    GTEST_SKIP() << "systemd-sysusers or systemd-tmpfiles is missing (Debian package systemd)";
  }
  // A scratch root: the users go to <root>/etc/passwd, the directories under it.
  std::string scratch = dir_.file("scratch");
  ::mkdir(scratch.c_str(), 0755);
  ::mkdir((scratch + "/etc").c_str(), 0755);
  CommandResult users = runCommand({kSysusers, "--root=" + scratch, path("usr/lib/sysusers.d/llmq.conf")});
  ASSERT_EQ(0, users.exit_code) << users.output;
  std::string passwd = readFile(scratch + "/etc/passwd");
  std::optional<std::string> entry = lineAfter(passwd, "llmq:");
  ASSERT_TRUE(entry.has_value()) << passwd;
  // x:UID:GID:GECOS:HOME:SHELL
  std::vector<std::string> fields = splitOn(*entry, ':');
  ASSERT_EQ(6u, fields.size()) << *entry;
  const int uid = std::atoi(fields[1].c_str());
  EXPECT_GT(uid, 0);
  EXPECT_LT(uid, 1000) << "a system uid";
  EXPECT_EQ("/var/lib/llmq", fields[4]);
  EXPECT_NE(std::string::npos, fields[5].find("nologin")) << fields[5];
  EXPECT_NE(std::string::npos, readFile(scratch + "/etc/group").find("llmq:x:" + fields[2] + ":"));

  CommandResult dirs =
      runCommand({kTmpfiles, "--root=" + scratch, "--create", path("usr/lib/tmpfiles.d/llmq.conf")});
  ASSERT_EQ(0, dirs.exit_code) << dirs.output;
  struct stat st {};
  ASSERT_EQ(0, ::stat((scratch + "/var/lib/llmq").c_str(), &st));
  EXPECT_EQ(0700u, st.st_mode & 07777);
  EXPECT_EQ(static_cast<uid_t>(uid), st.st_uid);
  ASSERT_EQ(0, ::stat((scratch + "/run/llmq").c_str(), &st));
  EXPECT_EQ(0755u, st.st_mode & 07777);
}

// ---------------------------------------------------------------------------
// The sample configuration (that it lists every key with its default is a unit
// test of the key table, tests/unit/daemon/config_keys_test.cc)

TEST(SampleConfigTest, IsValidAsShippedAndUncommented) {
  TempDir dir;
  const std::string sample = std::string(LLMQ_SOURCE_DIR) + "/systemd/llmqd.toml.example";
  std::string text = readFile(sample);
  ASSERT_FALSE(text.empty());
  std::vector<std::string> base = {LLMQD_PATH, "--check-config",       "--db",    dir.file("llmq.db"),
                                   "--socket", dir.file("llmqd.sock"), "--config"};
  auto check = [&](const std::string& file) {
    std::vector<std::string> argv = base;
    argv.push_back(file);
    return runCommand(argv);
  };
  // As shipped, every line is a comment: the defaults.
  CommandResult shipped = check(sample);
  EXPECT_EQ(0, shipped.exit_code) << shipped.output;
  // With every `#key = value` and `#[section]` line uncommented: each key exists
  // and each value is one llmqd accepts.
  std::string active;
  for (const std::string& line : splitLines(text)) {
    bool setting = line.size() > 1 && line[0] == '#' &&
                   (line[1] == '[' || line[1] == '"' || std::islower(static_cast<unsigned char>(line[1])));
    active += (setting ? line.substr(1) : line) + "\n";
  }
  writeFile(dir.file("active.toml"), active);
  CommandResult uncommented = check(dir.file("active.toml"));
  EXPECT_EQ(0, uncommented.exit_code) << uncommented.output << "\n" << active;
}

}  // namespace
}  // namespace llmq::testing
