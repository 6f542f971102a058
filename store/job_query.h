// What the job queue's queries take and answer, beside the rows themselves
// (store/job_record.h): the filter of a listing, and the per-client figures of
// the quota and of retention. Plain data, shared by every store backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/job_record.h"

namespace llmq::store {

struct ListFilter {
  std::optional<JobState> state;
  std::optional<std::string> client;
  std::optional<std::string> tag;
  // Only jobs of this user: client "<owner>" or "<owner>:...".
  std::optional<std::string> owner;
  int limit = 100;
  // Paging: only jobs with id < before_id (newest first). 0 means from the newest.
  int64_t before_id = 0;
};

struct ClientBytes {
  std::string client;
  int64_t bytes = 0;
};

struct ClientUsage {
  std::string client;
  int64_t unfinished = 0;
  int64_t bytes = 0;
};

struct RecoveryCounts {
  int64_t requeued = 0;
  int64_t failed = 0;
};

}  // namespace llmq::store
