// AnswerPage: one page of a list answer (usage.report, budget.list, models.list).
// A page ends at `limit` rows or before the answer would pass [ipc]
// max_answer_bytes of JSON, whichever comes first; `next_cursor` then says where
// the next one starts, and is null on the last page (ipc/PROTOCOL.md, "Paging").
//
// Rows are offered in ascending order of a sort key, a tuple of strings unique
// per row. The cursor is the key of the last row listed, written as a JSON array
// of strings, and the next page lists the rows whose key comes after it; so a row
// is never listed twice, and rows that are added or removed between pages move
// no other row to another page.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/protocol.h"

namespace llmq::daemon {

using PageKey = std::vector<std::string>;

struct PageRequest {
  size_t limit = SIZE_MAX;
  std::optional<PageKey> after;  // The cursor: list only rows whose key comes after it.
};

// Reads "limit" (1..max_limit; absent: max_limit) and "cursor" (a next_cursor
// of an earlier page: a JSON array of `key_size` strings); a bad one fails `p`.
PageRequest readPageParams(ipc::Params& p, int64_t max_limit, size_t key_size);

class AnswerPage {
 public:
  // `head`: the answer up to its array's '['; `tail_bytes`: how long what follows
  // the array's ']' will be, next_cursor aside.
  AnswerPage(PageRequest request, size_t max_bytes, std::string head, size_t tail_bytes);

  // Whether the row with this key belongs on this page or later ones (after the cursor).
  bool after(const PageKey& key) const { return !request_.after || key > *request_.after; }
  // Adds a row (its JSON and its key); false when the page is already full, so
  // the caller stops offering rows. A row is always taken onto an empty page,
  // so paging moves on even past a row larger than max_bytes.
  bool add(std::string_view row, const PageKey& key);
  bool more() const { return more_; }
  // The answer: head, rows, "]", `tail` (starting with ',' when not empty),
  // ",\"next_cursor\":...}".
  std::string finish(std::string_view tail);

 private:
  PageRequest request_;
  size_t max_bytes_;
  size_t tail_bytes_;
  std::string out_;
  std::string cursor_;  // The last row's key as a JSON string, or "null".
  size_t count_ = 0;
  bool more_ = false;
};

}  // namespace llmq::daemon
