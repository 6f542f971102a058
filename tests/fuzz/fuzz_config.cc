// fuzz_config: the TOML configuration file through daemon::loadConfig, as llmqd
// reads it at startup and on SIGHUP, and the accepted ones through describe()
// (what --check-config prints). loadConfig only reads paths, so each input is
// written to one file in a private temporary directory first. Parsing may throw
// internally but must come back as a Result: an exception escaping here, or any
// sanitizer report, is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"
#include "daemon/config.h"

namespace {

std::string g_dir;
std::string g_file;

void removeDir() {
  ::unlink(g_file.c_str());
  ::rmdir(g_dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The environment also feeds loadConfig: make it the same for every input.
  for (const char* name : {"LLMQ_SOCKET", "LLMQ_CONFIG", "LLMQ_DB", "OPENROUTER_API_KEY", "OPEN_ROUTER_API_KEY",
                           "OPENROUTER_API_KEYS", "OPENROUTER_BASE_URL", "OPENROUTER_PREFERRED_MODELS",
                           "OPENROUTER_TIMEOUT_MS", "OPENROUTER_MAX_RETRIES", "OPENROUTER_COST_BUDGET_USD"}) {
    ::unsetenv(name);
  }
  llmq::log::setLevel(llmq::log::Level::kError);
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/llmq-fuzz-config.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  g_dir = tmpl;
  g_file = g_dir + "/llmqd.toml";
  std::atexit(removeDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(g_file.c_str(), "wb");
  if (f == nullptr) {
    std::perror(g_file.c_str());
    std::abort();
  }
  if (size > 0 && std::fwrite(data, 1, size, f) != size) {
    std::perror(g_file.c_str());
    std::abort();
  }
  std::fclose(f);

  llmq::daemon::CommandLine cli;
  cli.config = g_file;
  cli.socket = g_dir + "/llmqd.sock";
  cli.db = g_dir + "/llmq.db";
  auto config = llmq::daemon::loadConfig(cli);
  // LLMQ_FUZZ_ECHO=1 prints the outcome (to check a seed by hand).
  static const bool echo = std::getenv("LLMQ_FUZZ_ECHO") != nullptr;
  if (config) {
    std::string text = llmq::daemon::describe(*config);
    if (echo) {
      std::fprintf(stderr, "accepted:\n%s\n", text.c_str());
    }
  } else if (echo) {
    std::fprintf(stderr, "rejected: %s\n", config.error().message.c_str());
  }
  return 0;
}
