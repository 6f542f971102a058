// usage.report {group_by?, since?, until?, limit?, cursor?} -> {group_by, since,
// until, source, rows, totals, next_cursor} (ipc/PROTOCOL.md). Rows carry one member per group_by dimension (model,
// client, key (fingerprint), tag, day (UTC)) and the figures: requests,
// prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd.
// Totals count every attempt once, even grouped by tag. Whole UTC days are read
// from the daily rollups; other ranges from the ledger. An end inside a day whose
// ledger rows were pruned ([retention] ledger_days) is widened to that whole day,
// and the answer says so ("widened": true, with the since/until it covers).
// Rows are ordered by their group keys and paged by them (daemon/turn/answer_page.h):
// the number of rows grows with the client names and tags users choose.
#include <algorithm>
#include <cstdio>

#include "common/json.h"
#include "common/json_writer.h"
#include "common/text.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/turn/answer_page.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

// The most rows one page holds (and the default `limit`): enough that a report
// of the usual size comes whole; [ipc] max_answer_bytes bounds the page too.
constexpr int64_t kMaxUsageRowsPerPage = 10000;

// The figures of a row or of the totals, as members of the object being written.
void writeFigures(JsonWriter& w, const store::UsageFigures& f) {
  w.key("requests").int64(f.requests);
  w.key("prompt_tokens").int64(f.prompt_tokens);
  w.key("completion_tokens").int64(f.completion_tokens);
  w.key("cached_tokens").int64(f.cached_tokens);
  w.key("reasoning_tokens").int64(f.reasoning_tokens);
  w.key("cost_usd").decimal(f.cost_usd);
}

// An RFC 3339 bound; false (with the params failed) when malformed.
bool timeParam(ipc::Params& p, const char* name, std::optional<int64_t>* out) {
  auto text = p.string(name, false, 64);
  if (!text) {
    return true;
  }
  int64_t ms = 0;
  if (!parseRfc3339(std::string(*text), &ms)) {
    p.fail(std::string(name) + " must be an RFC 3339 time such as 2026-11-01T00:00:00Z");
    return false;
  }
  *out = ms;
  return true;
}

// Reads group_by, since and until into `q`; a bad one fails `p`.
void readQuery(ipc::Params& p, store::UsageQuery& q) {
  if (auto group_by = p.strings("group_by", 5, 16)) {
    for (const std::string& g : *group_by) {
      store::UsageDim d;
      if (!store::parseUsageDim(g, &d)) {
        p.fail("group_by members are model, client, key, tag and day, not \"" + g + "\"");
        break;
      }
      for (store::UsageDim seen : q.group_by) {
        if (seen == d) {
          p.fail("group_by names \"" + g + "\" twice");
        }
      }
      q.group_by.push_back(d);
    }
  }
  timeParam(p, "since", &q.since);
  timeParam(p, "until", &q.until);
  if (p.ok() && q.since && q.until && *q.since >= *q.until) {
    p.fail("since must be before until");
  }
}

// A range end as an RFC 3339 string, or null when open.
void writeBound(JsonWriter& w, const std::optional<int64_t>& ms) {
  if (ms) {
    w.string(rfc3339(*ms));
  } else {
    w.null();
  }
}

// The answer up to the rows array's '[': the grouping, the range answered and
// where it was read from.
std::string reportHead(const store::UsageQuery& q, const store::UsageReport& report) {
  std::string o;
  JsonWriter w(o);
  w.beginObject().key("group_by").beginArray();
  for (store::UsageDim d : q.group_by) {
    w.string(store::usageDimName(d));
  }
  w.endArray();
  // The range answered, which is wider than the one asked for when an end falls
  // in a day whose ledger rows were pruned (store::UsageReport::widened).
  w.key("since");
  writeBound(w, report.since);
  w.key("until");
  writeBound(w, report.until);
  if (report.widened) {
    w.key("widened").boolean(true);
  }
  w.key("source").string(report.from_rollup ? "rollup" : "ledger");
  w.key("rows").beginArray();
  return o;
}

// What follows the rows array: the totals, as a member after it.
std::string reportTail(const store::UsageReport& report) {
  std::string tail;
  JsonWriter w(tail, JsonWriter::Start::kAfterMember);
  w.key("totals").beginObject();
  writeFigures(w, report.totals);
  w.endObject();
  return tail;
}

// One row: a member per group_by dimension, then its figures.
void renderRow(std::string& one, const store::UsageQuery& q, const store::UsageRow& row) {
  one.clear();
  JsonWriter w(one);
  w.beginObject();
  for (size_t k = 0; k < q.group_by.size(); ++k) {
    w.key(store::usageDimName(q.group_by[k])).string(row.keys[k]);
  }
  writeFigures(w, row.figures);
  w.endObject();
}

}  // namespace

void handleUsageReport(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"group_by", "since", "until", "limit", "cursor"});
  store::UsageQuery q;
  readQuery(p, q);
  const PageRequest page_request = readPageParams(p, kMaxUsageRowsPerPage, q.group_by.size());
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  auto report = call.s.store->usageReport(q);
  if (!report) {
    replyStoreError(call, report.error(), "building the usage report");
    return;
  }
  const std::string tail = reportTail(*report);
  // The store orders rows by their keys already; sorted here too, so the order
  // is the one the cursor is compared in whatever the store does.
  std::vector<store::UsageRow>& rows = report->rows;
  std::sort(rows.begin(), rows.end(),
            [](const store::UsageRow& a, const store::UsageRow& b) { return a.keys < b.keys; });
  AnswerPage page(page_request, call.s.config.max_answer_bytes, reportHead(q, *report), tail.size());
  std::string one;
  for (const store::UsageRow& row : rows) {
    if (!page.after(row.keys)) {
      continue;
    }
    renderRow(one, q, row);
    if (!page.add(one, row.keys)) {
      break;
    }
  }
  call.reply.ok(page.finish(tail));
}

}  // namespace llmq::daemon
