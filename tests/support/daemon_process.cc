// DaemonProcess and runCommand: fork/exec with a bounded wait, never an
// unbounded one, so a hung daemon fails the test instead of the CI run.
#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::vector<char*> cstrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size());
  for (auto& s : v) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> environmentWith(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& x : extra) {
      overridden = overridden || x.substr(0, x.find('=')) == name;
    }
    // Keep tests hermetic: the caller's llmq variables never leak in.
    if (!overridden && name.rfind("LLMQ_", 0) != 0 && name != "NOTIFY_SOCKET" && name != "LISTEN_FDS" &&
        name != "LISTEN_PID") {
      env.push_back(entry);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// One connection to a Unix stream socket, closed at once; false if nothing listens yet.
bool connectOnce(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::vector<std::string> openRouterEnv(const std::string& key, const std::string& base_url) {
  return {"OPENROUTER_API_KEY=" + key, "OPENROUTER_BASE_URL=" + base_url};
}

int waitForExit(pid_t pid, int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0 || nowMs() >= deadline) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

DaemonProcess::DaemonProcess(std::string dir, DaemonOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      socket_(dir_ + "/llmqd.sock"),
      db_(dir_ + "/llmq.db"),
      log_(dir_ + "/llmqd.log"),
      notify_(dir_ + "/notify-" + std::to_string(reinterpret_cast<uintptr_t>(this) % 100000) + ".sock") {}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill9();
  }
  if (notify_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(notify_mu_);
      notify_stop_ = true;
    }
    notify_thread_.join();
  }
  if (notify_fd_ >= 0) {
    ::close(notify_fd_);
  }
}

::testing::AssertionResult DaemonProcess::start(int timeout_ms) {
  if (pid_ > 0) {
    return ::testing::AssertionFailure() << "llmqd is already running";
  }
  if (notify_fd_ < 0) {
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, notify_.c_str(), sizeof addr.sun_path - 1);
    ::unlink(notify_.c_str());
    if (::bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return ::testing::AssertionFailure() << "binding " << notify_ << ": " << std::strerror(errno);
    }
    notify_thread_ = std::thread([this] { readNotifications(); });
  }
  const size_t first_message = notificationCount();  // READY=1 of this start, not of an earlier one.
  std::vector<std::string> argv = {options_.daemon_path, "--db", db_};
  if (!options_.socket_activation) {
    argv.emplace_back("--socket");
    argv.push_back(socket_);
  }
  std::string config = dir_ + "/llmqd.toml";
  std::string toml = options_.config_toml;
  if (!options_.catalog_fetch && toml.find("[catalog]") == std::string::npos) {
    toml += "\n[catalog]\nrefresh_at_start = false\nrefresh_s = 0\n";
  }
  if (!options_.catalog_fetch && toml.find("[openrouter]") == std::string::npos) {
    toml += "\n[openrouter]\ncredit_check_s = 0\n";  // Nor GET /key in the fake's records.
  }
  std::ofstream(config) << toml;
  argv.emplace_back("--config");
  argv.push_back(config);
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> extra = options_.extra_env;
  extra.push_back("NOTIFY_SOCKET=" + notify_);
  // A preloaded library (libfaketime in the clock tests) comes ahead of an
  // instrumented llmqd's ASan runtime, which then refuses to start unless told
  // not to check the order. Harmless in an uninstrumented build.
  const auto has = [&extra](std::string_view prefix) {
    return std::any_of(extra.begin(), extra.end(),
                       [prefix](const std::string& e) { return e.starts_with(prefix); });
  };
  if (has("LD_PRELOAD=") && !has("ASAN_OPTIONS=")) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    extra.push_back(std::string("ASAN_OPTIONS=") +
                    (asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : "") + "verify_asan_link_order=0");
  }
  std::vector<std::string> env = environmentWith(extra);
  if (options_.socket_activation) {
    // systemd-socket-activate hands its child only TERM, PATH, USER, HOME and what
    // --setenv names; its own environment lacks NOTIFY_SOCKET, so every READY=1
    // seen is llmqd's.
    std::vector<std::string> wrapped = {kSocketActivatePath, "--listen=" + socket_};
    for (const std::string& e : extra) {
      wrapped.push_back("--setenv=" + e);
    }
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
      if (const char* v = std::getenv(name); v != nullptr) {
        wrapped.push_back(std::string("--setenv=") + name + "=" + v);
      }
    }
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    argv = std::move(wrapped);
    env = environmentWith({});
    ::unlink(socket_.c_str());  // Left by the previous run's listener, which died with it.
  }
  auto args = cstrings(argv);
  auto envp = cstrings(env);

  int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // llmqd must not outlive a test binary that crashes or is killed: SIGKILL,
    // which it is built to survive, and no test is left waiting for a grace period.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid < 0) {
    return ::testing::AssertionFailure() << "fork failed";
  }
  pid_ = pid;
  int64_t deadline = nowMs() + timeout_ms;
  // With socket activation llmqd starts on the first connection, made here as
  // soon as systemd-socket-activate listens; it is closed at once.
  bool triggered = !options_.socket_activation;
  while (nowMs() < deadline) {
    if (!triggered) {
      triggered = connectOnce(socket_);
    }
    if (waitForNotification("READY=1", first_message, 20)) {
      return ::testing::AssertionSuccess();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "llmqd exited before it was ready (status " << status << "); log:\n"
                                           << log();
    }
  }
  return ::testing::AssertionFailure() << "llmqd did not send READY=1 within " << timeout_ms << " ms; log:\n"
                                       << log();
}

void DaemonProcess::readNotifications() {
  char buf[4096];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(notify_mu_);
      if (notify_stop_) {
        return;
      }
    }
    pollfd p{notify_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) {
      continue;
    }
    ssize_t n = ::recv(notify_fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      continue;
    }
    std::lock_guard<std::mutex> lock(notify_mu_);
    notifications_.emplace_back(buf, static_cast<size_t>(n));
    notify_cv_.notify_all();
  }
}

std::vector<std::string> DaemonProcess::notifications() const {
  std::lock_guard<std::mutex> lock(notify_mu_);
  return notifications_;
}

size_t DaemonProcess::notificationCount() const {
  std::lock_guard<std::mutex> lock(notify_mu_);
  return notifications_.size();
}

::testing::AssertionResult DaemonProcess::waitForNotification(const std::string& text, size_t from, int timeout_ms,
                                                              std::string* message) const {
  std::unique_lock<std::mutex> lock(notify_mu_);
  size_t i = from;
  bool found = notify_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    for (; i < notifications_.size(); ++i) {
      if (notifications_[i].find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  });
  if (found) {
    if (message != nullptr) {
      *message = notifications_[i];
    }
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure();
  failure << "no notification containing \"" << text << "\" within " << timeout_ms << " ms; received:";
  for (size_t j = from; j < notifications_.size(); ++j) {
    failure << "\n  " << notifications_[j];
  }
  return failure;
}

::testing::AssertionResult DaemonProcess::stop(int timeout_ms) {
  if (pid_ <= 0) {
    return ::testing::AssertionFailure() << "llmqd is not running";
  }
  ::kill(pid_, SIGTERM);
  int status = waitForExit(pid_, timeout_ms);
  if (status < 0) {
    kill9();
    return ::testing::AssertionFailure() << "llmqd did not exit within " << timeout_ms << " ms of SIGTERM; log:\n"
                                         << log();
  }
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "llmqd exited with status " << status << "; log:\n" << log();
  }
  return ::testing::AssertionSuccess();
}

void DaemonProcess::kill9() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  waitForExit(pid_, 10000);
  pid_ = -1;
}

std::string DaemonProcess::log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

::testing::AssertionResult DaemonProcess::waitForLog(const std::string& text, size_t from, int timeout_ms) const {
  if (waitUntil([&] { return log().find(text, from) != std::string::npos; }, timeout_ms, "", 20)) {
    return ::testing::AssertionSuccess();
  }
  const std::string all = log();
  return ::testing::AssertionFailure() << "no \"" << text << "\" in llmqd's log within " << timeout_ms
                                       << " ms; log:\n"
                                       << (from < all.size() ? all.substr(from) : std::string());
}

int DaemonProcess::loggedPort(const std::string& marker) const {
  const std::string all = log();
  const size_t at = all.rfind(marker);
  return at == std::string::npos ? 0 : std::atoi(all.c_str() + at + marker.size());
}

std::unique_ptr<ipc::Client> DaemonProcess::connect() {
  auto c = ipc::Client::connect(socket_);
  if (!c) {
    ADD_FAILURE() << c.error().message;
    return nullptr;
  }
  return std::move(c).value();
}

CommandResult runCommand(const std::vector<std::string>& argv_in, const std::string& stdin_text,
                         const std::vector<std::string>& extra_env, int timeout_ms, bool merge_stderr) {
  CommandResult result;
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return result;
  }
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = environmentWith(extra_env);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // As for llmqd above.
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    if (merge_stderr) {
      ::dup2(out_pipe[1], STDERR_FILENO);
    } else {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDERR_FILENO);
    }
    auto args = cstrings(argv);
    auto envp = cstrings(env);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (!stdin_text.empty()) {
    ssize_t ignored = ::write(in_pipe[1], stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  ::close(in_pipe[1]);
  int64_t deadline = nowMs() + timeout_ms;
  char buf[8192];
  for (;;) {
    int left = static_cast<int>(deadline - nowMs());
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) {
      continue;
    }
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = waitForExit(pid, 5000);
  if (status < 0) {
    ::kill(pid, SIGKILL);
    waitForExit(pid, 5000);
  }
  result.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace llmq::testing
