// The OpenAI Batch file format as `llmq batch` reads and writes it: input lines
// {custom_id, method, url ("/v1/chat/completions", "/v1/embeddings" or "/v1/responses"), body}
// checked one by one (with their line numbers),
// the batch's tag and idempotency keys, and output lines {id, custom_id,
// response: {status_code, request_id, body}, error}. See docs/batch.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmq/client.h"

namespace llmq::cli {

// One valid input line.
struct BatchRequest {
  int64_t line = 0;  // 1-based line number in the file.
  std::string custom_id;
  std::string body;  // The request body, compact JSON (empty unless kept).
  std::string kind;  // "embedding" (url /v1/embeddings), "responses" (/v1/responses), or "" (chat).
};

// An input line that cannot be submitted, and why.
struct BatchProblem {
  int64_t line = 0;
  std::string message;
};

struct BatchInput {
  std::vector<BatchRequest> requests;  // In file order.
  std::vector<BatchProblem> problems;  // In file order.
};

// Reads and checks an input file ("-": stdin). Blank lines are skipped; a
// line that is not a valid request, or repeats an earlier custom_id, becomes a
// problem. `keep_bodies` false keeps only the custom_ids (for results). Returns
// false, with the reason in *error, only when the file cannot be read.
bool readBatchInput(const std::string& path, const std::string& tag, bool keep_bodies, BatchInput* out,
                    std::string* error);

// The default tag of a batch: the file's name without its directory and its
// .jsonl/.ndjson/.json extension, e.g. "runs/eval-17.jsonl" -> "eval-17". Empty
// for stdin.
std::string defaultBatchTag(const std::string& path);

// "batch:<tag>:<custom_id>": the idempotency key of one line, so a re-run of the
// same batch finds the jobs of lines it submitted before.
std::string batchKey(std::string_view tag, std::string_view custom_id);
// The custom_id in a key of batch `tag`; false when the key is not one of its keys.
bool customIdFromKey(std::string_view tag, std::string_view key, std::string* custom_id);

// One output line (without '\n') for a finished job: a succeeded job as
// response {status_code 200, request_id, body: the chat.completion}, anything
// else as response null and error {code, message}.
std::string batchOutputLine(const client::Job& job, std::string_view custom_id);

}  // namespace llmq::cli
