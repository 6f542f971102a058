// fuzz_http_request: the HTTP front's request parser (http/request_parser.h)
// on what any local process can send to its port. The bytes are fed in chunks
// whose sizes the input chooses, and checked against the same bytes fed whole:
// the requests, their order and whether the stream is accepted must not depend on
// where the reads were cut (pipelining, chunked bodies and the size limits included).
//
// Input: byte 0 seeds the chunk sizes (0: one byte at a time); byte 1 picks the
// limits (0: the defaults, else small ones, to reach 431 and 413); the rest is
// the connection's byte stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"

namespace {

using llmq::http::HttpLimits;
using llmq::http::HttpRequest;
using llmq::http::HttpRequestParser;

[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_http_request: whole and split feeds disagree on %s\n", what);
  std::abort();
}

// The same xorshift chunking as fuzz_sse_parser: mostly small reads, now and then a big one.
class Splitter {
 public:
  explicit Splitter(uint8_t seed) : state_(seed * 2654435761u + 1), bytewise_(seed == 0) {}
  size_t next(size_t left) {
    if (bytewise_) {
      return 1;
    }
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    size_t n = 1 + state_ % 17;
    if (state_ % 8 == 0) {
      n = 1 + state_ % 512;
    }
    return n < left ? n : left;
  }

 private:
  uint32_t state_;
  bool bytewise_;
};

struct Run {
  std::vector<HttpRequest> requests;
  HttpRequestParser::Status status = HttpRequestParser::Status::kOk;
  bool mid_request = false;
  bool headers_done = false;
};

Run parse(std::string_view bytes, const HttpLimits& limits, const uint8_t* seed) {
  Run run;
  HttpRequestParser parser(limits);
  if (seed == nullptr) {
    run.status = parser.feed(bytes, &run.requests);
  } else {
    Splitter split(*seed);
    size_t pos = 0;
    while (pos < bytes.size() && run.status == HttpRequestParser::Status::kOk) {
      size_t n = split.next(bytes.size() - pos);
      run.status = parser.feed(bytes.substr(pos, n), &run.requests);
      (void)parser.takeContinue();  // What the front asks after each read.
      pos += n;
    }
  }
  if (run.status != HttpRequestParser::Status::kOk && parser.feed("x", &run.requests) != run.status) {
    std::fprintf(stderr, "fuzz_http_request: a spent parser must keep its status\n");
    std::abort();
  }
  if (run.status == HttpRequestParser::Status::kBad && parser.error().empty()) {
    std::fprintf(stderr, "fuzz_http_request: kBad without an error message\n");
    std::abort();
  }
  // LLMQ_FUZZ_ECHO=1 prints each run's outcome (to look into a finding).
  static const bool echo = std::getenv("LLMQ_FUZZ_ECHO") != nullptr;
  if (echo) {
    std::fprintf(stderr, "%s: status %d (%s), %zu requests\n", seed == nullptr ? "whole" : "split",
                 static_cast<int>(run.status), parser.error().c_str(), run.requests.size());
  }
  run.mid_request = parser.midRequest();
  run.headers_done = parser.headersDone();
  for (const HttpRequest& r : run.requests) {
    (void)r.header("content-length");
    (void)r.header("authorization");
    if (r.path.size() > r.target.size()) {
      std::fprintf(stderr, "fuzz_http_request: the path is longer than the target\n");
      std::abort();
    }
    if (r.body.size() > limits.max_body_bytes) {
      std::fprintf(stderr, "fuzz_http_request: a body over the limit was delivered\n");
      std::abort();
    }
  }
  return run;
}

bool sameRequest(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path && a.headers == b.headers &&
         a.body == b.body && a.keep_alive == b.keep_alive && a.http_minor == b.http_minor;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t seed = data[0];
  HttpLimits limits;
  if (data[1] != 0) {
    limits.max_header_bytes = size_t{16} * data[1];
    limits.max_body_bytes = size_t{8} * data[1];
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  Run whole = parse(bytes, limits, nullptr);
  Run split = parse(bytes, limits, &seed);
  // A stream with two faults may report either: http-parser hands over a partial
  // header at the end of each read, so a split read can pass the header limit (431)
  // before the parser reaches a bad byte further on (400). Success must agree.
  if (whole.status != split.status &&
      (whole.status == HttpRequestParser::Status::kOk || split.status == HttpRequestParser::Status::kOk)) {
    mismatch("the status");
  }
  if (whole.requests.size() != split.requests.size()) {
    mismatch("the number of requests");
  }
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    if (!sameRequest(whole.requests[i], split.requests[i])) {
      mismatch("a request");
    }
  }
  if (whole.status == HttpRequestParser::Status::kOk &&
      (whole.mid_request != split.mid_request || whole.headers_done != split.headers_done)) {
    mismatch("where the stream stopped");
  }
  return 0;
}
