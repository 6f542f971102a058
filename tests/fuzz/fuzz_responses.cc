// fuzz_responses: what the daemon makes of Responses API and embeddings requests
// and answers, on JSON a client or an upstream controls: the request checks
// (responses::toChatRequest, ipc::embeddingRequestProblem), a follow-up's
// conversation (previousInput of the input as a stored job, withInputBefore, and
// its translation), a native answer made llmqd's (normalizeResponse) and a chat
// answer made a Response (fromChatCompletion). Every text they build must be
// JSON that parses again; nothing may crash or go unbounded.
//
// Input: byte 0 picks how the rest is used as a stored job (its kind and
// state); the rest is one JSON document.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json.h"
#include "daemon/jobs/responses_format.h"
#include "ipc/protocol.h"

namespace {

using namespace llmq;

// Text the daemon built that is not JSON: abort, so libFuzzer keeps the input.
void mustParse(const std::string& text, const char* what) {
  json::Document d;
  std::string error;
  if (!json::parse(d, text, &error, json::kMaxAnswerDepth)) {
    std::fprintf(stderr, "fuzz_responses: %s built text that is not JSON (%s): %.200s\n", what, error.c_str(),
                 text.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  json::Document doc;
  if (!json::parse(doc, text, nullptr)) {
    return 0;
  }
  if (doc.IsObject()) {
    // A request, as the HTTP front and job.submit check it.
    if (Result<std::string> chat = daemon::responses::toChatRequest(doc); chat) {
      mustParse(*chat, "toChatRequest");
    }
    (void)ipc::embeddingRequestProblem(doc);
    // A follow-up whose earlier items are this request's own input.
    const json::Value* input = json::member(doc, "input");
    if (input != nullptr && input->IsArray()) {
      const std::string items = json::toString(*input);
      const std::string joined = daemon::responses::withInputBefore(doc, items);
      mustParse(joined, "withInputBefore");
      json::Document again;
      if (json::parse(again, joined, nullptr)) {
        if (Result<std::string> chat = daemon::responses::toChatRequest(again); chat) {
          mustParse(*chat, "toChatRequest of a follow-up");
        }
      }
    }
    // The same document as answers: a native Response, a chat completion.
    const std::string normalized = daemon::responses::normalizeResponse(doc, "j000000000001", doc);
    mustParse(normalized, "normalizeResponse");
    mustParse(daemon::responses::fromChatCompletion(doc, "j000000000001", 1, doc), "fromChatCompletion");
    // And as a stored job (mode picks its kind and state), for previousInput.
    json::Document job(rapidjson::kObjectType);
    auto& a = job.GetAllocator();
    job.AddMember("state", rapidjson::StringRef((mode & 1) != 0 ? "succeeded" : "failed"), a);
    job.AddMember("kind", rapidjson::StringRef((mode & 2) != 0 ? "responses" : "chat"), a);
    job.AddMember("request", json::Value(doc, a), a);
    job.AddMember("result", json::Value(doc, a), a);
    if (Result<std::string> items = daemon::responses::previousInput(job); items) {
      mustParse(*items, "previousInput");
      mustParse(daemon::responses::withInputBefore(doc, *items), "withInputBefore of previous items");
    }
  }
  return 0;
}
