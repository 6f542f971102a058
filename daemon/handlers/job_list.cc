// job.list {state, client, tag, limit, cursor, include_result} -> {jobs, next_cursor}.
// Newest first; the cursor is the job_id of the last job of the previous page.
#include "daemon/access.h"
#include "daemon/handlers/handlers.h"
#include "daemon/job_json.h"
#include "daemon/services.h"
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
  // Anyone but an administrator lists only their own jobs (daemon/access.h).
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
  // One row more than asked tells whether a next page exists.
  const int limit = filter.limit;
  filter.limit = limit + 1;
  auto jobs = call.s.jobs->list(filter);
  if (!jobs) {
    replyStoreError(call, jobs.error(), "listing jobs");
    return;
  }
  const bool more = static_cast<int>(jobs->size()) > limit;
  if (more) {
    jobs->pop_back();
  }
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs->size(); ++i) {
    store::JobRecord& j = (*jobs)[i];
    if (!include_result) {
      j.result_json.clear();
    }
    if (i > 0) {
      out.push_back(',');
    }
    appendJobJson(out, j);
  }
  out += "],\"next_cursor\":";
  if (more) {
    out += "\"" + ipc::formatJobId(jobs->back().id) + "\"";
  } else {
    out += "null";
  }
  out += "}";
  call.reply.ok(std::move(out));
}

}  // namespace llmq::daemon
