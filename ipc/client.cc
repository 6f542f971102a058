// Blocking client over a Unix stream socket, with poll(2) for timeouts.
#include "ipc/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace llmq::ipc {
namespace {

int64_t monoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    return makeError(ErrorKind::kInvalidArgument, "socket path is too long: " + socket_path);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return makeError(ErrorKind::kIo, std::string("creating socket: ") + std::strerror(errno));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    std::string hint = (err == ENOENT || err == ECONNREFUSED) ? " (is llmqd running?)" : "";
    return makeError(ErrorKind::kIo, "connecting to " + socket_path + ": " + std::strerror(err) + hint);
  }
  return std::unique_ptr<Client>(new Client(fd));
}

Client::~Client() { ::close(fd_); }

void Client::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

Result<void> Client::sendRaw(std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return makeError(ErrorKind::kIo, std::string("writing to llmqd: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<int64_t> Client::send(std::string_view method, std::string_view params_json) {
  int64_t id = next_id_++;
  if (auto r = sendRaw(makeRequest(method, params_json, id)); !r) {
    return r.takeError();
  }
  return id;
}

Result<bool> Client::fill(int timeout_ms) {
  if (buf_pos_ > 0 && buf_pos_ == buf_.size()) {
    buf_.clear();
    buf_pos_ = 0;
  } else if (buf_pos_ > (1u << 20)) {
    buf_.erase(0, buf_pos_);
    buf_pos_ = 0;
  }
  pollfd p{fd_, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return makeError(ErrorKind::kIo, std::string("waiting for llmqd: ") + std::strerror(errno));
  }
  if (rc == 0) {
    return false;
  }
  char tmp[65536];
  ssize_t n;
  do {
    n = ::recv(fd_, tmp, sizeof tmp, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return makeError(ErrorKind::kIo, std::string("reading from llmqd: ") + std::strerror(errno));
  }
  if (n == 0) {
    return makeError(ErrorKind::kIo, "llmqd closed the connection");
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

Result<std::optional<std::string>> Client::readLine(int timeout_ms) {
  int64_t deadline = timeout_ms < 0 ? -1 : monoMs() + timeout_ms;
  for (;;) {
    size_t nl = buf_.find('\n', buf_pos_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(buf_pos_, nl - buf_pos_);
      buf_pos_ = nl + 1;
      return std::optional<std::string>(std::move(line));
    }
    int wait = -1;
    if (deadline >= 0) {
      wait = static_cast<int>(std::max<int64_t>(0, deadline - monoMs()));
    }
    auto got = fill(wait);
    if (!got) {
      return got.takeError();
    }
    if (!got.value()) {
      return std::optional<std::string>();
    }
  }
}

Result<Response> parseResponse(std::string_view line) {
  Response r;
  r.doc = std::make_unique<json::Document>();
  std::string err;
  if (!json::parse(*r.doc, line, &err, json::kMaxAnswerDepth)) {
    return makeError(ErrorKind::kInvalidArgument, "llmqd sent invalid JSON: " + err);
  }
  if (const json::Value* result = json::member(*r.doc, "result")) {
    r.result = result;
    return r;
  }
  const json::Value* error = json::member(*r.doc, "error");
  if (error == nullptr || !error->IsObject()) {
    return makeError(ErrorKind::kInvalidArgument, "llmqd sent a line that is not a response");
  }
  const json::Value* code = json::member(*error, "code");
  const json::Value* message = json::member(*error, "message");
  r.error.code = code != nullptr && code->IsInt() ? code->GetInt() : rpc::kInternalError;
  r.error.message = message != nullptr && message->IsString() ? message->GetString() : "";
  if (const json::Value* data = json::member(*error, "data")) {
    if (const json::Value* sym = json::member(*data, "code"); sym != nullptr && sym->IsString()) {
      r.error.symbol = sym->GetString();
    }
  }
  return r;
}

Result<Response> Client::call(std::string_view method, std::string_view params_json, int timeout_ms) {
  auto id = send(method, params_json);
  if (!id) {
    return id.takeError();
  }
  int64_t deadline = timeout_ms < 0 ? -1 : monoMs() + timeout_ms;
  for (;;) {
    int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - monoMs()));
    auto line = readLine(wait);
    if (!line) {
      return line.takeError();
    }
    if (!line->has_value()) {
      return makeError(ErrorKind::kIo, "timed out waiting for llmqd to answer " + std::string(method));
    }
    std::string& text = **line;
    // Notifications carry "method"; responses carry our id.
    if (text.find("\"method\":\"event\"") != std::string::npos) {
      notifications_.push_back(std::move(text));
      continue;
    }
    auto resp = parseResponse(text);
    if (!resp) {
      return resp.takeError();
    }
    const json::Value* rid = json::member(*resp->doc, "id");
    if (rid != nullptr && rid->IsInt64() && rid->GetInt64() == *id) {
      return resp;
    }
    // The daemon answers a request it could not read (bad JSON, invalid UTF-8)
    // with id null: with one call in flight, that is ours.
    if (rid != nullptr && rid->IsNull() && !resp->ok()) {
      return resp;
    }
  }
}

Result<std::optional<std::string>> Client::nextNotification(int timeout_ms) {
  if (!notifications_.empty()) {
    std::string n = std::move(notifications_.front());
    notifications_.pop_front();
    return std::optional<std::string>(std::move(n));
  }
  return readLine(timeout_ms);
}

}  // namespace llmq::ipc
