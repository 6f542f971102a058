// job.list {state, client, tag, limit, cursor, include_result} -> {jobs, next_cursor}.
// Newest first; the cursor is the job_id of the last job of the previous page.
// A page ends at `limit` jobs or at [ipc] max_answer_bytes of JSON, whichever
// comes first (next_cursor says where to go on); a job whose result alone passes
// that budget is listed without it, marked "result_omitted": true.
#include "common/json_writer.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_json.h"
#include "daemon/policy/access.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

// The filters that come before the owner check: state and client.
void readStateAndClient(ipc::Params& p, store::ListFilter& filter) {
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
}

// Anyone but an administrator lists only their own jobs (daemon/policy/access.h);
// false, answered, when they named another user's client.
bool restrictToOwner(Call& call, store::ListFilter& filter) {
  if (call.s.access->isAdmin(call.peer)) {
    return true;
  }
  if (filter.client && !call.s.access->owns(call.peer, *filter.client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, "client \"" + *filter.client + "\" is another user's",
                    "PERMISSION_DENIED");
    return false;
  }
  filter.owner = call.peer.user;
  return true;
}

// The filters after the owner check (tag, limit, cursor); returns include_result.
bool readPaging(ipc::Params& p, store::ListFilter& filter) {
  if (auto tag = p.string("tag", false, ipc::kMaxNameBytes)) {
    filter.tag = std::string(*tag);
  }
  filter.limit = static_cast<int>(p.integer("limit", 1, 1000).value_or(100));
  if (auto cursor = p.string("cursor", false, 64)) {
    if (!ipc::parseJobId(*cursor, &filter.before_id)) {
      p.fail("\"cursor\" is not a job id");
    }
  }
  return p.boolean("include_result").value_or(false);
}

// One job of the page into `one`: without its result unless asked for, and
// without it anyway when it alone passes the budget (job.get has it), marked
// "result_omitted", so paging always moves on.
void renderListedJob(std::string& one, store::JobRecord& j, bool include_result, size_t budget) {
  if (!include_result) {
    j.result_json.clear();
  }
  one.clear();
  appendJobJson(one, j);
  if (one.size() > budget && include_result) {
    j.result_json.clear();
    one.clear();
    appendJobJson(one, j);
    one.pop_back();  // The job object's '}': one member more goes in.
    JsonWriter(one, JsonWriter::Start::kAfterMember).key("result_omitted").boolean(true).endObject();
  }
}

// Rows are read one at a time and the page ends at `limit` jobs or at
// [ipc] max_answer_bytes, whichever comes first: results can be large, and a
// page built whole could pass what the connection may hold. One row more than
// fits tells whether a next page exists.
void replyWithPage(Call& call, store::ListFilter& filter, bool include_result) {
  const size_t budget = call.s.config.max_answer_bytes;
  const int limit = filter.limit;
  filter.limit = limit + 1;
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("jobs").beginArray();
  std::string one;
  int count = 0;
  int64_t last_id = 0;
  bool more = false;
  auto listed = call.s.store->listJobs(filter, [&](store::JobRecord& j) {
    if (count == limit) {
      more = true;
      return false;
    }
    renderListedJob(one, j, include_result, budget);
    if (count > 0 && out.size() + one.size() + 1 > budget) {
      more = true;
      return false;
    }
    w.raw(one);
    ++count;
    last_id = j.id;
    return true;
  });
  if (!listed) {
    replyStoreError(call, listed.error(), "listing jobs");
    return;
  }
  w.endArray().key("next_cursor");
  if (more) {
    w.string(ipc::formatJobId(last_id));
  } else {
    w.null();
  }
  w.endObject();
  call.reply.ok(std::move(out));
}

}  // namespace

void handleJobList(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"state", "client", "tag", "limit", "cursor", "include_result"});
  store::ListFilter filter;
  readStateAndClient(p, filter);
  if (!restrictToOwner(call, filter)) {
    return;
  }
  const bool include_result = readPaging(p, filter);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  replyWithPage(call, filter, include_result);
}

}  // namespace llmq::daemon
