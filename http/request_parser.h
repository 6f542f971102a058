// http::HttpRequestParser: HTTP/1.1 requests out of a byte stream, for the HTTP
// front (daemon/api/http_front.h). The grammar is Node's http-parser (Debian's
// libhttp-parser); this class adds what a server needs around it: header names
// folded to lower case, chunked bodies reassembled, keep-alive decided,
// pipelined requests delivered one by one in order, and limits on header and
// body size that end the connection with the right status before the bytes are
// buffered.
//
// Not thread-safe; one per connection.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmq::http {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // As sent: "/v1/models?x=1".
  std::string path;                                          // The target without its query string.
  std::vector<std::pair<std::string, std::string>> headers;  // Names in lower case.
  std::string body;                                          // De-chunked.
  bool keep_alive = true;
  int http_minor = 1;

  // The first header named `lower_name`, or nullptr.
  const std::string* header(std::string_view lower_name) const;
};

struct HttpLimits {
  size_t max_header_bytes = size_t{64} * 1024;  // Request line and headers together.
  size_t max_headers = 100;                     // Header lines per request.
  size_t max_body_bytes = 4u << 20;
};

class HttpRequestParser {
 public:
  enum class Status {
    kOk,               // Everything fed so far was consumed.
    kBad,              // Malformed: answer 400 and close.
    kHeadersTooLarge,  // Answer 431 and close.
    kBodyTooLarge,     // Answer 413 and close.
    kRefused,          // The head check refused the request: answer it and close.
  };

  explicit HttpRequestParser(HttpLimits limits = {});
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses `bytes`. Complete requests are appended to `out` in order. After a
  // status other than kOk the parser is spent: the connection must close.
  Status feed(std::string_view bytes, std::vector<HttpRequest>* out);

  // Called once a request's headers are complete, before its body is read;
  // returning false refuses it (feed() returns kRefused and reads no further).
  void setHeadCheck(std::function<bool(const HttpRequest&)> check) { head_check_ = std::move(check); }
  // Bytes of the unfinished request held (headers and body so far).
  size_t bufferedBytes() const { return in_message_ ? header_bytes_ + current_.body.size() : 0; }

  // Part of a request has arrived but not all of it.
  bool midRequest() const { return in_message_; }
  // The current request's headers are complete (its body may still be coming).
  bool headersDone() const { return headers_done_; }
  // The current request sent `Expect: 100-continue` and wants to hear before
  // sending its body. Cleared by takeContinue().
  bool takeContinue();
  // Why the last feed() failed, for the 400 body.
  const std::string& error() const { return error_; }

 private:
  static int onMessageBegin(http_parser* p);
  static int onUrl(http_parser* p, const char* at, size_t len);
  static int onHeaderField(http_parser* p, const char* at, size_t len);
  static int onHeaderValue(http_parser* p, const char* at, size_t len);
  static int onHeadersComplete(http_parser* p);
  static int onBody(http_parser* p, const char* at, size_t len);
  static int onMessageComplete(http_parser* p);
  bool countHeaderBytes(size_t len);

  http_parser parser_{};
  HttpLimits limits_;
  HttpRequest current_;
  std::vector<HttpRequest>* out_ = nullptr;
  size_t header_bytes_ = 0;
  bool in_value_ = false;
  bool in_message_ = false;
  bool headers_done_ = false;
  bool want_continue_ = false;
  Status failure_ = Status::kOk;
  std::string error_;
  std::function<bool(const HttpRequest&)> head_check_;
};

}  // namespace llmq::http
