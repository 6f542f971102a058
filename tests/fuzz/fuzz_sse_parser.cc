// fuzz_sse_parser: the upstream response parsers, on bytes an upstream (or anything
// posing as one) controls: SseParser and ChatStreamDecoder fed the body in chunks
// whose sizes the input chooses, checked against the same body fed whole (any split
// must give the same events and the same outcome, as sse_parser.h promises), the
// same for ResponseEventsDecoder (a streamed Responses call), plus the non-streamed
// body parsers: parseChatResponse, parseResponsesResponse, parseEmbeddingResponse,
// failureForHttp, parseModelCatalog and the Retry-After / reset readers.
//
// Input: byte 0 seeds the chunk sizes (0: one byte at a time) and its top bit makes
// the attempt BYOK; byte 1 picks the SSE buffer cap (0: the default 8 MiB, else
// 4 * byte 1, to reach the overflow path) and the stream's content cap (0: the
// default 32 MiB, else 16 * byte 1); the rest is the response body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "upstream/chat_response.h"
#include "upstream/chat_stream.h"
#include "upstream/embedding_response.h"
#include "upstream/error_map.h"
#include "upstream/model_catalog_parse.h"
#include "upstream/response_events.h"
#include "upstream/responses_response.h"
#include "upstream/sse_parser.h"

namespace {

using namespace llmq::upstream;

constexpr int64_t kNowMs = 1'700'000'000'000;

// A broken invariant: print what differed and abort, so libFuzzer keeps the input.
[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "fuzz_sse_parser: whole and split feeds disagree on %s\n", what);
  std::abort();
}

// Chunk sizes from a tiny xorshift generator seeded by the input: small chunks,
// so splits land inside "\r\n", the BOM and "data:" often.
class Splitter {
 public:
  explicit Splitter(uint8_t seed) : state_(seed * 2654435761u + 1), bytewise_(seed == 0) {}
  size_t next(size_t left) {
    if (bytewise_) {
      return 1;
    }
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    size_t n = 1 + state_ % 17;
    if (state_ % 8 == 0) {
      n = 1 + state_ % 512;  // Now and then a big one.
    }
    return n < left ? n : left;
  }

 private:
  uint32_t state_;
  bool bytewise_;
};

struct SseRun {
  std::vector<std::string> events;
  uint64_t comments = 0;
  uint64_t dispatched = 0;
  bool overflowed = false;
  SseEnd end = SseEnd::kClean;
};

SseRun runSse(std::string_view body, size_t cap, const uint8_t* seed) {
  SseRun run;
  SseParser parser(cap);
  auto on_event = [&run](std::string_view data) { run.events.emplace_back(data); };
  if (seed == nullptr) {
    parser.feed(body, on_event);
  } else {
    Splitter split(*seed);
    size_t pos = 0;
    while (pos < body.size()) {
      size_t n = split.next(body.size() - pos);
      if (!parser.feed(body.substr(pos, n), on_event)) {
        break;
      }
      pos += n;
    }
  }
  run.comments = parser.comments();
  run.dispatched = parser.events();
  run.overflowed = parser.overflowed();
  run.end = parser.finish();
  if (run.dispatched != run.events.size()) {
    mismatch("the event count (events() vs callbacks)");
  }
  return run;
}

// Feeds `body` to a stream decoder whole (seed null) or in the splitter's chunks,
// stopping where a provider would: once the outcome is decided.
template <class Decoder, class OnDelta>
void feedAll(Decoder& decoder, std::string_view body, const uint8_t* seed, const OnDelta& on_delta) {
  if (seed == nullptr) {
    decoder.feed(body, on_delta);
    return;
  }
  Splitter split(*seed);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t n = split.next(body.size() - pos);
    if (!decoder.feed(body.substr(pos, n), on_delta)) {
      break;
    }
    pos += n;
  }
}

struct StreamRun {
  std::string deltas;  // Every delta, flattened.
  ChatOutcome outcome;
};

StreamRun runStream(std::string_view body, size_t cap, size_t content_cap, bool byok, const uint8_t* seed) {
  StreamRun run;
  ChatStreamDecoder decoder(byok, cap, content_cap);
  auto on_delta = [&run](const StreamDelta& d) {
    run.deltas += std::to_string(d.index);
    run.deltas.push_back('\0');
    run.deltas.append(d.content);
    run.deltas.push_back('\0');
    run.deltas.append(d.reasoning);
    run.deltas.push_back('\0');
    run.deltas.append(d.tool_calls_json);
    run.deltas.push_back('\n');
  };
  feedAll(decoder, body, seed, on_delta);
  run.outcome = decoder.finish();
  return run;
}

StreamRun runResponseEvents(std::string_view body, size_t cap, size_t content_cap, bool byok, const uint8_t* seed) {
  StreamRun run;
  ResponseEventsDecoder decoder(byok, cap, content_cap);
  auto on_delta = [&run](const StreamDelta& d) {
    run.deltas.append(d.content);
    run.deltas.push_back('\0');
    run.deltas.append(d.reasoning);
    run.deltas.push_back('\n');
  };
  feedAll(decoder, body, seed, on_delta);
  if (decoder.textSoFar().size() > content_cap) {
    mismatch("the Responses stream's text past its cap");
  }
  run.outcome = decoder.finish();
  return run;
}

void compareOutcomes(const ChatOutcome& a, const ChatOutcome& b) {
  if (a.index() != b.index()) {
    mismatch("the stream's outcome (completion vs error)");
  }
  if (const auto* ca = std::get_if<Completion>(&a)) {
    const auto& cb = std::get<Completion>(b);
    if (ca->result_json != cb.result_json || ca->content != cb.content || ca->finish_reason != cb.finish_reason ||
        ca->model != cb.model || ca->generation_id != cb.generation_id ||
        ca->usage.total_tokens != cb.usage.total_tokens) {
      mismatch("the assembled completion");
    }
    return;
  }
  const auto& ea = std::get<UpstreamError>(a);
  const auto& eb = std::get<UpstreamError>(b);
  if (ea.failure.code != eb.failure.code || ea.failure.message != eb.failure.message ||
      ea.failure.retryable != eb.failure.retryable) {
    mismatch("the stream's error");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t seed = data[0] & 0x7f;
  const bool byok = (data[0] & 0x80) != 0;
  const size_t cap = data[1] == 0 ? SseParser::kDefaultMaxBufferedBytes : size_t{4} * data[1];
  const size_t content_cap = data[1] == 0 ? ChatStreamAssembler::kDefaultMaxContentBytes : size_t{16} * data[1];
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

  // The raw event stream, whole and split.
  SseRun whole = runSse(body, cap, nullptr);
  SseRun split = runSse(body, cap, &seed);
  if (whole.events != split.events) {
    mismatch("the events");
  }
  if (whole.comments != split.comments) {
    mismatch("the comment count");
  }
  if (whole.overflowed != split.overflowed || whole.end != split.end) {
    mismatch("how the stream ended");
  }

  // The chat-completion stream on top of it.
  StreamRun whole_stream = runStream(body, cap, content_cap, byok, nullptr);
  StreamRun split_stream = runStream(body, cap, content_cap, byok, &seed);
  if (whole_stream.deltas != split_stream.deltas) {
    mismatch("the deltas");
  }
  compareOutcomes(whole_stream.outcome, split_stream.outcome);

  // The same bytes as a streamed Responses call.
  StreamRun whole_events = runResponseEvents(body, cap, content_cap, byok, nullptr);
  StreamRun split_events = runResponseEvents(body, cap, content_cap, byok, &seed);
  if (whole_events.deltas != split_events.deltas) {
    mismatch("the Responses deltas");
  }
  compareOutcomes(whole_events.outcome, split_events.outcome);

  // The same bytes as a non-streamed body: a 200, an error status, a model list.
  (void)parseChatResponse(body, byok, 200);
  (void)parseResponsesResponse(body, byok, 200);
  (void)parseEmbeddingResponse(body, byok, 200);
  (void)failureForHttp(400 + data[1] % 200, body, body.substr(0, body.find('\n')), byok, kNowMs);
  (void)parseModelCatalog(body, "openrouter");
  const std::string_view first_line = body.substr(0, std::min<size_t>(body.find('\n'), 64));
  (void)parseRetryAfter(first_line, kNowMs);
  (void)parseRateLimitReset(first_line, kNowMs);
  return 0;
}
