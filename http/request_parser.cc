// HttpRequestParser: http-parser's callbacks fill in the current request.
#include "http/request_parser.h"

#include <algorithm>
#include <cctype>

namespace llmq::http {
namespace {

const http_parser_settings kSettings = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  return s;
}();

bool equalsLower(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() && std::equal(a.begin(), a.end(), lower.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) {
      return &value;
    }
  }
  return nullptr;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

bool HttpRequestParser::takeContinue() {
  const bool w = want_continue_;
  want_continue_ = false;
  return w;
}

bool HttpRequestParser::countHeaderBytes(size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > limits_.max_header_bytes) {
    failure_ = Status::kHeadersTooLarge;
    return false;
  }
  return true;
}

int HttpRequestParser::onMessageBegin(http_parser* p) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  self->current_ = HttpRequest{};
  self->header_bytes_ = 0;
  self->in_value_ = false;
  self->in_message_ = true;
  self->headers_done_ = false;
  return 0;
}

int HttpRequestParser::onUrl(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  if (!self->countHeaderBytes(len)) {
    return 1;
  }
  self->current_.target.append(at, len);
  return 0;
}

int HttpRequestParser::onHeaderField(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  if (!self->countHeaderBytes(len)) {
    return 1;
  }
  auto& headers = self->current_.headers;
  if (headers.empty() || self->in_value_) {
    if (headers.size() >= self->limits_.max_headers) {
      self->failure_ = Status::kHeadersTooLarge;
      return 1;
    }
    headers.emplace_back();
    self->in_value_ = false;
  }
  std::string& name = headers.back().first;
  for (size_t i = 0; i < len; ++i) {
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(at[i]))));
  }
  return 0;
}

int HttpRequestParser::onHeaderValue(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  if (!self->countHeaderBytes(len)) {
    return 1;
  }
  auto& headers = self->current_.headers;
  if (headers.empty()) {
    headers.emplace_back();  // http-parser never does this; stay safe if it did.
  }
  headers.back().second.append(at, len);
  self->in_value_ = true;
  return 0;
}

int HttpRequestParser::onHeadersComplete(http_parser* p) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  HttpRequest& r = self->current_;
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.http_minor = p->http_minor;
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  // A request for another protocol (Upgrade, CONNECT) is refused here, before its
  // body: delivered or not must not depend on how its bytes were split into reads.
  if (p->upgrade != 0) {
    self->failure_ = Status::kBad;
    self->error_ = "protocol upgrades are not supported";
    return -1;
  }
  // Known too large before a byte of it is read: refuse now.
  if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > self->limits_.max_body_bytes) {
    self->failure_ = Status::kBodyTooLarge;
    return -1;  // Stops the parser (HPE_CB_headers_complete); 1 would mean "no body".
  }
  if (self->head_check_ && !self->head_check_(r)) {
    self->failure_ = Status::kRefused;
    return -1;
  }
  if (const std::string* expect = r.header("expect"); expect != nullptr && equalsLower(*expect, "100-continue")) {
    self->want_continue_ = true;
  }
  self->headers_done_ = true;
  return 0;
}

int HttpRequestParser::onBody(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  if (self->current_.body.size() + len > self->limits_.max_body_bytes) {
    self->failure_ = Status::kBodyTooLarge;
    return 1;
  }
  self->current_.body.append(at, len);
  return 0;
}

int HttpRequestParser::onMessageComplete(http_parser* p) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  self->current_.keep_alive = http_should_keep_alive(p) != 0;
  self->out_->push_back(std::move(self->current_));
  self->current_ = HttpRequest{};
  self->in_message_ = false;
  self->headers_done_ = false;
  self->want_continue_ = false;
  return 0;
}

HttpRequestParser::Status HttpRequestParser::feed(std::string_view bytes, std::vector<HttpRequest>* out) {
  if (failure_ != Status::kOk) {
    return failure_;
  }
  static const http_parser_settings settings = [] {
    http_parser_settings s = kSettings;
    s.on_message_begin = &HttpRequestParser::onMessageBegin;
    s.on_url = &HttpRequestParser::onUrl;
    s.on_header_field = &HttpRequestParser::onHeaderField;
    s.on_header_value = &HttpRequestParser::onHeaderValue;
    s.on_headers_complete = &HttpRequestParser::onHeadersComplete;
    s.on_body = &HttpRequestParser::onBody;
    s.on_message_complete = &HttpRequestParser::onMessageComplete;
    return s;
  }();
  out_ = out;
  const size_t n = http_parser_execute(&parser_, &settings, bytes.data(), bytes.size());
  out_ = nullptr;
  if (failure_ != Status::kOk) {
    return failure_;
  }
  if (parser_.upgrade != 0) {
    failure_ = Status::kBad;
    error_ = "protocol upgrades are not supported";
    return failure_;
  }
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || n != bytes.size()) {
    failure_ = Status::kBad;
    error_ = std::string("malformed HTTP request: ") + http_errno_description(HTTP_PARSER_ERRNO(&parser_));
    return failure_;
  }
  return Status::kOk;
}

}  // namespace llmq::http
