// FakeUpstream and HttpConnection: fork/exec of the Python fake with a bounded
// wait for its port line, and a minimal blocking HTTP/1.1 client (Content-Length,
// chunked and close-delimited bodies) with poll()-bounded reads.
#include "tests/support/fake_upstream_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "common/json.h"
#include "tests/support/daemon_process.h"

namespace llmq::testing {
namespace {

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

enum class Parse { kIncomplete, kComplete, kBad };

// Parses one response from the front of `in`. On kComplete, *consumed is its
// length. With kIncomplete, `out` holds what could be parsed so far. `eof` says
// the connection is closed, which completes a close-delimited body.
Parse parseResponse(const std::string& in, bool eof, HttpResponse* out, size_t* consumed) {
  *out = HttpResponse{};
  size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return Parse::kIncomplete;
  }
  std::string_view head(in.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    return Parse::kBad;
  }
  out->status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  while (line_end != std::string_view::npos) {
    size_t next = head.find("\r\n", line_end + 2);
    std::string_view line =
        head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos : next - line_end - 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name = lower(line.substr(0, colon));
      std::string value(trim(line.substr(colon + 1)));
      auto [it, inserted] = out->headers.emplace(name, value);
      if (!inserted) {
        it->second += ", " + value;
      }
    }
    line_end = next;
  }
  size_t pos = head_end + 4;
  if (out->status / 100 == 1) {
    // An interim 100 Continue: the caller skips it.
    *consumed = pos;
    return Parse::kComplete;
  }
  if (out->status == 204 || out->status == 304) {
    out->complete = true;
    *consumed = pos;
    return Parse::kComplete;
  }
  if (lower(out->header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      size_t size_end = in.find("\r\n", pos);
      if (size_end == std::string::npos) {
        return Parse::kIncomplete;
      }
      std::string size_text = in.substr(pos, size_end - pos);
      char* end = nullptr;
      unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
      if (end == size_text.c_str()) {
        return Parse::kBad;
      }
      size_t data = size_end + 2;
      if (size == 0) {
        // Trailers (none expected) end with an empty line.
        size_t trailer_end = in.find("\r\n", data);
        while (trailer_end != std::string::npos && trailer_end != data) {
          data = trailer_end + 2;
          trailer_end = in.find("\r\n", data);
        }
        if (trailer_end == std::string::npos) {
          return Parse::kIncomplete;
        }
        out->complete = true;
        *consumed = trailer_end + 2;
        return Parse::kComplete;
      }
      if (in.size() < data + size + 2) {
        // A partial chunk still counts as body received, for mid-stream checks.
        out->body.append(in, data, std::min<size_t>(size, in.size() - data));
        return Parse::kIncomplete;
      }
      out->chunks.emplace_back(in, data, size);
      out->body.append(in, data, size);
      pos = data + size + 2;
    }
  }
  if (out->hasHeader("content-length")) {
    size_t length = std::strtoul(out->header("content-length").c_str(), nullptr, 10);
    out->body.assign(in, pos, std::min(length, in.size() - pos));
    if (in.size() - pos < length) {
      return Parse::kIncomplete;
    }
    out->complete = true;
    *consumed = pos + length;
    return Parse::kComplete;
  }
  out->body.assign(in, pos);
  if (!eof) {
    return Parse::kIncomplete;
  }
  out->complete = true;
  *consumed = in.size();
  return Parse::kComplete;
}

bool parseRequests(const std::string& text, std::vector<FakeRequest>* out, std::string* error) {
  json::Document doc;
  if (!json::parse(doc, text, error)) {
    return false;
  }
  if (!doc.IsArray()) {
    *error = "GET /_fake/requests: not a JSON array";
    return false;
  }
  auto str = [](const json::Value& o, const char* name) {
    const json::Value* v = json::member(o, name);
    return v != nullptr && v->IsString() ? std::string(json::view(*v)) : std::string();
  };
  auto num = [](const json::Value& o, const char* name) {
    const json::Value* v = json::member(o, name);
    return v != nullptr && v->IsNumber() ? v->GetDouble() : 0.0;
  };
  for (const auto& r : doc.GetArray()) {
    FakeRequest req;
    req.id = static_cast<int64_t>(num(r, "id"));
    req.method = str(r, "method");
    req.path = str(r, "path");
    req.body = str(r, "body");
    req.t = num(r, "t");
    req.t_end = num(r, "t_end");
    req.concurrency = static_cast<int>(num(r, "concurrency"));
    req.status = static_cast<int>(num(r, "status"));
    req.connection = static_cast<int64_t>(num(r, "connection"));
    req.fault = str(r, "fault");
    req.model = str(r, "model");
    const json::Value* d = json::member(r, "disconnected");
    req.disconnected = d != nullptr && d->IsBool() && d->GetBool();
    const json::Value* s = json::member(r, "stream");
    req.stream = s != nullptr && s->IsBool() && s->GetBool();
    if (const json::Value* h = json::member(r, "headers"); h != nullptr && h->IsObject()) {
      for (const auto& m : h->GetObject()) {
        if (m.value.IsString()) {
          req.headers[lower(json::view(m.name))] = std::string(json::view(m.value));
        }
      }
    }
    out->push_back(std::move(req));
  }
  return true;
}

}  // namespace

// --- HttpResponse / HttpConnection ------------------------------------------------

std::string HttpResponse::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResponse::hasHeader(std::string_view name) const { return headers.contains(lower(name)); }

bool HttpConnection::connect(int port) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = errno;
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = errno;
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Writes are small; a bounded send keeps a wedged server from hanging the test.
  timeval tv{5, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  port_ = port;
  error_ = 0;
  eof_ = false;
  buffer_.clear();
  return true;
}

bool HttpConnection::sendRequest(std::string_view method, std::string_view path, std::string_view body,
                                 const HttpHeaders& headers) {
  if (fd_ < 0) {
    error_ = ENOTCONN;
    return false;
  }
  std::string req;
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  req.append("Host: 127.0.0.1:").append(std::to_string(port_)).append("\r\n");
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    has_type = has_type || lower(name) == "content-type";
    req.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST") {
    if (!has_type) {
      req.append("Content-Type: application/json\r\n");
    }
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  req.append("\r\n").append(body);
  std::string_view rest = req;
  while (!rest.empty()) {
    ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      error_ = errno;
      return false;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpConnection::fill(int64_t deadline_ms, bool* timed_out) {
  if (fd_ < 0 || eof_) {
    return false;
  }
  for (;;) {
    int64_t left = deadline_ms - nowMs();
    if (left <= 0) {
      *timed_out = true;
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      continue;  // Timeout: the loop re-checks the deadline.
    }
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR || errno == EAGAIN) {
      continue;
    }
    error_ = errno;
    eof_ = true;
    return false;
  }
}

HttpResponse HttpConnection::readResponse(int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  HttpResponse resp;
  for (;;) {
    size_t consumed = 0;
    Parse p = parseResponse(buffer_, eof_, &resp, &consumed);
    if (p == Parse::kComplete) {
      buffer_.erase(0, consumed);
      if (resp.status / 100 == 1) {
        continue;  // Skip 100 Continue and wait for the real response.
      }
      resp.eof = eof_;
      resp.error = error_;
      return resp;
    }
    if (p == Parse::kBad) {
      resp.error = error_ != 0 ? error_ : EPROTO;
      resp.eof = eof_;
      return resp;
    }
    bool timed_out = false;
    if (!fill(deadline, &timed_out)) {
      // One last parse: EOF completes a close-delimited body.
      if (!timed_out && parseResponse(buffer_, true, &resp, &consumed) == Parse::kComplete &&
          resp.status / 100 != 1) {
        buffer_.erase(0, consumed);
      } else {
        resp.complete = false;
      }
      resp.timed_out = timed_out;
      resp.eof = eof_;
      resp.error = error_ != 0 ? error_ : (fd_ < 0 ? ENOTCONN : 0);
      return resp;
    }
  }
}

HttpResponse HttpConnection::request(std::string_view method, std::string_view path, std::string_view body,
                                     const HttpHeaders& headers, int timeout_ms) {
  if (!sendRequest(method, path, body, headers)) {
    HttpResponse resp;
    resp.error = error_;
    return resp;
  }
  return readResponse(timeout_ms);
}

bool HttpConnection::readUntil(std::string_view needle, int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  bool timed_out = false;
  while (buffer_.find(needle) == std::string::npos) {
    if (!fill(deadline, &timed_out)) {
      return false;
    }
  }
  return true;
}

void HttpConnection::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

// --- FakeRequest ---------------------------------------------------------------------

std::string FakeRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

// --- FakeUpstream --------------------------------------------------------------------

FakeUpstream::FakeUpstream(FakeUpstreamOptions options) : options_(std::move(options)) {}

FakeUpstream::~FakeUpstream() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (waitForExit(pid_, 3000) < 0) {
      ::kill(pid_, SIGKILL);
      waitForExit(pid_, 5000);
    }
    pid_ = -1;
  }
}

::testing::AssertionResult FakeUpstream::start(int timeout_ms) {
  if (pid_ > 0 || port_ != 0) {
    return ::testing::AssertionFailure() << "the fake upstream was already started";
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return ::testing::AssertionFailure() << "pipe: " << std::strerror(errno);
  }
  std::vector<std::string> argv = {options_.python, options_.script, "--prefix", options_.prefix};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> args;
  args.reserve(argv.size());
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // The fake must not outlive a test binary that crashes or is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::dup2(out[1], STDOUT_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
  }
  pid_ = pid;

  std::string line;
  int64_t deadline = nowMs() + timeout_ms;
  bool eof = false;
  while (line.find('\n') == std::string::npos && !eof && nowMs() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, deadline - nowMs())));
    if (r <= 0) {
      continue;
    }
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      eof = true;
    }
  }
  // Nothing else is printed on stdout; the fake never writes to it again.
  ::close(out[0]);
  if (line.find('\n') == std::string::npos) {
    int status = waitForExit(pid_, 0);
    std::string why = status >= 0 ? "exited (status " + std::to_string(status) + ")"
                                  : "printed no port line within " + std::to_string(timeout_ms) + " ms";
    if (status < 0) {
      ::kill(pid_, SIGKILL);
      waitForExit(pid_, 5000);
    }
    pid_ = -1;
    return ::testing::AssertionFailure()
           << options_.python << " " << options_.script << " " << why << "; stdout: " << line;
  }
  json::Document doc;
  std::string error;
  line.resize(line.find('\n'));
  const json::Value* port = json::parse(doc, line, &error) ? json::member(doc, "port") : nullptr;
  if (port == nullptr || !port->IsInt() || port->GetInt() <= 0) {
    return ::testing::AssertionFailure() << "bad port line from the fake upstream: " << line << " " << error;
  }
  port_ = port->GetInt();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FakeUpstream::stop(int timeout_ms) {
  if (pid_ <= 0) {
    return ::testing::AssertionFailure() << "the fake upstream is not running";
  }
  ::kill(pid_, SIGTERM);
  int status = waitForExit(pid_, timeout_ms);
  if (status < 0) {
    ::kill(pid_, SIGKILL);
    waitForExit(pid_, 5000);
    pid_ = -1;
    return ::testing::AssertionFailure() << "the fake upstream ignored SIGTERM for " << timeout_ms << " ms";
  }
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "the fake upstream exited with status " << status;
  }
  return ::testing::AssertionSuccess();
}

std::string FakeUpstream::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + options_.prefix; }

HttpResponse FakeUpstream::get(std::string_view target, const HttpHeaders& headers, int timeout_ms) {
  HttpConnection c;
  if (!c.connect(port_)) {
    HttpResponse resp;
    resp.error = c.error();
    return resp;
  }
  return c.request("GET", target, "", headers, timeout_ms);
}

HttpResponse FakeUpstream::post(std::string_view target, std::string_view body, const HttpHeaders& headers,
                                int timeout_ms) {
  HttpConnection c;
  if (!c.connect(port_)) {
    HttpResponse resp;
    resp.error = c.error();
    return resp;
  }
  return c.request("POST", target, body, headers, timeout_ms);
}

std::vector<FakeRequest> FakeUpstream::requests() {
  std::vector<FakeRequest> out;
  HttpResponse resp = get("/_fake/requests");
  std::string error;
  if (resp.status != 200 || !resp.complete) {
    ADD_FAILURE() << "GET /_fake/requests: status " << resp.status << ", errno " << resp.error;
  } else if (!parseRequests(resp.body, &out, &error)) {
    ADD_FAILURE() << "GET /_fake/requests: " << error;
  }
  return out;
}

bool FakeUpstream::fetchStats(FakeStats* out, std::string* error) {
  HttpResponse resp = get("/_fake/stats", {}, 5000);
  if (resp.status != 200 || !resp.complete) {
    *error = "GET /_fake/stats: status " + std::to_string(resp.status) + ", errno " + std::to_string(resp.error);
    return false;
  }
  json::Document doc;
  if (!json::parse(doc, resp.body, error)) {
    return false;
  }
  auto count = [&doc](const char* name) {
    const json::Value* v = json::member(doc, name);
    return v != nullptr && v->IsUint64() ? static_cast<size_t>(v->GetUint64()) : size_t{0};
  };
  out->total = count("total");
  out->peak_concurrency = count("peak_concurrency");
  out->disconnects = count("disconnects");
  out->in_flight = count("in_flight");
  out->connections = count("connections");
  out->rate_limited = count("rate_limited");
  return true;
}

FakeStats FakeUpstream::stats() {
  FakeStats s;
  std::string error;
  if (!fetchStats(&s, &error)) {
    ADD_FAILURE() << error;
  }
  return s;
}

::testing::AssertionResult FakeUpstream::reset() {
  HttpResponse resp = post("/_fake/reset", "");
  if (resp.status != 200) {
    return ::testing::AssertionFailure() << "POST /_fake/reset: status " << resp.status << ", errno " << resp.error;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FakeUpstream::setFault(const std::string& spec, int times,
                                                  const std::string& get_route) {
  std::string body = "{\"fault\":";
  json::appendString(body, spec);
  body += times < 0 ? ",\"times\":null" : ",\"times\":" + std::to_string(times);
  if (!get_route.empty()) {
    body += ",\"route\":";
    json::appendString(body, get_route);
  }
  body += "}";
  HttpResponse resp = post("/_fake/fault", body);
  if (resp.status != 200) {
    return ::testing::AssertionFailure()
           << "POST /_fake/fault " << body << ": status " << resp.status << " " << resp.body;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FakeUpstream::setRateLimit(int per_window, int window_ms) {
  std::string body = "{\"rps\":" + std::to_string(per_window) + ",\"window_ms\":" + std::to_string(window_ms) + "}";
  HttpResponse resp = post("/_fake/ratelimit", body);
  if (resp.status != 200) {
    return ::testing::AssertionFailure()
           << "POST /_fake/ratelimit " << body << ": status " << resp.status << " " << resp.body;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult FakeUpstream::setExtraModels(int extra) {
  std::string body = "{\"extra\":" + std::to_string(extra) + "}";
  HttpResponse resp = post("/_fake/models", body);
  if (resp.status != 200) {
    return ::testing::AssertionFailure()
           << "POST /_fake/models " << body << ": status " << resp.status << " " << resp.body;
  }
  return ::testing::AssertionSuccess();
}

template <class Pred>
::testing::AssertionResult FakeUpstream::waitForStats(Pred done, const char* what, int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  FakeStats s;
  std::string error;
  for (;;) {
    if (!fetchStats(&s, &error)) {
      return ::testing::AssertionFailure() << error;
    }
    if (done(s)) {
      return ::testing::AssertionSuccess();
    }
    if (nowMs() >= deadline) {
      return ::testing::AssertionFailure()
             << "waiting " << timeout_ms << " ms for " << what << ": the fake upstream has " << s.total
             << " requests, " << s.disconnects << " disconnects, " << s.in_flight << " in flight";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

::testing::AssertionResult FakeUpstream::waitForRequests(size_t n, int timeout_ms) {
  std::string what = std::to_string(n) + " requests";
  return waitForStats([n](const FakeStats& s) { return s.total >= n; }, what.c_str(), timeout_ms);
}

::testing::AssertionResult FakeUpstream::waitForDisconnects(size_t n, int timeout_ms) {
  std::string what = std::to_string(n) + " client disconnects";
  return waitForStats([n](const FakeStats& s) { return s.disconnects >= n; }, what.c_str(), timeout_ms);
}

::testing::AssertionResult FakeUpstream::waitForIdle(int timeout_ms) {
  return waitForStats([](const FakeStats& s) { return s.in_flight == 0; }, "no request in flight", timeout_ms);
}

}  // namespace llmq::testing
