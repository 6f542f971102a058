// json_choice: pick llmq's hot-path JSON library by measurement.
//
// Standalone (no google-benchmark). For each library/variant and each hot-path
// operation it runs a fixed number of iterations, repeats that 5 times
// (interleaved with the other cases, so background noise is spread evenly),
// and prints the median ns/op plus the ratio to the fastest variant of that op.
// Every variant's output is checked against the expected values first; any
// mismatch aborts.
//
//   (a) submit : parse a job.submit JSON-RPC frame, extract method/id/
//                params.priority/client/tags, re-serialize params.request
//                compactly into a std::string
//   (b) chunk  : parse an SSE content chunk, extract choices[0].delta.content
//   (c) usage  : parse the final usage chunk, extract the usage numbers
//   (d) event  : build an event notification string (with JSON escaping)
//
// Build by hand:
//   g++ -O2 -std=c++20 -Wall -Wextra -Werror json_choice.cc -o json_choice -lsimdjson
// Add -DRAPIDJSON_SSE2 (any x86-64) to enable RapidJSON's SIMD string/space scans.
// Usage: json_choice [scale]   (scale multiplies the iteration counts; default 1)

// RapidJSON 1.1.0: std::string overloads. Must be identical in every TU (ODR).
#define RAPIDJSON_HAS_STDSTRING 1
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#if defined(RAPIDJSON_SSE42)
constexpr const char* kRapidJsonSimd = "RAPIDJSON_SSE42";
#elif defined(RAPIDJSON_SSE2)
constexpr const char* kRapidJsonSimd = "RAPIDJSON_SSE2";
#else
constexpr const char* kRapidJsonSimd = "none (scalar)";
#endif

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// ---------------------------------------------------------------- inputs ----

const std::string kParagraph =
    "The committee met on Tuesday to review the \\\"quarterly\\\" results. "
    "Revenue grew by 12% compared with the same period last year, driven "
    "mainly by the new subscription tier, while costs rose by only 4% thanks "
    "to renegotiated hosting contracts.\\nHowever, churn among small accounts "
    "increased slightly, and the caf\xc3\xa9 chain pilot in Lyon was paused "
    "after supply problems. The board asked the product team to prepare a "
    "retention plan before the next meeting, to publish a short summary for "
    "all staff, and to revisit the hiring freeze in engineering, which several "
    "managers described as the main obstacle to shipping the roadmap on time. "
    "A final decision on the Lyon pilot is expected by the end of the month.";

const std::string kRequest =
    R"({"model":"openai/gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Summarise the following paragraph in one sentence: )" +
    kParagraph + R"("}],"max_tokens":256,"temperature":0.2})";

const std::string kSubmitFrame =
    R"({"jsonrpc":"2.0","id":17,"method":"job.submit","params":{"request":)" + kRequest +
    R"(,"priority":5,"client":"batch-42","tags":["nightly","eval"],"idempotency_key":"batch-42/000017"}})";

const std::string kChunk = R"({"id":"gen-1732412345-abc","provider":"OpenAI","model":"openai/gpt-4o-mini",)"
                           R"("object":"chat.completion.chunk","created":1732412345,"choices":[{"index":0,)"
                           R"("delta":{"role":"assistant","content":" quick"},"finish_reason":null,)"
                           R"("native_finish_reason":null,"logprobs":null}]})";

const std::string kUsageChunk =
    R"({"id":"gen-1732412345-abc","provider":"OpenAI","model":"openai/gpt-4o-mini",)"
    R"("object":"chat.completion.chunk","created":1732412345,"choices":[{"index":0,)"
    R"("delta":{"role":"assistant","content":""},"finish_reason":"stop",)"
    R"("native_finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":194,)"
    R"("completion_tokens":37,"total_tokens":231,"cost":0.000123,)"
    R"("prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})";

struct EventIn {
  std::string subscription = "s1";
  std::string job_id = "j000000000001";
  uint64_t seq = 7;
  std::string event = "message_chunk";
  std::string ts = "2026-11-24T02:46:07.123Z";
  // Exercises escaping: quotes, newline, tab, backslash, UTF-8, a control char.
  std::string delta = " quick \"brown\"\n\tfox\\ caf\xc3\xa9 \x01";
  int index = 0;
};

const std::string kExpectedEvent =
    R"({"jsonrpc":"2.0","method":"event","params":{"subscription":"s1","job_id":"j000000000001",)"
    R"("seq":7,"event":"message_chunk","ts":"2026-11-24T02:46:07.123Z",)"
    R"("data":{"delta":" quick \"brown\"\n\tfox\\ caf)"
    "\xc3\xa9"
    R"( \u0001","index":0}}})";

// --------------------------------------------------------------- outputs ----

struct Submit {
  std::string method;
  int64_t id = 0;
  int64_t priority = 0;
  std::string client;
  std::vector<std::string> tags;
  std::string request;  // compact JSON of params.request
  void clear() {
    method.clear();
    id = priority = 0;
    client.clear();
    tags.clear();
    request.clear();
  }
};

struct Usage {
  int64_t prompt = -1, completion = -1, total = -1, cached = -1, reasoning = -1;
  double cost = -1;
};

[[noreturn]] void die(const char* what, const char* detail = "") {
  std::fprintf(stderr, "SANITY CHECK FAILED: %s %s\n", what, detail);
  std::abort();
}

// ------------------------------------------------------------- RapidJSON ----
namespace rj {
using rapidjson::Document;
using rapidjson::Value;

// operator[] on a missing member is RAPIDJSON_ASSERT (abort, or UB under
// NDEBUG): always look members up with FindMember.
inline const Value* member(const Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

inline bool extract_submit(const Value& d, Submit& out) {
  const Value* method = member(d, "method");
  const Value* id = member(d, "id");
  const Value* params = member(d, "params");
  if (!method || !method->IsString() || !id || !id->IsInt64() || !params) return false;
  out.method.assign(method->GetString(), method->GetStringLength());
  out.id = id->GetInt64();
  const Value* prio = member(*params, "priority");
  const Value* client = member(*params, "client");
  const Value* tags = member(*params, "tags");
  const Value* request = member(*params, "request");
  if (!prio || !prio->IsInt64() || !client || !client->IsString() || !tags || !tags->IsArray() || !request ||
      !request->IsObject())
    return false;
  out.priority = prio->GetInt64();
  out.client.assign(client->GetString(), client->GetStringLength());
  for (const Value& t : tags->GetArray()) {
    if (!t.IsString()) return false;
    out.tags.emplace_back(t.GetString(), t.GetStringLength());
  }
  // Compact output needs rapidjson::Writer (PrettyWriter indents).
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  if (!request->Accept(w)) return false;
  out.request.assign(sb.GetString(), sb.GetSize());
  return true;
}

// Variant 1: fresh Document per message, kParseDefaultFlags (strings copied
// into the document's own MemoryPoolAllocator, which mallocs 64 KiB chunks).
// kParseDefaultFlags does NOT validate UTF-8; kValidate adds that (nlohmann
// and simdjson always validate).
constexpr unsigned kValidate = rapidjson::kParseValidateEncodingFlag;

template <unsigned Flags = rapidjson::kParseDefaultFlags>
bool submit(const std::string& in, Submit& out) {
  Document d;
  d.Parse<Flags>(in.data(), in.size());
  if (d.HasParseError()) return false;
  return extract_submit(d, out);
}

// Variant 2: what a hot loop would do. In-situ parse (strings point into a
// mutable copy of the line, no string copies) and a value allocator plus
// parse-stack allocator over fixed buffers that are reset per message.
struct Arena {
  alignas(8) char value_buf[32 * 1024];
  alignas(8) char stack_buf[8 * 1024];
  rapidjson::MemoryPoolAllocator<> value_alloc{value_buf, sizeof value_buf};
  rapidjson::MemoryPoolAllocator<> stack_alloc{stack_buf, sizeof stack_buf};
  std::string line;  // mutable copy for kParseInsituFlag
  void reset() {
    value_alloc.Clear();
    stack_alloc.Clear();
  }
};
Arena& arena() {
  static Arena a;
  return a;
}

using ArenaDocument = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                                 rapidjson::MemoryPoolAllocator<>>;

template <typename F>
bool with_insitu(const std::string& in, F&& f) {
  Arena& a = arena();
  a.line.assign(in);  // insitu parsing destroys the buffer; the daemon could
                      // parse its read buffer directly if it is not needed after
  bool ok;
  {
    // The default Document's parse stack uses CrtAllocator (malloc); to put
    // the stack in the arena too, the StackAllocator template arg must change.
    ArenaDocument d(&a.value_alloc, 1024, &a.stack_alloc);
    d.ParseInsitu(a.line.data());
    ok = !d.HasParseError() && f(static_cast<const Value&>(d));
  }
  a.reset();
  return ok;
}

bool submit_insitu(const std::string& in, Submit& out) {
  return with_insitu(in, [&](const Value& d) { return extract_submit(d, out); });
}

inline bool extract_chunk(const Value& d, std::string& content) {
  const Value* choices = member(d, "choices");
  if (!choices || !choices->IsArray() || choices->Empty()) return false;
  const Value* delta = member((*choices)[0], "delta");
  const Value* c = delta ? member(*delta, "content") : nullptr;
  if (!c || !c->IsString()) return false;
  content.assign(c->GetString(), c->GetStringLength());
  return true;
}

template <unsigned Flags = rapidjson::kParseDefaultFlags>
bool chunk(const std::string& in, std::string& content) {
  Document d;
  d.Parse<Flags>(in.data(), in.size());
  return !d.HasParseError() && extract_chunk(d, content);
}
bool chunk_insitu(const std::string& in, std::string& content) {
  return with_insitu(in, [&](const Value& d) { return extract_chunk(d, content); });
}

inline bool get_i64(const Value& obj, const char* name, int64_t& v) {
  const Value* m = member(obj, name);
  if (!m || !m->IsInt64()) return false;
  v = m->GetInt64();
  return true;
}

inline bool extract_usage(const Value& d, Usage& u) {
  const Value* usage = member(d, "usage");
  if (!usage || !usage->IsObject()) return false;
  const Value* cost = member(*usage, "cost");
  const Value* ptd = member(*usage, "prompt_tokens_details");
  const Value* ctd = member(*usage, "completion_tokens_details");
  if (!cost || !cost->IsNumber() || !ptd || !ctd) return false;
  u.cost = cost->GetDouble();
  return get_i64(*usage, "prompt_tokens", u.prompt) && get_i64(*usage, "completion_tokens", u.completion) &&
         get_i64(*usage, "total_tokens", u.total) && get_i64(*ptd, "cached_tokens", u.cached) &&
         get_i64(*ctd, "reasoning_tokens", u.reasoning);
}

template <unsigned Flags = rapidjson::kParseDefaultFlags>
bool usage(const std::string& in, Usage& u) {
  Document d;
  d.Parse<Flags>(in.data(), in.size());
  return !d.HasParseError() && extract_usage(d, u);
}
bool usage_insitu(const std::string& in, Usage& u) {
  return with_insitu(in, [&](const Value& d) { return extract_usage(d, u); });
}

// (d) SAX-style Writer straight into a StringBuffer: no DOM at all.
bool event_writer(const EventIn& e, std::string& out) {
  static rapidjson::StringBuffer sb;  // reused; Clear() keeps the capacity
  sb.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("jsonrpc");
  w.String("2.0");
  w.Key("method");
  w.String("event");
  w.Key("params");
  w.StartObject();
  w.Key("subscription");
  w.String(e.subscription);
  w.Key("job_id");
  w.String(e.job_id);
  w.Key("seq");
  w.Uint64(e.seq);
  w.Key("event");
  w.String(e.event);
  w.Key("ts");
  w.String(e.ts);
  w.Key("data");
  w.StartObject();
  w.Key("delta");
  w.String(e.delta);
  w.Key("index");
  w.Int(e.index);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  out.assign(sb.GetString(), sb.GetSize());
  return w.IsComplete();
}

// (d) Build a DOM, then Accept(Writer). Needed when "data" is an arbitrary
// Value coming from elsewhere. Strings are copied (Value(str, alloc)); with
// StringRef() they would only be referenced (must outlive the Document).
bool event_dom(const EventIn& e, std::string& out) {
  Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  Value data(rapidjson::kObjectType);
  data.AddMember("delta", Value(e.delta, a), a);
  data.AddMember("index", e.index, a);
  Value params(rapidjson::kObjectType);
  params.AddMember("subscription", Value(e.subscription, a), a);
  params.AddMember("job_id", Value(e.job_id, a), a);
  params.AddMember("seq", Value(e.seq), a);
  params.AddMember("event", Value(e.event, a), a);
  params.AddMember("ts", Value(e.ts, a), a);
  params.AddMember("data", data, a);  // moves: `data` is Null afterwards
  d.AddMember("jsonrpc", "2.0", a);   // string literal -> StringRef, not copied
  d.AddMember("method", "event", a);
  d.AddMember("params", params, a);
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  if (!d.Accept(w)) return false;
  out.assign(sb.GetString(), sb.GetSize());
  return true;
}
}  // namespace rj

// --------------------------------------------------------- nlohmann-json ----
namespace nl {
// nlohmann::json stores objects in std::map: keys come out sorted, so the
// request would NOT be re-serialized in its original key order. ordered_json
// keeps insertion order (vector-backed object, linear lookup).
template <typename J>
bool submit(const std::string& in, Submit& out) {
  J j = J::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  try {
    out.method = j.at("method").template get_ref<const std::string&>();
    out.id = j.at("id").template get<int64_t>();
    const J& params = j.at("params");
    out.priority = params.at("priority").template get<int64_t>();
    out.client = params.at("client").template get_ref<const std::string&>();
    for (const J& t : params.at("tags")) out.tags.push_back(t.template get_ref<const std::string&>());
    out.request = params.at("request").dump();  // compact by default (indent = -1)
  } catch (const typename J::exception&) {
    return false;
  }
  return true;
}

template <typename J>
bool chunk(const std::string& in, std::string& content) {
  J j = J::parse(in, nullptr, false);
  if (j.is_discarded()) return false;
  try {
    content = j.at("choices").at(0).at("delta").at("content").template get_ref<const std::string&>();
  } catch (const typename J::exception&) {
    return false;
  }
  return true;
}

template <typename J>
bool usage(const std::string& in, Usage& u) {
  J j = J::parse(in, nullptr, false);
  if (j.is_discarded()) return false;
  try {
    const J& us = j.at("usage");
    u.prompt = us.at("prompt_tokens").template get<int64_t>();
    u.completion = us.at("completion_tokens").template get<int64_t>();
    u.total = us.at("total_tokens").template get<int64_t>();
    u.cost = us.at("cost").template get<double>();
    u.cached = us.at("prompt_tokens_details").at("cached_tokens").template get<int64_t>();
    u.reasoning = us.at("completion_tokens_details").at("reasoning_tokens").template get<int64_t>();
  } catch (const typename J::exception&) {
    return false;
  }
  return true;
}

template <typename J>
bool event(const EventIn& e, std::string& out) {
  J j;
  j["jsonrpc"] = "2.0";
  j["method"] = "event";
  J& p = j["params"];
  p["subscription"] = e.subscription;
  p["job_id"] = e.job_id;
  p["seq"] = e.seq;
  p["event"] = e.event;
  p["ts"] = e.ts;
  J& data = p["data"];
  data["delta"] = e.delta;
  data["index"] = e.index;
  out = j.dump();  // error_handler default = strict: throws on invalid UTF-8
  return true;
}
}  // namespace nl

// -------------------------------------------------------------- simdjson ----
namespace sj {
namespace od = simdjson::ondemand;

od::parser& parser() {
  static od::parser p;  // reuse: the parser owns the (re)allocated buffers
  return p;
}

// Inputs must have SIMDJSON_PADDING (64) readable bytes after the end. We
// pre-build padded_strings (the daemon's read buffer can reserve the slack, then
// use simdjson::padded_string_view at zero cost).
bool submit(const simdjson::padded_string& in, Submit& out) {
  od::document doc;
  if (parser().iterate(in).get(doc)) return false;
  std::string_view method, client, raw;
  int64_t id, prio;
  od::object params, request;
  od::array tags;
  // operator[] = find_field_unordered: fine in any key order, fastest in order.
  if (doc["id"].get_int64().get(id)) return false;
  if (doc["method"].get_string().get(method)) return false;
  if (doc["params"].get_object().get(params)) return false;
  if (params["request"].get_object().get(request)) return false;
  // raw_json(): the original bytes of the object (skipped, NOT fully validated
  // by On Demand; e.g. a bad number literal inside is not detected).
  if (request.raw_json().get(raw)) return false;
  if (params["priority"].get_int64().get(prio)) return false;
  if (params["client"].get_string().get(client)) return false;
  if (params["tags"].get_array().get(tags)) return false;
  for (auto t : tags) {
    std::string_view s;
    if (t.get_string().get(s)) return false;
    out.tags.emplace_back(s);
  }
  out.method.assign(method);
  out.id = id;
  out.priority = prio;
  out.client.assign(client);
  // raw_json keeps any whitespace of the input: minify to get compact output.
  out.request.resize(raw.size());
  size_t n = 0;
  if (simdjson::minify(raw.data(), raw.size(), out.request.data(), n)) return false;
  out.request.resize(n);
  return true;
}

bool chunk(const simdjson::padded_string& in, std::string& content) {
  od::document doc;
  if (parser().iterate(in).get(doc)) return false;
  std::string_view c;
  if (doc["choices"].at(0)["delta"]["content"].get_string().get(c)) return false;
  content.assign(c);  // string_view points into the parser: copy before reuse
  return true;
}

bool usage(const simdjson::padded_string& in, Usage& u) {
  od::document doc;
  if (parser().iterate(in).get(doc)) return false;
  od::object us;
  if (doc["usage"].get_object().get(us)) return false;
  if (us["prompt_tokens"].get_int64().get(u.prompt)) return false;
  if (us["completion_tokens"].get_int64().get(u.completion)) return false;
  if (us["total_tokens"].get_int64().get(u.total)) return false;
  if (us["cost"].get_double().get(u.cost)) return false;
  if (us["prompt_tokens_details"]["cached_tokens"].get_int64().get(u.cached)) return false;
  if (us["completion_tokens_details"]["reasoning_tokens"].get_int64().get(u.reasoning)) return false;
  return true;
}
}  // namespace sj

// ----------------------------------------------- hand-rolled writer (ref) ----
namespace hand {
void escape_into(std::string& out, std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";  // same casing as RapidJSON
  out.push_back('"');
  size_t run = 0;  // start of the current run of bytes needing no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        out += u;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

bool event(const EventIn& e, std::string& out) {
  out.clear();
  out += R"({"jsonrpc":"2.0","method":"event","params":{"subscription":)";
  escape_into(out, e.subscription);
  out += R"(,"job_id":)";
  escape_into(out, e.job_id);
  out += R"(,"seq":)";
  out += std::to_string(e.seq);
  out += R"(,"event":)";
  escape_into(out, e.event);
  out += R"(,"ts":)";
  escape_into(out, e.ts);
  out += R"(,"data":{"delta":)";
  escape_into(out, e.delta);
  out += R"(,"index":)";
  out += std::to_string(e.index);
  out += "}}}";
  return true;
}
}  // namespace hand

// ------------------------------------------------------------- harness ------

struct Case {
  std::string lib;
  std::string op;
  size_t iters;
  std::function<uint64_t(size_t)> run;  // runs `iters` ops, returns a checksum
  std::vector<double> ns_per_op;
};

volatile uint64_t g_sink;

template <typename In, typename Fn>
Case submit_case(std::string lib, const In& in, Fn fn, size_t iters) {
  return {std::move(lib),
          "a submit",
          iters,
          [&in, fn](size_t n) {
            Submit s;
            uint64_t sum = 0;
            for (size_t i = 0; i < n; ++i) {
              s.clear();
              if (!fn(in, s)) die("submit parse failed");
              sum += s.request.size() + s.tags.size() + static_cast<uint64_t>(s.priority);
            }
            return sum;
          },
          {}};
}

template <typename In, typename Fn>
Case chunk_case(std::string lib, const In& in, Fn fn, size_t iters) {
  return {std::move(lib),
          "b chunk",
          iters,
          [&in, fn](size_t n) {
            std::string c;
            uint64_t sum = 0;
            for (size_t i = 0; i < n; ++i) {
              if (!fn(in, c)) die("chunk parse failed");
              sum += c.size();
            }
            return sum;
          },
          {}};
}

template <typename In, typename Fn>
Case usage_case(std::string lib, const In& in, Fn fn, size_t iters) {
  return {std::move(lib),
          "c usage",
          iters,
          [&in, fn](size_t n) {
            Usage u;
            uint64_t sum = 0;
            for (size_t i = 0; i < n; ++i) {
              if (!fn(in, u)) die("usage parse failed");
              sum += static_cast<uint64_t>(u.total + u.cached) + (u.cost > 0);
            }
            return sum;
          },
          {}};
}

template <typename Fn>
Case event_case(std::string lib, Fn fn, size_t iters) {
  return {std::move(lib),
          "d event",
          iters,
          [fn](size_t n) {
            EventIn e;
            std::string out;
            uint64_t sum = 0;
            for (size_t i = 0; i < n; ++i) {
              e.seq = i;  // vary the input so nothing is hoisted
              if (!fn(e, out)) die("event build failed");
              sum += out.size() + static_cast<unsigned char>(out[out.size() / 2]);
            }
            return sum;
          },
          {}};
}

// ------------------------------------------------------------- sanity -------

void check_submit(const char* lib, bool (*fn)(const std::string&, Submit&), bool verbatim) {
  Submit s;
  if (!fn(kSubmitFrame, s)) die(lib, "submit: parse failed");
  if (s.method != "job.submit" || s.id != 17 || s.priority != 5 || s.client != "batch-42" ||
      s.tags != std::vector<std::string>{"nightly", "eval"})
    die(lib, "submit: wrong field values");
  if (verbatim) {
    if (s.request != kRequest) {
      std::fprintf(stderr, "got:  %s\nwant: %s\n", s.request.c_str(), kRequest.c_str());
      die(lib, "submit: request not re-serialized verbatim");
    }
  } else if (nlohmann::json::parse(s.request) != nlohmann::json::parse(kRequest)) {
    die(lib, "submit: request not semantically equal");
  }
}

template <typename In>
void check_parse(const char* lib, const In& chunk_in, bool (*chunk_fn)(const In&, std::string&), const In& usage_in,
                 bool (*usage_fn)(const In&, Usage&)) {
  std::string c;
  if (!chunk_fn(chunk_in, c) || c != " quick") die(lib, "chunk: wrong content");
  Usage u;
  if (!usage_fn(usage_in, u)) die(lib, "usage: parse failed");
  if (u.prompt != 194 || u.completion != 37 || u.total != 231 || u.cached != 0 || u.reasoning != 0 ||
      u.cost != 0.000123)
    die(lib, "usage: wrong values");
}

void check_event(const char* lib, bool (*fn)(const EventIn&, std::string&), bool verbatim) {
  std::string out;
  if (!fn(EventIn{}, out)) die(lib, "event: build failed");
  if (verbatim ? out != kExpectedEvent : nlohmann::json::parse(out) != nlohmann::json::parse(kExpectedEvent)) {
    std::fprintf(stderr, "got:  %s\nwant: %s\n", out.c_str(), kExpectedEvent.c_str());
    die(lib, "event: wrong output");
  }
}

}  // namespace

int main(int argc, char** argv) {
  using nlohmann::json;
  using nlohmann::ordered_json;
  const double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  auto it = [scale](size_t n) { return std::max<size_t>(1, static_cast<size_t>(n * scale)); };

  const simdjson::padded_string p_submit(kSubmitFrame), p_chunk(kChunk), p_usage(kUsageChunk);

  // --- sanity checks (abort on mismatch) ---
  check_submit("rapidjson", rj::submit<>, true);
  check_submit("rapidjson validate", rj::submit<rj::kValidate>, true);
  check_submit("rapidjson insitu+arena", rj::submit_insitu, true);
  check_submit("nlohmann ordered_json", nl::submit<ordered_json>, true);
  check_submit("nlohmann json", nl::submit<json>, false);  // keys come out sorted
  check_submit(
      "simdjson", +[](const std::string& s, Submit& o) { return sj::submit(simdjson::padded_string(s), o); }, true);
  check_parse<std::string>("rapidjson", kChunk, rj::chunk<>, kUsageChunk, rj::usage<>);
  check_parse<std::string>("rapidjson validate", kChunk, rj::chunk<rj::kValidate>, kUsageChunk,
                           rj::usage<rj::kValidate>);
  check_parse<std::string>("rapidjson insitu+arena", kChunk, rj::chunk_insitu, kUsageChunk, rj::usage_insitu);
  check_parse<std::string>("nlohmann ordered_json", kChunk, nl::chunk<ordered_json>, kUsageChunk,
                           nl::usage<ordered_json>);
  check_parse<std::string>("nlohmann json", kChunk, nl::chunk<json>, kUsageChunk, nl::usage<json>);
  check_parse<simdjson::padded_string>("simdjson", p_chunk, sj::chunk, p_usage, sj::usage);
  check_event("rapidjson Writer", rj::event_writer, true);
  check_event("rapidjson DOM+Writer", rj::event_dom, true);
  check_event("nlohmann ordered_json", nl::event<ordered_json>, true);
  check_event("nlohmann json", nl::event<json>, false);  // keys come out sorted
  check_event("hand-rolled", hand::event, true);
  // Also the sanity checks must catch a wrong value: feed a mutated frame.
  {
    std::string bad = kSubmitFrame;
    bad.replace(bad.find("\"priority\":5"), 12, "\"priority\":6");
    Submit s;
    if (!rj::submit<>(bad, s) || s.priority != 6) die("self-test", "mutated frame not seen");
  }
  // kParseDefaultFlags passes invalid UTF-8 straight through; only
  // kParseValidateEncodingFlag rejects it (documented in docs/json.md).
  {
    std::string bad = kChunk;
    bad.replace(bad.find(" quick"), 6,
                " qu\xff\xfe"
                "ck");
    std::string c;
    if (!rj::chunk<>(bad, c)) die("rapidjson", "default flags unexpectedly validate UTF-8");
    if (rj::chunk<rj::kValidate>(bad, c)) die("rapidjson", "kParseValidateEncodingFlag accepted bad UTF-8");
    if (nl::chunk<json>(bad, c)) die("nlohmann", "accepted bad UTF-8");
    if (sj::chunk(simdjson::padded_string(bad), c)) die("simdjson", "accepted bad UTF-8");
  }
  std::printf("sanity checks: all libraries agree\n");

  const size_t A = it(20000), B = it(100000), C = it(100000), D = it(100000);
  std::vector<Case> cases;
  cases.push_back(submit_case("rapidjson (Parse, copy)", kSubmitFrame, rj::submit<>, A));
  cases.push_back(submit_case("rapidjson (+validate UTF-8)", kSubmitFrame, rj::submit<rj::kValidate>, A));
  cases.push_back(submit_case("rapidjson (insitu+arena)", kSubmitFrame, rj::submit_insitu, A));
  cases.push_back(submit_case("nlohmann ordered_json", kSubmitFrame, nl::submit<ordered_json>, A));
  cases.push_back(submit_case("nlohmann json (sorted keys*)", kSubmitFrame, nl::submit<json>, A));
  cases.push_back(submit_case("simdjson ondemand", p_submit, sj::submit, A));

  cases.push_back(chunk_case("rapidjson (Parse, copy)", kChunk, rj::chunk<>, B));
  cases.push_back(chunk_case("rapidjson (+validate UTF-8)", kChunk, rj::chunk<rj::kValidate>, B));
  cases.push_back(chunk_case("rapidjson (insitu+arena)", kChunk, rj::chunk_insitu, B));
  cases.push_back(chunk_case("nlohmann ordered_json", kChunk, nl::chunk<ordered_json>, B));
  cases.push_back(chunk_case("nlohmann json", kChunk, nl::chunk<json>, B));
  cases.push_back(chunk_case("simdjson ondemand", p_chunk, sj::chunk, B));

  cases.push_back(usage_case("rapidjson (Parse, copy)", kUsageChunk, rj::usage<>, C));
  cases.push_back(usage_case("rapidjson (+validate UTF-8)", kUsageChunk, rj::usage<rj::kValidate>, C));
  cases.push_back(usage_case("rapidjson (insitu+arena)", kUsageChunk, rj::usage_insitu, C));
  cases.push_back(usage_case("nlohmann ordered_json", kUsageChunk, nl::usage<ordered_json>, C));
  cases.push_back(usage_case("nlohmann json", kUsageChunk, nl::usage<json>, C));
  cases.push_back(usage_case("simdjson ondemand", p_usage, sj::usage, C));

  cases.push_back(event_case("rapidjson Writer (SAX)", rj::event_writer, D));
  cases.push_back(event_case("rapidjson Document+Writer", rj::event_dom, D));
  cases.push_back(event_case("nlohmann ordered_json", nl::event<ordered_json>, D));
  cases.push_back(event_case("nlohmann json (sorted keys*)", nl::event<json>, D));
  cases.push_back(event_case("hand-rolled std::string", hand::event, D));

  constexpr int kReps = 5;
  for (Case& c : cases) g_sink = g_sink + c.run(std::max<size_t>(1, c.iters / 10));  // warm-up
  for (int rep = 0; rep < kReps; ++rep) {
    for (Case& c : cases) {
      const auto t0 = std::chrono::steady_clock::now();
      g_sink = g_sink + c.run(c.iters);
      const auto t1 = std::chrono::steady_clock::now();
      c.ns_per_op.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() /
                            static_cast<double>(c.iters));
    }
  }

  std::printf(
      "rapidjson SIMD: %s; simdjson implementation: %s; frame sizes: submit %zu B, chunk %zu B, usage %zu B\n",
      kRapidJsonSimd, simdjson::get_active_implementation()->name().c_str(), kSubmitFrame.size(), kChunk.size(),
      kUsageChunk.size());
  std::printf("median of %d runs\n\n", kReps);
  std::printf("%-30s %-9s %12s %9s\n", "library", "op", "ns/op", "x fastest");
  std::string last_op;
  for (Case& c : cases) {
    std::sort(c.ns_per_op.begin(), c.ns_per_op.end());
  }
  for (const char* op : {"a submit", "b chunk", "c usage", "d event"}) {
    double best = 1e300;
    for (const Case& c : cases)
      if (c.op == op) best = std::min(best, c.ns_per_op[kReps / 2]);
    for (const Case& c : cases) {
      if (c.op != op) continue;
      const double med = c.ns_per_op[kReps / 2];
      std::printf("%-30s %-9s %12.0f %9.2f   (min %.0f, max %.0f)\n", c.lib.c_str(), op, med, med / best,
                  c.ns_per_op.front(), c.ns_per_op.back());
    }
    if (std::string_view(op) == "d event") std::printf("%-30s %-9s %12s %9s\n", "simdjson", op, "n/a", "-");
    std::printf("\n");
  }
  std::printf("* nlohmann::json sorts object keys (std::map): output is not verbatim.\n");
  return 0;
}
