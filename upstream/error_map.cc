// Error classification: pulls code/message/metadata out of OpenAI/OpenRouter error
// bodies, maps statuses and error names to job error codes, and parses the
// Retry-After forms. The tables here are the single place these rules live.
#include "upstream/error_map.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <limits>

#include "common/utf8.h"

namespace llmq::upstream {
namespace {

constexpr size_t kMaxMessageBytes = 1024;  // An upstream message longer than this is cut.
constexpr size_t kExcerptBytes = 200;      // How much of a non-JSON body goes into a message.

// What an `error` value says, copied out of its Document.
struct ErrorInfo {
  std::string message;
  std::optional<int> code_int;  // `code` as an integer (OpenRouter: an HTTP-like status).
  std::string code_str;         // `code` as a string (OpenAI: "insufficient_quota", ...).
  std::string type;             // OpenAI's `type` ("invalid_request_error", ...).
  std::string reasons;          // OpenRouter moderation `metadata.reasons`, joined.
  std::string reset;            // OpenRouter 429 `metadata.headers.X-RateLimit-Reset`.
  bool from_provider = false;   // `metadata.provider_name`: the provider behind OpenRouter said it.
  std::string error_json;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  // A raw error body may be anything: invalid UTF-8 would make every JSON answer
  // that quotes this message invalid too.
  std::string out = repairUtf8(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// At most `max` bytes of `s`, cut on a UTF-8 boundary, control characters as spaces,
// with "..." when cut.
std::string excerpt(std::string_view s, size_t max) {
  bool cut = false;
  if (s.size() > max) {
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
      --end;  // s[end] is a continuation byte: back up to the start of its sequence.
    }
    s = s.substr(0, end);
    cut = true;
  }
  // A raw error body may be anything: invalid UTF-8 would make every JSON answer
  // that quotes this message invalid too.
  std::string out = repairUtf8(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  if (cut) {
    out += "...";
  }
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Credit or quota exhaustion, whatever status it came with: OpenRouter's 402
// "Insufficient credits", OpenAI's 429 `insufficient_quota`, OpenRouter's 403
// "Key limit exceeded" for a key with a spending cap.
bool saysExhausted(const ErrorInfo& info) {
  static constexpr std::array<std::string_view, 7> kPhrases = {
      "insufficient credits",      "insufficient_quota",          "insufficient quota", "key limit exceeded",
      "credit balance is too low", "exceeded your current quota", "out of credits"};
  const std::string text = lower(info.message) + "\n" + lower(info.code_str) + "\n" + lower(info.type);
  return std::any_of(kPhrases.begin(), kPhrases.end(), [&](std::string_view p) { return contains(text, p); });
}

std::string exhaustedCode(bool byok) { return byok ? "USER_KEY_EXHAUSTED" : "OPENROUTER_SYSTEM_KEY_EXHAUSTED"; }

std::string scalarString(const json::Value& v) {
  if (v.IsString()) {
    return std::string(json::view(v));
  }
  if (v.IsInt64()) {
    return std::to_string(v.GetInt64());
  }
  if (v.IsUint64()) {
    return std::to_string(v.GetUint64());
  }
  return {};
}

ErrorInfo extract(const json::Value& error) {
  ErrorInfo info;
  info.error_json = json::toString(error);
  if (error.IsString()) {
    info.message = excerpt(json::view(error), kMaxMessageBytes);
    return info;
  }
  if (const json::Value* m = json::member(error, "message"); m != nullptr && m->IsString()) {
    info.message = excerpt(json::view(*m), kMaxMessageBytes);
  }
  if (const json::Value* c = json::member(error, "code"); c != nullptr) {
    if (c->IsInt()) {
      info.code_int = c->GetInt();
    } else if (c->IsString()) {
      info.code_str = std::string(json::view(*c));
      // Some servers send the status as a string: "429".
      int n = 0;
      auto [end, ec] = std::from_chars(info.code_str.data(), info.code_str.data() + info.code_str.size(), n);
      if (ec == std::errc() && end == info.code_str.data() + info.code_str.size()) {
        info.code_int = n;
      }
    }
  }
  if (const json::Value* t = json::member(error, "type"); t != nullptr && t->IsString()) {
    info.type = std::string(json::view(*t));
  }
  if (const json::Value* meta = json::member(error, "metadata"); meta != nullptr) {
    if (const json::Value* r = json::member(*meta, "reasons"); r != nullptr && r->IsArray()) {
      for (const auto& reason : r->GetArray()) {
        if (reason.IsString()) {
          if (!info.reasons.empty()) {
            info.reasons += ", ";
          }
          info.reasons += json::view(reason);
        }
      }
    }
    if (const json::Value* p = json::member(*meta, "provider_name"); p != nullptr && p->IsString()) {
      info.from_provider = true;
    }
    if (const json::Value* h = json::member(*meta, "headers"); h != nullptr && h->IsObject()) {
      for (const auto& header : h->GetObject()) {
        if (lower(json::view(header.name)) == "x-ratelimit-reset") {
          info.reset = scalarString(header.value);
        }
      }
    }
  }
  return info;
}

// The failure for HTTP status `status` (>= 400 for anything but UPSTREAM_ERROR),
// given what the error said. info.message must already be set.
Failure classifyStatus(int status, const ErrorInfo& info, bool byok) {
  Failure f;
  f.upstream_status = status;
  f.message = info.message;
  f.source = "upstream";
  if (status >= 400 && saysExhausted(info)) {
    f.code = exhaustedCode(byok);
    f.retryable = false;
    return f;
  }
  if (status == 408) {
    f.code = "TIMEOUT";
    f.retryable = true;
  } else if (status == 429) {
    f.code = "RATE_LIMITED";
    f.retryable = true;
    // OpenRouter's own limits are per key (and echo X-RateLimit-* headers); a 429
    // that names the provider behind it ("temporarily rate-limited upstream") is
    // about the model, whatever key asks.
    f.model_scoped = info.from_provider || info.message.find("rate-limited upstream") != std::string::npos;
  } else if (status >= 500 && status <= 599) {
    f.code = "UPSTREAM_ERROR";
    f.retryable = true;
  } else if (status == 401) {
    f.code = "UNAUTHORIZED";
  } else if (status == 402) {
    f.code = exhaustedCode(byok);
  } else if (status == 403) {
    // OpenRouter answers 403 when its moderation flags the input.
    f.code = "MODERATION";
    if (!info.reasons.empty()) {
      f.message += " (reasons: " + info.reasons + ")";
    }
  } else if (status >= 400 && status <= 499) {
    f.code = "INVALID_REQUEST";  // 400, 404, 413 and every other 4xx.
  } else {
    f.code = "UPSTREAM_ERROR";  // 1xx-3xx: a misconfigured base URL, not transient.
  }
  return f;
}

// For an error that carries no usable status: classify by its name.
Failure classifyName(int http_status, const ErrorInfo& info, bool byok) {
  Failure f;
  f.upstream_status = http_status;
  f.message = info.message;
  f.source = "upstream";
  const std::string name = lower(info.code_str) + " " + lower(info.type);
  if (saysExhausted(info)) {
    f.code = exhaustedCode(byok);
  } else if (contains(name, "rate_limit") || contains(name, "too_many_requests")) {
    f.code = "RATE_LIMITED";
    f.retryable = true;
  } else if (contains(name, "invalid_api_key") || contains(name, "authentication") ||
             contains(name, "unauthorized")) {
    f.code = "UNAUTHORIZED";
  } else if (contains(name, "content_filter") || contains(name, "moderation") || contains(name, "flagged")) {
    f.code = "MODERATION";
    if (!info.reasons.empty()) {
      f.message += " (reasons: " + info.reasons + ")";
    }
  } else if (contains(name, "context_length") || contains(name, "invalid_request") ||
             contains(name, "bad_request")) {
    f.code = "INVALID_REQUEST";
  } else if (contains(name, "timeout")) {
    f.code = "TIMEOUT";
    f.retryable = true;
  } else {
    f.code = "UPSTREAM_ERROR";  // "server_error", "overloaded_error", unknown names, none.
    f.retryable = true;
  }
  return f;
}

// ---- HTTP-date --------------------------------------------------------------

class DateCursor {
 public:
  explicit DateCursor(std::string_view s) : s_(s) {}

  bool literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) {
      return false;
    }
    s_.remove_prefix(lit.size());
    return true;
  }
  bool digits(size_t n, int* out) {
    if (s_.size() < n) {
      return false;
    }
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (s_[i] < '0' || s_[i] > '9') {
        return false;
      }
      v = v * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    *out = v;
    return true;
  }
  // One of `names`; returns its position.
  template <size_t N>
  bool oneOf(const std::array<std::string_view, N>& names, int* out) {
    for (size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        *out = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  // "HH:MM:SS"
  bool time(int* h, int* m, int* sec) {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec);
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                           "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::optional<int64_t> toEpochMs(int year, int month0, int day, int hour, int minute, int second) {
  using namespace std::chrono;
  const year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month0 + 1)},
                           std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const int64_t day_count = sys_days(ymd).time_since_epoch().count();
  // A leap second (":60") is read as the last second of the minute.
  const int64_t secs = ((day_count * 24 + hour) * 60 + minute) * 60 + std::min(second, 59);
  return secs * 1000;
}

int yearOf(int64_t epoch_ms) {
  using namespace std::chrono;
  const sys_days day = floor<std::chrono::days>(sys_time<milliseconds>(milliseconds(epoch_ms)));
  return static_cast<int>(year_month_day(day).year());
}

bool parseDigitsSaturating(std::string_view s, int64_t* out) {
  if (s.empty()) {
    return false;
  }
  int64_t v = 0;
  constexpr int64_t kCap = std::numeric_limits<int64_t>::max() / 1000 / 10;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = std::min(kCap, v * 10 + (c - '0'));
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parseHttpDate(std::string_view date, int64_t now_ms) {
  date = trim(date);
  int wday = 0, day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0;
  {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    DateCursor c(date);
    if (c.oneOf(kDayNames, &wday) && c.literal(", ") && c.digits(2, &day) && c.literal(" ") &&
        c.oneOf(kMonthNames, &month) && c.literal(" ") && c.digits(4, &year) && c.literal(" ") &&
        c.time(&hour, &minute, &second) && c.literal(" GMT") && c.done()) {
      return toEpochMs(year, month, day, hour, minute, second);
    }
  }
  {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year more than 50 years
    // ahead means the most recent past year with those digits (RFC 9110 §5.6.7).
    DateCursor c(date);
    if (c.oneOf(kLongDayNames, &wday) && c.literal(", ") && c.digits(2, &day) && c.literal("-") &&
        c.oneOf(kMonthNames, &month) && c.literal("-") && c.digits(2, &year) && c.literal(" ") &&
        c.time(&hour, &minute, &second) && c.literal(" GMT") && c.done()) {
      const int now_year = yearOf(now_ms);
      int full = now_year / 100 * 100 + year;
      if (full > now_year + 50) {
        full -= 100;
      }
      return toEpochMs(full, month, day, hour, minute, second);
    }
  }
  {
    // asctime: "Sun Nov  6 08:49:37 1994" (the day is space-padded).
    DateCursor c(date);
    if (c.oneOf(kDayNames, &wday) && c.literal(" ") && c.oneOf(kMonthNames, &month) && c.literal(" ")) {
      const bool padded = c.literal(" ");
      if (padded ? c.digits(1, &day) : c.digits(2, &day)) {
        if (c.literal(" ") && c.time(&hour, &minute, &second) && c.literal(" ") && c.digits(4, &year) && c.done()) {
          return toEpochMs(year, month, day, hour, minute, second);
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<int64_t> parseRetryAfter(std::string_view header, int64_t now_ms) {
  header = trim(header);
  if (header.empty()) {
    return std::nullopt;
  }
  int64_t seconds = 0;
  if (parseDigitsSaturating(header, &seconds)) {
    return seconds * 1000;
  }
  if (auto at = parseHttpDate(header, now_ms)) {
    return std::max<int64_t>(0, *at - now_ms);
  }
  return std::nullopt;
}

std::optional<int64_t> parseRateLimitReset(std::string_view value, int64_t now_ms) {
  int64_t v = 0;
  if (!parseDigitsSaturating(trim(value), &v)) {
    return std::nullopt;
  }
  if (v >= 1'000'000'000'000) {
    return std::max<int64_t>(0, v - now_ms);  // Epoch milliseconds (OpenRouter).
  }
  if (v >= 1'000'000'000) {
    return std::max<int64_t>(0, v * 1000 - now_ms);  // Epoch seconds.
  }
  return v * 1000;  // Seconds from now.
}

UpstreamError failureForHttp(int status, std::string_view body, std::string_view retry_after_header, bool byok,
                             int64_t now_ms) {
  ErrorInfo info;
  const std::string_view trimmed = trim(body);
  json::Document doc;
  if (!trimmed.empty() && json::parse(doc, trimmed, nullptr) && doc.IsObject()) {
    if (const json::Value* e = json::member(doc, "error"); e != nullptr && (e->IsObject() || e->IsString())) {
      info = extract(*e);
    } else {
      // Not OpenAI-shaped, but other servers put a reason in `message` or `detail`.
      for (const char* key : {"message", "detail"}) {
        if (const json::Value* m = json::member(doc, key); m != nullptr && m->IsString()) {
          info.message = excerpt(json::view(*m), kMaxMessageBytes);
          break;
        }
      }
    }
  }
  if (info.message.empty()) {
    info.message = status == 404 ? "model or endpoint not found (HTTP 404)" : "HTTP " + std::to_string(status);
    if (!trimmed.empty()) {
      info.message += ": " + excerpt(trimmed, kExcerptBytes);
    }
  }
  UpstreamError out;
  out.failure = classifyStatus(status, info, byok);
  out.error_json = std::move(info.error_json);
  out.retry_after_ms = parseRetryAfter(retry_after_header, now_ms);
  if (!out.retry_after_ms && !info.reset.empty()) {
    out.retry_after_ms = parseRateLimitReset(info.reset, now_ms);
  }
  return out;
}

UpstreamError malformedAnswer(std::string message, int http_status, bool retryable) {
  UpstreamError e;
  e.failure.code = "UPSTREAM_ERROR";
  e.failure.message = std::move(message);
  e.failure.upstream_status = http_status;
  e.failure.retryable = retryable;
  e.failure.source = retryable ? "upstream" : "local";
  return e;
}

UpstreamError failureForErrorObject(const json::Value& error, int http_status, bool byok) {
  ErrorInfo info = extract(error);
  if (info.message.empty()) {
    // Appended piecewise: GCC 12 at -O3 warns (-Wrestrict, a false positive, GCC
    // bug 105329) on `" " + std::string` inlined into +=.
    info.message = "upstream error ";
    if (info.code_int) {
      info.message += std::to_string(*info.code_int);
    } else if (!info.code_str.empty()) {
      info.message += excerpt(info.code_str, kExcerptBytes);
    } else {
      info.message.pop_back();
    }
  }
  UpstreamError out;
  if (info.code_int && *info.code_int >= 400 && *info.code_int <= 599) {
    out.failure = classifyStatus(*info.code_int, info, byok);
  } else {
    out.failure = classifyName(http_status, info, byok);
  }
  out.error_json = std::move(info.error_json);
  return out;
}

Failure failureForTransport(int curl_code_like, std::string_view message, bool timed_out) {
  Failure f;
  f.upstream_status = 0;
  f.retryable = true;
  f.source = "upstream";
  std::string text = excerpt(trim(message), kExcerptBytes);
  if (timed_out || curl_code_like == kCurlOperationTimedOut) {
    f.code = "TIMEOUT";
    f.message = text.empty() ? "the upstream did not answer in time" : "timed out: " + text;
  } else {
    f.code = "NETWORK";
    f.message = "network error: " + (text.empty() ? std::string("transfer failed") : text);
  }
  f.message += " (curl code " + std::to_string(curl_code_like) + ")";
  return f;
}

}  // namespace llmq::upstream
