// UserQuota: per-user counters, loaded once, kept exact by the job's transitions.
#include "daemon/policy/user_quota.h"

#include <algorithm>

#include "daemon/config.h"
#include "daemon/policy/access.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

std::string mib(int64_t bytes) {
  return std::to_string(bytes / (1 << 20)) + "." + std::to_string((bytes % (1 << 20)) * 10 / (1 << 20)) + " MiB";
}

}  // namespace

std::string UserQuota::ownerOf(std::string_view client) { return Access::ownerOf(client); }

Result<void> UserQuota::load(store::Store& store) {
  auto rows = store.usageByClient();
  if (!rows) {
    return rows.takeError();
  }
  users_.clear();
  for (const store::ClientUsage& row : *rows) {
    Usage& u = at(row.client);
    u.unfinished += row.unfinished;
    u.bytes += row.bytes;
  }
  return {};
}

UserQuota::Usage& UserQuota::at(std::string_view client) {
  std::string owner = ownerOf(client);  // Per submit: one short string.
  auto it = users_.find(owner);
  if (it == users_.end()) {
    it = users_.emplace(std::move(owner), Usage{}).first;
  }
  return it->second;
}

UserQuota::Usage UserQuota::usage(std::string_view user) const {
  auto it = users_.find(std::string(user));
  return it == users_.end() ? Usage{} : it->second;
}

std::optional<std::string> UserQuota::refuse(const QuotaConfig& limits, std::string_view client, bool admin,
                                             int64_t request_bytes) const {
  const int64_t max_jobs = admin ? limits.admin_max_unfinished_jobs : limits.max_unfinished_jobs;
  const int64_t max_bytes = admin ? limits.admin_max_stored_bytes : limits.max_stored_bytes;
  const std::string owner = ownerOf(client);
  const Usage u = usage(owner);
  const char* prefix = admin ? "admin_" : "";
  if (max_jobs > 0 && u.unfinished >= max_jobs) {
    return "user " + owner + " has " + std::to_string(u.unfinished) + " unfinished jobs, the most [quota] " +
           prefix + "max_queued_jobs = " + std::to_string(max_jobs) +
           " allows; submit again when some have finished (or cancel some)";
  }
  if (max_bytes > 0 && request_bytes > max_bytes - std::min(u.bytes, max_bytes)) {
    return "user " + owner + "'s jobs hold " + mib(u.bytes) + " and this request adds " +
           std::to_string(request_bytes) + " bytes, more than [quota] " + prefix +
           "max_stored_mb = " + std::to_string(max_bytes >> 20) +
           " allows; room comes back as retention drops the bodies of finished jobs";
  }
  return std::nullopt;
}

void UserQuota::noteInserted(std::string_view client, int64_t bytes) {
  Usage& u = at(client);
  ++u.unfinished;
  u.bytes += bytes;
}

void UserQuota::noteFinished(std::string_view client, int64_t bytes) {
  Usage& u = at(client);
  u.unfinished = std::max<int64_t>(0, u.unfinished - 1);
  u.bytes = std::max<int64_t>(0, u.bytes + bytes);
}

void UserQuota::noteRequeued(std::string_view client, int64_t bytes) {
  Usage& u = at(client);
  ++u.unfinished;
  u.bytes = std::max<int64_t>(0, u.bytes + bytes);
}

void UserQuota::noteFreed(std::string_view client, int64_t bytes) {
  Usage& u = at(client);
  u.bytes = std::max<int64_t>(0, u.bytes - bytes);
}

}  // namespace llmq::daemon
