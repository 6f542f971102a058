// Windowed pipelining over the blocking ipc::Client: write a batch, block for
// one answer, then drain what is already readable with zero-timeout reads.
#include "bench/support/pipeline.h"

#include <string>

#include "bench/support/report.h"
#include "ipc/jsonrpc.h"

namespace llmq::bench {
namespace {

// A successful job.submit answer (or the echo responder's stand-in for one).
bool isAck(std::string_view line) { return line.find("\"result\":{\"job_id\":\"") != std::string_view::npos; }

Error badAnswer(std::string_view line, int64_t acked) {
  std::string shown(line.substr(0, 300));
  return makeError(ErrorKind::kInternal,
                   "answer " + std::to_string(acked + 1) + " is not an acknowledgement: " + shown);
}

}  // namespace

Result<PipelineResult> pipelineSubmits(ipc::Client& client, const PipelineOptions& opts,
                                       const std::function<void(std::string_view)>& on_ack) {
  PipelineResult res;
  std::string batch;
  batch.reserve(static_cast<size_t>(opts.window) * 600);
  int64_t sent = 0;
  auto take = [&](const std::string& line) -> Result<void> {
    if (!isAck(line)) {
      return badAnswer(line, res.acked);
    }
    if (on_ack) {
      on_ack(line);
    }
    ++res.acked;
    return {};
  };

  res.started_at = nowSeconds();
  while (res.acked < opts.jobs) {
    batch.clear();
    while (sent < opts.jobs && sent - res.acked < opts.window) {
      batch += ipc::makeRequest("job.submit", submitParams(opts.workload, sent), sent + 1);
      ++sent;
    }
    if (!batch.empty()) {
      if (auto w = client.sendRaw(batch); !w) {
        return w.takeError();
      }
    }
    auto line = client.readLine(opts.stall_timeout_ms);
    if (!line) {
      return line.takeError();
    }
    if (!line->has_value()) {
      return makeError(ErrorKind::kIo, "no answer for " + std::to_string(opts.stall_timeout_ms) + " ms after " +
                                           std::to_string(res.acked) + " of " + std::to_string(opts.jobs) +
                                           " acknowledgements");
    }
    if (auto r = take(**line); !r) {
      return r.takeError();
    }
    // Everything already readable, without blocking, before the next write.
    while (res.acked < opts.jobs) {
      auto more = client.readLine(0);
      if (!more) {
        return more.takeError();
      }
      if (!more->has_value()) {
        break;
      }
      if (auto r = take(**more); !r) {
        return r.takeError();
      }
    }
  }
  res.seconds = nowSeconds() - res.started_at;
  return res;
}

}  // namespace llmq::bench
