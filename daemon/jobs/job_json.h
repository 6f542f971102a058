// The job object of the protocol (ipc/PROTOCOL.md), rendered from a stored job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/job_record.h"

namespace llmq::daemon {

std::string jobToJson(const store::JobRecord& job);
void appendJobJson(std::string& out, const store::JobRecord& job);

// The elements of a job's tags_json (a JSON array of strings).
std::vector<std::string> parseTags(std::string_view tags_json);

}  // namespace llmq::daemon
