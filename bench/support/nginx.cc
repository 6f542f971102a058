// CannedUpstream: writes <dir>/nginx.conf and <dir>/www/sse/chat/completions,
// fork/execs nginx in its own process group, and waits for it with bounded polls.
#include "bench/support/nginx.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/support/http_client.h"

namespace llmq::bench {
namespace {

constexpr char kContent[] =
    "Three likely causes: a lock held by the migration, a missing index on the exported "
    "table, a changed column type. Next steps: check pg_locks, compare the plans, diff the "
    "schema.";

// An OpenRouter-shaped chat.completion (no single quote, `$` or backslash: it is
// a single-quoted nginx string).
std::string cannedJson() {
  std::string b =
      "{\"id\":\"gen-1732417496-canned\",\"provider\":\"Canned\",\"model\":\"bench/json\","
      "\"object\":\"chat.completion\",\"created\":1732417496,\"choices\":[{\"logprobs\":null,"
      "\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\",\"index\":0,\"message\":{"
      "\"role\":\"assistant\",\"content\":\"";
  b += kContent;
  b += "\",\"refusal\":null,\"reasoning\":null}}],\"usage\":{\"prompt_tokens\":61,"
       "\"completion_tokens\":38,\"total_tokens\":99,\"cost\":0.0000876,\"is_byok\":false,"
       "\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{"
       "\"reasoning_tokens\":0}}}";
  return b;
}

std::string chunk(const std::string& choices_and_more) {
  return "data: {\"id\":\"gen-1732417496-canned\",\"provider\":\"Canned\",\"model\":\"bench/sse\","
         "\"object\":\"chat.completion.chunk\",\"created\":1732417496," +
         choices_and_more + "}\n\n";
}

std::string cannedSse(int chunks) {
  std::string b = ": OPENROUTER PROCESSING\n\n";
  for (int i = 0; i < chunks; ++i) {
    b += chunk("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"" +
               CannedUpstream::sseDelta(i) +
               "\"},\"finish_reason\":null,\"native_finish_reason\":null,\"logprobs\":null}]");
  }
  b += chunk(
      "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\",\"logprobs\":null}]");
  b += chunk("\"choices\":[],\"usage\":{\"prompt_tokens\":61,\"completion_tokens\":" + std::to_string(chunks) +
             ",\"total_tokens\":" + std::to_string(61 + chunks) + ",\"cost\":0.000321,\"is_byok\":false}");
  b += "data: [DONE]\n\n";
  return b;
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// A port the kernel just handed out on 127.0.0.1. nginx binds it right after;
// a lost race shows as nginx exiting at once, and start() tries another port.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool canConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// LLMQ_BENCH_NGINX, else the Debian location, else whatever PATH finds.
std::string nginxBinary() {
  if (const char* p = std::getenv("LLMQ_BENCH_NGINX"); p != nullptr && *p != '\0') {
    return p;
  }
  for (const char* p : {"/usr/sbin/nginx", "/usr/bin/nginx"}) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return "nginx";
}

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

const char* CannedUpstream::jsonContent() { return kContent; }

std::string CannedUpstream::sseDelta(int i) {
  char w[16];
  std::snprintf(w, sizeof w, "w%03d ", i);
  return w;
}

std::string CannedUpstream::sseContent() const {
  std::string s;
  for (int i = 0; i < opts_.sse_chunks; ++i) {
    s += sseDelta(i);
  }
  return s;
}

std::string CannedUpstream::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

CannedUpstream::CannedUpstream(const CannedUpstreamOptions& opts)
    : opts_(opts), json_body_(cannedJson()), sse_body_(cannedSse(opts.sse_chunks)) {}

CannedUpstream::~CannedUpstream() {
  if (pid_ > 0) {
    (void)stop();
  }
}

Result<std::unique_ptr<CannedUpstream>> CannedUpstream::start(const CannedUpstreamOptions& opts) {
  std::unique_ptr<CannedUpstream> u(new CannedUpstream(opts));
  const std::string& d = u->dir_.path();
  // nginx's workers run as `nobody` when the benchmark runs as root: they must be
  // able to read the SSE file. Nothing in this directory is secret.
  std::string www = d + "/www/sse/chat";
  for (const std::string& p : {d + "/www", d + "/www/sse", www}) {
    ::mkdir(p.c_str(), 0755);
  }
  ::chmod(d.c_str(), 0755);
  if (!writeFile(www + "/completions", u->sse_body_)) {
    return makeError(ErrorKind::kIo, "writing the SSE body in " + www);
  }
  ::chmod((www + "/completions").c_str(), 0644);

  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = freePort();
    if (port <= 0) {
      return makeError(ErrorKind::kIo, std::string("no free port: ") + std::strerror(errno));
    }
    auto launched = u->launch(port);
    if (!launched) {
      return launched.takeError();
    }
    auto ready = u->waitReady(5000);
    if (ready) {
      if (auto v = u->verify(); !v) {
        return v.takeError();
      }
      return u;
    }
    last_error = ready.error().message;
    (void)u->stop();
  }
  return makeError(ErrorKind::kIo, "nginx did not start: " + last_error);
}

Result<void> CannedUpstream::launch(int port) {
  port_ = port;
  const std::string& d = dir_.path();
  std::ostringstream conf;
  conf << "# bench_upstream's canned OpenAI-compatible upstream (generated).\n"
       << "worker_processes " << opts_.worker_processes << ";\n"
       << "pid " << d << "/nginx.pid;\n"
       << "error_log " << d << "/error.log warn;\n"
       << "events { worker_connections 4096; }\n"
       << "http {\n"
       << "  access_log off;\n"
       << "  client_body_temp_path " << d << "/client_body;\n"
       << "  keepalive_requests 10000000;\n"
       << "  keepalive_timeout 300s;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port << " backlog=4096;\n"
       << "    location = /json/chat/completions {\n"
       << "      default_type application/json;\n"
       << "      return 200 '" << json_body_ << "';\n"
       << "    }\n"
       << "    location = /sse/chat/completions {\n"
       << "      root " << d << "/www;\n"
       << "      default_type text/event-stream;\n"
       << "      etag off;\n"
       << "      error_page 405 =200 $uri;\n"
       << "    }\n"
       << "  }\n"
       << "}\n";
  std::string conf_path = d + "/nginx.conf";
  if (!writeFile(conf_path, conf.str())) {
    return makeError(ErrorKind::kIo, "writing " + conf_path);
  }
  std::string bin = nginxBinary();
  std::string out_path = d + "/nginx.out";
  std::string err_log = d + "/error.log";
  std::vector<std::string> args = {bin, "-p", d + "/", "-c", conf_path, "-e", err_log, "-g", "daemon off;"};
  pid_t pid = ::fork();
  if (pid < 0) {
    return makeError(ErrorKind::kIo, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);                     // Its own group: the workers are stopped with it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // A benchmark killed hard takes nginx along.
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (in >= 0) {
      ::dup2(in, STDIN_FILENO);
    }
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // Also from here, so the group exists before any kill.
  pid_ = pid;
  return {};
}

Result<void> CannedUpstream::waitReady(int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  while (nowMs() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return makeError(ErrorKind::kIo,
                       "nginx exited at once (status " + std::to_string(status) + "): " + logTail());
    }
    if (canConnect(port_)) {
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return makeError(ErrorKind::kIo, "nginx did not listen on port " + std::to_string(port_) + " within " +
                                       std::to_string(timeout_ms) + " ms: " + logTail());
}

// Both locations, with the POST llmqd sends: status, content type and body.
Result<void> CannedUpstream::verify() {
  DirectClient c;
  const std::string req = R"({"model":"bench/x","messages":[{"role":"user","content":"hi"}]})";
  struct Check {
    std::string path;
    bool stream;
    const char* type;
    const std::string* body;
  };
  for (const Check& k : {Check{"/json/chat/completions", false, "application/json", &json_body_},
                         Check{"/sse/chat/completions", true, "text/event-stream", &sse_body_}}) {
    auto a = c.post(url(k.path), req, k.stream);
    if (!a) {
      return a.takeError();
    }
    if (a->status != 200 || a->content_type.find(k.type) == std::string::npos || a->body != *k.body) {
      return makeError(ErrorKind::kInternal,
                       "canned upstream: POST " + k.path + " gave " + std::to_string(a->status) + " " +
                           a->content_type + " with " + std::to_string(a->body.size()) + " bytes (expected 200 " +
                           k.type + ", " + std::to_string(k.body->size()) + " bytes): " + a->body.substr(0, 200));
    }
  }
  return {};
}

std::string CannedUpstream::logTail() const {
  std::string text;
  for (const char* name : {"/nginx.out", "/error.log"}) {
    std::ifstream in(dir_.path() + name);
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  return text.size() > 600 ? text.substr(text.size() - 600) : text;
}

Result<void> CannedUpstream::stop() {
  if (pid_ <= 0) {
    return {};
  }
  // SIGTERM is nginx's fast shutdown; the group holds the master and its workers.
  ::kill(-pid_, SIGTERM);
  int64_t deadline = nowMs() + 5000;
  int status = 0;
  bool reaped = false;
  while (nowMs() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!reaped) {
    ::kill(-pid_, SIGKILL);  // The master and its workers: only this group.
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (!reaped) {
    return makeError(ErrorKind::kIo, "nginx did not stop within 5 s; killed");
  }
  return {};
}

}  // namespace llmq::bench
