// job.get {job_id, include_request?} -> job object (with "request", the stored
// chat request, when asked). Also home of the helpers handlers share.
#include "common/json_writer.h"
#include "common/log.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_json.h"
#include "daemon/policy/access.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {

void replyStoreError(const Call& call, const Error& error, const char* what) {
  LOG_ERROR("%s: %s", what, error.message.c_str());
  if (error.kind == ErrorKind::kStorage || error.kind == ErrorKind::kStorageFull) {
    call.reply.fail(ipc::rpc::kStorageFailure, std::string(what) + ": " + error.message);
  } else {
    call.reply.fail(ipc::rpc::kInternalError, std::string(what) + ": " + error.message);
  }
}

std::optional<store::JobRecord> loadJobParam(Call& call, bool with_include_request) {
  ipc::Params p(call.params);
  if (with_include_request) {
    p.allowOnly({"job_id", "include_request"});
    p.boolean("include_request");
  } else {
    p.allowOnly({"job_id"});
  }
  auto text = p.string("job_id", true, 64);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return std::nullopt;
  }
  int64_t id = 0;
  if (!ipc::parseJobId(*text, &id)) {
    call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(*text) + "\"");
    return std::nullopt;
  }
  auto job = call.s.store->getJob(id);
  if (!job) {
    replyStoreError(call, job.error(), "reading the job");
    return std::nullopt;
  }
  if (!job->has_value()) {
    call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(*text) + "\"");
    return std::nullopt;
  }
  if (!call.s.access->owns(call.peer, (**job).client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, "job " + std::string(*text) + " belongs to another user",
                    "PERMISSION_DENIED");
    return std::nullopt;
  }
  return std::move(*job);
}

void handleJobGet(Call& call) {
  auto job = loadJobParam(call, true);
  if (!job) {
    return;
  }
  const json::Value* include = json::member(*call.params, "include_request");
  if (include == nullptr || !include->IsBool() || !include->GetBool() || job->request_json.empty()) {
    call.reply.ok(jobToJson(*job));
    return;
  }
  // The request as stored, after the job's other members: the Responses API's
  // previous_response_id continues its conversation.
  std::string out = jobToJson(*job);
  out.pop_back();  // The job object's '}': one member more goes in.
  JsonWriter(out, JsonWriter::Start::kAfterMember).key("request").raw(job->request_json).endObject();
  call.reply.ok(std::move(out));
}

}  // namespace llmq::daemon
