// llmqd's entry point: parse argv, build the Daemon, map the result to an exit
// code. Everything else lives in the llmq_daemon library.
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "llmq/version.h"

namespace {

constexpr char kUsage[] =
    "usage: llmqd [options]\n"
    "\n"
    "The llmq daemon: a durable, rate-limited job queue for LLM chat completions.\n"
    "\n"
    "options:\n"
    "  --socket PATH      Unix socket to listen on (default: $LLMQ_SOCKET, systemd's\n"
    "                     socket, $XDG_RUNTIME_DIR/llmq/llmqd.sock, /run/llmq/llmqd.sock)\n"
    "  --db PATH          SQLite database (default: $LLMQ_DB, $XDG_STATE_HOME/llmq/llmq.db,\n"
    "                     /var/lib/llmq/llmq.db)\n"
    "  --config PATH      TOML config file (default: $LLMQ_CONFIG,\n"
    "                     $XDG_CONFIG_HOME/llmq/llmqd.toml, /etc/llmq/llmqd.toml)\n"
    "  --http[=HOST:PORT] serve the OpenAI-compatible HTTP API (default 127.0.0.1:8088)\n"
    "  --log-level LEVEL  error, warning, notice, info (default) or debug\n"
    "  --check-config     validate the configuration, print it, and exit\n"
    "  --version          print the version and exit\n"
    "  -h, --help         print this help and exit\n";

// Lets the daemon hold many client connections: raise the soft fd limit to the hard one.
void raiseFdLimit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  llmq::daemon::CommandLine cli;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::optional<std::string>& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "llmqd: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      out = argv[++i];
    };
    if (arg == "--socket") {
      value(cli.socket);
    } else if (arg == "--db") {
      value(cli.db);
    } else if (arg == "--config") {
      value(cli.config);
    } else if (arg == "--log-level") {
      value(cli.log_level);
    } else if (arg == "--http") {
      cli.http = "";
    } else if (arg.rfind("--http=", 0) == 0) {
      cli.http = arg.substr(7);
    } else if (arg == "--check-config") {
      cli.check_config = true;
    } else if (arg == "--version") {
      std::printf("llmqd %s\n", llmq::kVersion);
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "llmqd: unknown option %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }

  auto config = llmq::daemon::loadConfig(cli);
  if (!config) {
    std::fprintf(stderr, "llmqd: %s\n", config.error().message.c_str());
    return 2;
  }
  if (cli.check_config) {
    std::fputs(llmq::daemon::describe(*config).c_str(), stdout);
    return 0;
  }
  raiseFdLimit();
  // Whatever llmqd creates holds prompts, answers or keys: the database and its
  // -wal/-shm files, backups, the secret key, the API token. They are private
  // whatever umask llmqd was started with; the socket's mode is set explicitly
  // ([ipc] socket_mode), after bind.
  ::umask(077);
  llmq::daemon::Daemon daemon(std::move(config).value(), cli);
  if (auto r = daemon.start(); !r) {
    LOG_ERROR("%s", r.error().message.c_str());
    return 1;
  }
  return daemon.run();
}
