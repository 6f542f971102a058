// bench_json_parse: ns per json::parse of three hot-path texts, the current
// single pass (RapidJSON's reader with a depth-counting handler in front of the
// Document) beside the former two passes (findTooDeep over the whole text, then
// Document::Parse), interleaved run by run in the same process:
//   - a job.submit IPC frame as bench_submit sends it (about 480 bytes), parsed
//     into a Document on a 16 KiB stack pool as the dispatcher does;
//   - an OpenRouter chat.completion.chunk from an SSE stream (about 330 bytes);
//   - a 1 MiB chat request body (a thousand ~1 KiB messages), as the HTTP front
//     gets it.
// Also printed: the scan alone and RapidJSON's own Document::Parse alone (no depth
// limit). No daemon: this measures the parse alone. Figures are medians of --runs
// runs.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/support/report.h"
#include "bench/support/workload.h"
#include "common/json.h"

namespace llmq::bench {
namespace {

// What json::parse did before the single pass: the depth scan, then RapidJSON.
bool parseTwoPass(json::Document& doc, std::string_view text) {
  if (json::findTooDeep(text) != std::string_view::npos) {
    doc.SetNull();
    return false;
  }
  doc.Parse<json::kStrictParse>(text.data(), text.size());
  return !doc.HasParseError();
}

bool parseOnePass(json::Document& doc, std::string_view text) { return json::parse(doc, text, nullptr); }

// For reference, the two halves of the former way: the scan alone, and RapidJSON
// alone (no depth limit, which outside text must not be parsed without).
bool scanOnly(json::Document&, std::string_view text) { return json::findTooDeep(text) == std::string_view::npos; }
bool rapidJsonOnly(json::Document& doc, std::string_view text) {
  doc.Parse<json::kStrictParse>(text.data(), text.size());
  return !doc.HasParseError();
}

using ParseFn = bool (*)(json::Document&, std::string_view);

// ns per parse of `text` over `iterations` parses, each into a fresh Document
// (on a stack pool when `pool` is set), as the callers parse.
double nsPerParse(ParseFn fn, const std::string& text, int64_t iterations, bool pool, bool& ok) {
  const double start = nowSeconds();
  for (int64_t i = 0; i < iterations; ++i) {
    if (pool) {
      char buffer[16384];
      rapidjson::MemoryPoolAllocator<> allocator(buffer, sizeof buffer);
      json::Document doc(&allocator);
      ok = fn(doc, text) && ok;
    } else {
      json::Document doc;
      ok = fn(doc, text) && ok;
    }
  }
  return (nowSeconds() - start) * 1e9 / static_cast<double>(iterations);
}

std::string sseChunk() {
  return R"({"id":"gen-1733558400-AbCdEfGhIjKlMnOpQrSt","provider":"OpenAI",)"
         R"("model":"openai/gpt-4o-mini","object":"chat.completion.chunk","created":1733558400,)"
         R"("choices":[{"index":0,"delta":{"role":"assistant","content":" the quick brown fox"},)"
         R"("finish_reason":null,"native_finish_reason":null,"logprobs":null}],)"
         R"("system_fingerprint":"fp_0ba0d124f1"})";
}

std::string mibBody() {
  std::string body = R"({"model":"openai/gpt-4o-mini","stream":true,"temperature":0.7,"messages":[)";
  const std::string sentence = "The answer depends on \\\"context\\\", which we keep short.\\n ";
  for (int i = 0; body.size() < (1u << 20) - 2000; ++i) {
    body += i > 0 ? "," : "";
    body += R"({"role":")";
    body += i % 2 == 0 ? "user" : "assistant";
    body += R"(","content":")";
    while (body.size() % 1024 < 960) {
      body += sentence;
    }
    body += R"("})";
  }
  body += "]}";
  return body;
}

struct Case {
  const char* name;
  std::string text;
  int64_t iterations;
  bool pool;
};

}  // namespace
}  // namespace llmq::bench

int main(int argc, char** argv) {
  using namespace llmq::bench;
  int64_t runs = 5;
  int64_t scale = 1;
  if (!parseFlags(argc, argv, "bench_json_parse",
                  {{"runs", &runs, 1, "runs per figure (the median is printed)"},
                   {"scale", &scale, 1, "multiplies the parses per run"}})) {
    return 2;
  }
  Workload w;
  std::vector<Case> cases = {
      {"ipc job.submit frame",
       R"({"jsonrpc":"2.0","id":42,"method":"job.submit","params":)" + submitParams(w, 42) + "}", 200000 * scale,
       true},
      {"sse chunk", sseChunk(), 200000 * scale, false},
      {"1 MiB body", mibBody(), 100 * scale, false},
  };
  bool ok = true;
  for (const Case& c : cases) {
    std::vector<double> two;
    std::vector<double> one;
    std::vector<double> scan;
    std::vector<double> plain;
    nsPerParse(parseTwoPass, c.text, c.iterations / 10 + 1, c.pool, ok);  // Warm up.
    nsPerParse(parseOnePass, c.text, c.iterations / 10 + 1, c.pool, ok);
    for (int64_t r = 0; r < runs; ++r) {
      two.push_back(nsPerParse(parseTwoPass, c.text, c.iterations, c.pool, ok));
      one.push_back(nsPerParse(parseOnePass, c.text, c.iterations, c.pool, ok));
      scan.push_back(nsPerParse(scanOnly, c.text, c.iterations, c.pool, ok));
      plain.push_back(nsPerParse(rapidJsonOnly, c.text, c.iterations, c.pool, ok));
    }
    std::printf("%s (%zu bytes)\n", c.name, c.text.size());
    printLine("two passes, ns/parse", median(two), runsList(two));
    printLine("one pass, ns/parse", median(one), runsList(one));
    printLine("(scan alone, ns)", median(scan), runsList(scan));
    printLine("(RapidJSON alone, ns/parse)", median(plain), runsList(plain));
    std::printf("  one pass / two passes: %s   one pass / RapidJSON alone: %s\n",
                fixed(median(one) / median(two), 3).c_str(), fixed(median(one) / median(plain), 3).c_str());
  }
  if (!ok) {
    std::fprintf(stderr, "FAILED a text did not parse\n");
    return 1;
  }
  return 0;
}
