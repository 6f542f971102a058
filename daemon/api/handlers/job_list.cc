// job.list {state, client, tag, limit, cursor, include_result} -> {jobs, next_cursor}.
// Newest first; the cursor is the job_id of the last job of the previous page.
// A page ends at `limit` jobs or at [ipc] max_answer_bytes of JSON, whichever
// comes first (next_cursor says where to go on); a job whose result alone passes
// that budget is listed without it, marked "result_omitted": true.
#include "daemon/policy/access.h"
#include "daemon/config.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/jobs/job_json.h"
#include "daemon/engine.h"
#include "ipc/protocol.h"
#include "store/job_store.h"

namespace llmq::daemon {

void handleJobList(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"state", "client", "tag", "limit", "cursor", "include_result"});
  store::ListFilter filter;
  if (auto state = p.string("state", false, 32)) {
    int s = ipc::parseJobState(*state);
    if (s < 0) {
      p.fail("unknown state \"" + std::string(*state) + "\"");
    } else {
      filter.state = static_cast<store::JobState>(s);
    }
  }
  if (auto client = p.string("client", false, ipc::kMaxNameBytes)) {
    filter.client = std::string(*client);
  }
  // Anyone but an administrator lists only their own jobs (daemon/policy/access.h).
  if (!call.s.access->isAdmin(call.peer)) {
    if (filter.client && !call.s.access->owns(call.peer, *filter.client)) {
      call.reply.fail(ipc::rpc::kPermissionDenied,
                      "client \"" + *filter.client + "\" is another user's", "PERMISSION_DENIED");
      return;
    }
    filter.owner = call.peer.user;
  }
  if (auto tag = p.string("tag", false, ipc::kMaxNameBytes)) {
    filter.tag = std::string(*tag);
  }
  filter.limit = static_cast<int>(p.integer("limit", 1, 1000).value_or(100));
  if (auto cursor = p.string("cursor", false, 64)) {
    if (!ipc::parseJobId(*cursor, &filter.before_id)) {
      p.fail("\"cursor\" is not a job id");
    }
  }
  const bool include_result = p.boolean("include_result").value_or(false);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  // Rows are read one at a time and the page ends at `limit` jobs or at
  // [ipc] max_answer_bytes, whichever comes first: results can be large, and a
  // page built whole could pass what the connection may hold. One row more than
  // fits tells whether a next page exists.
  const size_t budget = call.s.config.max_answer_bytes;
  const int limit = filter.limit;
  filter.limit = limit + 1;
  std::string out = "{\"jobs\":[";
  std::string one;
  int count = 0;
  int64_t last_id = 0;
  bool more = false;
  auto listed = call.s.jobs->listEach(filter, [&](store::JobRecord& j) {
    if (count == limit) {
      more = true;
      return false;
    }
    if (!include_result) {
      j.result_json.clear();
    }
    one.clear();
    appendJobJson(one, j);
    if (one.size() > budget && include_result) {
      // Alone past the budget: listed without its result (job.get has it), so
      // paging always moves on.
      j.result_json.clear();
      one.clear();
      appendJobJson(one, j);
      one.pop_back();
      one += ",\"result_omitted\":true}";
    }
    if (count > 0 && out.size() + one.size() + 1 > budget) {
      more = true;
      return false;
    }
    if (count > 0) {
      out.push_back(',');
    }
    out += one;
    ++count;
    last_id = j.id;
    return true;
  });
  if (!listed) {
    replyStoreError(call, listed.error(), "listing jobs");
    return;
  }
  out += "],\"next_cursor\":";
  if (more) {
    out += "\"" + ipc::formatJobId(last_id) + "\"";
  } else {
    out += "null";
  }
  out += "}";
  call.reply.ok(std::move(out));
}

}  // namespace llmq::daemon
