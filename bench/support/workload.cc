// Request bodies for the benchmarks. Each job differs (its ticket number), so
// nothing downstream can dedupe or cache them.
#include "bench/support/workload.h"

#include <cstdio>

namespace llmq::bench {

std::string requestJson(const Workload& w, int64_t i) {
  char ticket[16];
  std::snprintf(ticket, sizeof ticket, "%010lld", static_cast<long long>(i));
  std::string r;
  r.reserve(512);
  r += "{\"model\":\"";
  r += w.model;
  r += "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise assistant for an "
       "operations team. Answer in plain text.\"},{\"role\":\"user\",\"content\":\"Summarise "
       "support ticket #";
  r += ticket;
  r += " for the on-call engineer: the nightly export job failed with a timeout right after the "
       "schema migration; list the three most likely causes and the next step for each.\"}]";
  if (w.execute) {
    r += ",\"stream\":true,\"mock\":{\"chunk_delay_ms\":0,\"first_chunk_delay_ms\":0,\"tokens\":";
    r += std::to_string(w.mock_tokens);
    r += "}";
  } else if (w.stream) {
    r += ",\"stream\":true";
  }
  r += "}";
  return r;
}

std::string submitParams(const Workload& w, int64_t i) {
  std::string p = "{\"request\":";
  p += requestJson(w, i);
  p += ",\"client\":\"";
  p += kClient;
  p += "\",\"tags\":";
  p += kTagsJson;
  p += "}";
  return p;
}

}  // namespace llmq::bench
