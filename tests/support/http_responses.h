// Splitting the bytes an HTTP/1.1 server wrote into its responses, for tests that
// read a connection raw (pipelining, keep-alive, HEAD). Header-only.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace llmq::testing {

// One response read off the wire (Content-Length framed; a HEAD's has no body).
struct HttpResponse {
  int status = 0;
  std::string head;
  std::string body;
};

// The complete responses at the start of `wire`, in order; `heads` says which
// answer HEAD requests (their Content-Length announces a body that is not sent).
inline std::vector<HttpResponse> httpResponses(const std::string& wire, const std::vector<bool>& heads = {}) {
  std::vector<HttpResponse> out;
  size_t pos = 0;
  for (;;) {
    const size_t end = wire.find("\r\n\r\n", pos);
    if (end == std::string::npos || wire.compare(pos, 9, "HTTP/1.1 ") != 0) {
      return out;
    }
    HttpResponse r;
    r.head = wire.substr(pos, end - pos);
    r.status = std::atoi(r.head.c_str() + 9);
    const size_t cl = r.head.find("Content-Length: ");
    const bool head = out.size() < heads.size() && heads[out.size()];
    const size_t len = cl == std::string::npos || head ? 0 : std::strtoul(r.head.c_str() + cl + 16, nullptr, 10);
    if (wire.size() < end + 4 + len) {
      return out;
    }
    r.body = wire.substr(end + 4, len);
    out.push_back(std::move(r));
    pos = end + 4 + len;
  }
}

}  // namespace llmq::testing
