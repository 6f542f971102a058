// apiToken: read or create the HTTP front's token file.
#include "daemon/api/api_token.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/text.h"

namespace llmq::daemon {
namespace {

std::string dirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

Result<std::string> readToken(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return makeError(ErrorKind::kIo, "reading the API token " + file + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0) {
    ::close(fd);
    return makeError(ErrorKind::kInvalidArgument,
                     "the API token file " + file + " may be read by others; chmod 600 it");
  }
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  text = std::string(trimWhitespace(text));
  if (text.size() < 16) {
    return makeError(ErrorKind::kInvalidArgument, "the API token in " + file + " is shorter than 16 characters");
  }
  return text;
}

}  // namespace

Result<ApiToken> loadApiToken(const ApiConfig& api, const std::string& db_path) {
  if (!api.token.empty()) {
    return ApiToken{api.token, {}};
  }
  const std::string file = api.token_file.empty() ? dirOf(db_path) + "/api.token" : api.token_file;
  if (::access(file.c_str(), F_OK) == 0) {
    auto text = readToken(file);
    if (!text) {
      return text.takeError();
    }
    return ApiToken{std::move(*text), file};
  }
  if (sodium_init() < 0) {
    return makeError(ErrorKind::kInternal, "libsodium failed to initialise");
  }
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  std::string token = std::string("llmq-") + hex;
  // O_EXCL: two daemons racing for the same file agree on the first one's token.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      auto text = readToken(file);
      if (!text) {
        return text.takeError();
      }
      return ApiToken{std::move(*text), file};
    }
    return makeError(ErrorKind::kIo, "creating the API token " + file + ": " + std::strerror(errno));
  }
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    return makeError(ErrorKind::kIo, "writing the API token " + file);
  }
  return ApiToken{std::move(token), file};
}

bool bearerMatches(const std::string* header, const std::string& token) {
  if (header == nullptr || header->size() < 7) {
    return false;
  }
  std::string_view h(*header);
  if (!(h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ")) {
    return false;
  }
  std::string_view given = h.substr(7);
  while (!given.empty() && given.front() == ' ') {
    given.remove_prefix(1);
  }
  if (given.size() != token.size()) {
    return false;
  }
  return sodium_memcmp(given.data(), token.data(), token.size()) == 0;
}

}  // namespace llmq::daemon
