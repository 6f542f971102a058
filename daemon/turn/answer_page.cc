// AnswerPage: the paging of the list answers (daemon/turn/answer_page.h).
#include "daemon/turn/answer_page.h"

#include "common/json.h"

namespace llmq::daemon {
namespace {

constexpr size_t kMaxCursorBytes = 16384;
constexpr std::string_view kNextCursor = ",\"next_cursor\":";

// The key as the cursor string a client passes back: ["a","b"], itself a JSON string.
std::string cursorJson(const PageKey& key) {
  std::string array = "[";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i > 0) {
      array += ",";
    }
    json::appendString(array, key[i]);
  }
  array += "]";
  std::string out;
  json::appendString(out, array);
  return out;
}

}  // namespace

PageRequest readPageParams(ipc::Params& p, int64_t max_limit, size_t key_size) {
  PageRequest r;
  r.limit = static_cast<size_t>(p.integer("limit", 1, max_limit).value_or(max_limit));
  auto cursor = p.string("cursor", false, kMaxCursorBytes);
  if (!cursor) {
    return r;
  }
  json::Document doc;
  bool good = json::parse(doc, *cursor, nullptr) && doc.IsArray() && doc.Size() == key_size;
  PageKey key;
  if (good) {
    for (const json::Value& v : doc.GetArray()) {
      if (!v.IsString()) {
        good = false;
        break;
      }
      key.emplace_back(v.GetString(), v.GetStringLength());
    }
  }
  if (!good) {
    p.fail("\"cursor\" is not a next_cursor of this method (with these params)");
    return r;
  }
  r.after = std::move(key);
  return r;
}

AnswerPage::AnswerPage(PageRequest request, size_t max_bytes, std::string head, size_t tail_bytes)
    : request_(std::move(request)),
      max_bytes_(max_bytes),
      tail_bytes_(tail_bytes),
      out_(std::move(head)),
      cursor_("null") {}

bool AnswerPage::add(std::string_view row, const PageKey& key) {
  if (more_) {
    return false;
  }
  if (count_ == request_.limit) {
    more_ = true;
    return false;
  }
  std::string cursor = cursorJson(key);
  // The answer if the page ended with this row: what is there, the row, "]",
  // the tail, next_cursor (this row's key) and "}".
  const size_t would_be = out_.size() + 1 + row.size() + 1 + tail_bytes_ + kNextCursor.size() + cursor.size() + 1;
  if (count_ > 0 && would_be > max_bytes_) {
    more_ = true;
    return false;
  }
  if (count_ > 0) {
    out_.push_back(',');
  }
  out_ += row;
  cursor_ = std::move(cursor);
  ++count_;
  return true;
}

std::string AnswerPage::finish(std::string_view tail) {
  out_ += "]";
  out_ += tail;
  out_ += kNextCursor;
  out_ += more_ ? cursor_ : std::string("null");
  out_ += "}";
  return std::move(out_);
}

}  // namespace llmq::daemon
