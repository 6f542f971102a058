// `llmq submit`: builds the request body and job.submit params from flags (or
// --request-json), then prints the job id or follows the job to its end (--wait,
// --stream). Following uses submit's `subscribe`, not `wait`, so the job id is
// known at once and an interrupted client can say which job keeps running.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"
#include "common/text.h"

namespace llmq::cli {
namespace {

// The model when --model is not given: $LLMQ_MODEL, else the mock's demo model.
std::string defaultModel() {
  const char* env = std::getenv("LLMQ_MODEL");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("mock/demo");
}

struct SubmitOptions {
  std::vector<std::string> words;  // The prompt, or empty / {"-"} for stdin.
  std::string model = defaultModel();
  bool model_given = false;
  std::optional<std::string> route;  // Instead of a model: a routing rule picks it.
  std::optional<std::string> system;
  std::optional<int64_t> max_tokens;
  std::optional<std::string> request_file;
  std::optional<int64_t> priority;
  std::vector<std::string> tags;
  std::optional<std::string> client;
  std::optional<std::string> idempotency_key;
  std::optional<int64_t> max_attempts;
  std::optional<double> timeout_s;
  std::optional<double> deadline_s;
  std::optional<std::string> on_restart;
  std::vector<std::string> fallbacks;
  std::optional<std::string> provider;
  std::optional<bool> cache;
  std::optional<std::string> api_key_file;
  std::optional<std::string> api_key;          // Read from api_key_file; never printed.
  std::optional<std::string> response_format;  // "json_object", or a file holding the object.
  std::optional<std::string> request_id;
  bool fail_when_cooling = false;
  bool cancel_on_disconnect = false;
  bool wait = false;
  bool stream = false;
};

// Parses the submit flags; returns false with args.failed() set on a usage error.
bool parseOptions(ArgReader& args, SubmitOptions* o) {
  std::string text;
  int64_t n = 0;
  double secs = 0;
  while (args.next()) {
    if (args.positional()) {
      o->words.push_back(args.current());
    } else if (args.value("--model", &o->model)) {
      o->model_given = true;
    } else if (args.value("--route", &text)) {
      o->route = text;
    } else if (args.value("--system", &text)) {
      o->system = text;
    } else if (args.intValue("--max-tokens", 1, 1000000000, &n)) {
      o->max_tokens = n;
    } else if (args.value("--request-json", &text)) {
      o->request_file = text;
    } else if (args.intValue("--priority", -1000, 1000, &n)) {
      o->priority = n;
    } else if (args.value("--tag", &text)) {
      o->tags.push_back(text);
    } else if (args.value("--client", &text)) {
      o->client = text;
    } else if (args.value("--idempotency-key", &text)) {
      o->idempotency_key = text;
    } else if (args.intValue("--max-attempts", 1, 100, &n)) {
      o->max_attempts = n;
    } else if (args.secondsValue("--timeout", &secs)) {
      o->timeout_s = secs;
    } else if (args.secondsValue("--deadline", &secs)) {
      o->deadline_s = secs;
    } else if (args.value("--on-restart", &text)) {
      o->on_restart = text;
    } else if (args.value("--fallback", &text)) {
      o->fallbacks.push_back(text);
    } else if (args.value("--provider", &text)) {
      o->provider = text;
    } else if (args.flag("--cache")) {
      o->cache = true;
    } else if (args.flag("--no-cache")) {
      o->cache = false;
    } else if (args.value("--api-key-file", &text)) {
      o->api_key_file = text;
    } else if (args.value("--response-format", &text)) {
      o->response_format = text;
    } else if (args.value("--request-id", &text)) {
      o->request_id = text;
    } else if (args.flag("--fail-when-cooling")) {
      o->fail_when_cooling = true;
    } else if (args.flag("--cancel-on-disconnect")) {
      o->cancel_on_disconnect = true;
    } else if (args.flag("--wait")) {
      o->wait = true;
    } else if (args.flag("--stream")) {
      o->stream = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return false;
  }
  if (o->on_restart && *o->on_restart != "requeue" && *o->on_restart != "fail") {
    args.fail("--on-restart takes requeue or fail, not \"" + *o->on_restart + "\"");
  } else if (o->model.empty()) {
    args.fail("--model must not be empty");
  } else if (o->route && o->route->empty()) {
    args.fail("--route must not be empty");
  } else if (o->route && o->model_given) {
    args.fail("--route and --model exclude each other: the route picks the model");
  } else if (o->cancel_on_disconnect && !o->wait && !o->stream) {
    args.fail("--cancel-on-disconnect needs --wait or --stream: without them llmq leaves at once");
  } else if (o->request_file && (!o->words.empty() || o->system || o->max_tokens)) {
    args.fail("--request-json carries the whole request: give no prompt, --system or --max-tokens");
  } else if (o->words.size() > 1) {
    for (const std::string& w : o->words) {
      if (w == "-") {
        args.fail("\"-\" (read stdin) cannot be combined with other prompt words");
      }
    }
  }
  return !args.failed();
}

// Reads all of `file` into `out`; on failure returns the errno text.
bool readAll(FILE* file, std::string* out, std::string* error) {
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
    out->append(buf, n);
  }
  if (std::ferror(file)) {
    *error = std::strerror(errno);
    return false;
  }
  return true;
}

bool readInput(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    return readAll(stdin, out, error);
  }
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = readAll(file, out, error);
  if (!ok) {
    *error = path + ": " + *error;
  }
  std::fclose(file);
  return ok;
}

// The prompt from the arguments, or from stdin (trailing newlines dropped, as
// `echo hi |` adds one nobody means to send).
bool readPrompt(const SubmitOptions& o, std::string* prompt, std::string* error) {
  if (!o.words.empty() && o.words[0] != "-") {
    for (const std::string& w : o.words) {
      *prompt += (prompt->empty() ? "" : " ") + w;
    }
    return true;
  }
  if (::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "llmq: reading the prompt from stdin; end it with Ctrl-D\n");
  }
  if (!readAll(stdin, prompt, error)) {
    *error = "reading the prompt from stdin: " + *error;
    return false;
  }
  while (!prompt->empty() && (prompt->back() == '\n' || prompt->back() == '\r')) {
    prompt->pop_back();
  }
  if (prompt->empty()) {
    *error = "the prompt is empty";
    return false;
  }
  return true;
}

// Sets doc[name] = value, replacing an existing member.
void setMember(json::Document& doc, const char* name, json::Value value) {
  if (auto it = doc.FindMember(name); it != doc.MemberEnd()) {
    it->value = value;
  } else {
    doc.AddMember(json::Value(name, doc.GetAllocator()), value, doc.GetAllocator());
  }
}

// The chat-completions body: from --request-json (with --model and --stream
// applied), or built from the prompt, --system and --max-tokens.
bool buildRequest(const SubmitOptions& o, std::string* request, std::string* error) {
  if (o.request_file) {
    std::string text;
    if (!readInput(*o.request_file, &text, error)) {
      return false;
    }
    json::Document doc;
    std::string why;
    if (!json::parse(doc, text, &why) || !doc.IsObject()) {
      *error = "--request-json " + *o.request_file + ": " +
               (why.empty() ? std::string("not a JSON object") : "not valid JSON: " + why);
      return false;
    }
    if (o.route) {
      doc.RemoveMember("model");  // The route picks it, as --model would replace it.
    } else if (o.model_given) {
      setMember(doc, "model",
                json::Value(o.model.data(), static_cast<rapidjson::SizeType>(o.model.size()), doc.GetAllocator()));
    } else if (json::member(doc, "model") == nullptr) {
      setMember(doc, "model",
                json::Value(o.model.data(), static_cast<rapidjson::SizeType>(o.model.size()), doc.GetAllocator()));
    }
    if (o.stream) {
      setMember(doc, "stream", json::Value(true));
    }
    *request = json::toString(doc);
    return true;
  }
  std::string prompt;
  if (!readPrompt(o, &prompt, error)) {
    return false;
  }
  std::string& r = *request;
  r = "{";
  if (!o.route) {
    r += "\"model\":";
    json::appendString(r, o.model);
    r += ",";
  }
  r += "\"messages\":[";
  if (o.system) {
    r += "{\"role\":\"system\",\"content\":";
    json::appendString(r, *o.system);
    r += "},";
  }
  r += "{\"role\":\"user\",\"content\":";
  json::appendString(r, prompt);
  r += "}]";
  if (o.max_tokens) {
    r += ",\"max_tokens\":" + std::to_string(*o.max_tokens);
  }
  if (o.stream) {
    r += ",\"stream\":true";
  }
  r += "}";
  return true;
}

// --response-format: "json_object", or a file (or "-") holding the whole
// response_format object (e.g. a json_schema one), set in the request.
bool applyResponseFormat(const SubmitOptions& o, std::string* request, std::string* error) {
  if (!o.response_format) {
    return true;
  }
  std::string text;
  if (*o.response_format == "json_object") {
    text = R"({"type":"json_object"})";
  } else if (!readInput(*o.response_format, &text, error)) {
    return false;
  }
  json::Document format;
  std::string why;
  if (!json::parse(format, text, &why) || !format.IsObject()) {
    *error = "--response-format " + *o.response_format + ": " +
             (why.empty() ? std::string("not a JSON object") : "not valid JSON: " + why);
    return false;
  }
  json::Document doc;
  if (!json::parse(doc, *request, nullptr) || !doc.IsObject()) {
    *error = "the request is not a JSON object";
    return false;
  }
  json::Value copy;
  copy.CopyFrom(format, doc.GetAllocator());
  setMember(doc, "response_format", std::move(copy));
  *request = json::toString(doc);
  return true;
}

// --api-key-file: the key from the file (or "-"), without surrounding whitespace.
bool readApiKey(SubmitOptions& o, std::string* error) {
  if (!o.api_key_file) {
    return true;
  }
  std::string key;
  if (!readInput(*o.api_key_file, &key, error)) {
    return false;
  }
  key = std::string(trimWhitespace(key));
  if (key.empty()) {
    *error = "--api-key-file " + *o.api_key_file + " holds no key";
    return false;
  }
  o.api_key = std::move(key);
  return true;
}

std::string formatNumber(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string buildParams(const SubmitOptions& o, const std::string& request) {
  std::string p = "{\"request\":" + request;
  if (o.route) {
    p += ",\"route\":";
    json::appendString(p, *o.route);
  }
  if (o.priority) {
    p += ",\"priority\":" + std::to_string(*o.priority);
  }
  if (o.client) {
    p += ",\"client\":";
    json::appendString(p, *o.client);
  }
  if (!o.tags.empty()) {
    p += ",\"tags\":[";
    for (size_t i = 0; i < o.tags.size(); ++i) {
      if (i > 0) {
        p += ",";
      }
      json::appendString(p, o.tags[i]);
    }
    p += "]";
  }
  if (o.idempotency_key) {
    p += ",\"idempotency_key\":";
    json::appendString(p, *o.idempotency_key);
  }
  if (o.max_attempts) {
    p += ",\"max_attempts\":" + std::to_string(*o.max_attempts);
  }
  if (o.timeout_s) {
    p += ",\"timeout_s\":" + formatNumber(*o.timeout_s);
  }
  if (o.deadline_s) {
    p += ",\"deadline_s\":" + formatNumber(*o.deadline_s);
  }
  if (o.on_restart) {
    p += ",\"on_restart\":";
    json::appendString(p, *o.on_restart);
  }
  if (!o.fallbacks.empty()) {
    p += ",\"fallback_models\":[";
    for (size_t i = 0; i < o.fallbacks.size(); ++i) {
      p += i > 0 ? "," : "";
      json::appendString(p, o.fallbacks[i]);
    }
    p += "]";
  }
  for (const auto& [name, value] : {std::pair{"provider", &o.provider}, std::pair{"request_id", &o.request_id}}) {
    if (*value) {
      p += std::string(",\"") + name + "\":";
      json::appendString(p, **value);
    }
  }
  if (o.cache) {
    p += *o.cache ? ",\"cache\":true" : ",\"cache\":false";
  }
  if (o.fail_when_cooling) {
    p += ",\"fail_when_cooling\":true";
  }
  if (o.cancel_on_disconnect) {
    p += ",\"cancel_on_disconnect\":true";
  }
  if (o.api_key) {
    p += ",\"api_key\":";
    json::appendString(p, *o.api_key);
  }
  if (o.wait || o.stream) {
    p += ",\"subscribe\":true";
  }
  p += "}";
  return p;
}

// What SIGINT prints while we follow a job: the job itself goes on in llmqd.
// Written once before the handler is installed; the handler only reads it.
char g_interrupt_note[256];
size_t g_interrupt_note_len = 0;

extern "C" void onInterrupt(int) {
  ssize_t ignored = ::write(STDERR_FILENO, g_interrupt_note, g_interrupt_note_len);
  (void)ignored;
  ::_exit(130);
}

void noteJobOnInterrupt(const std::string& job_id) {
  const char* id = job_id.c_str();
  int n = std::snprintf(g_interrupt_note, sizeof g_interrupt_note,
                        "\nllmq: interrupted; job %s goes on in llmqd "
                        "(llmq get %s, llmq cancel %s)\n",
                        id, id, id);
  if (n <= 0) {
    return;
  }
  g_interrupt_note_len = std::min(static_cast<size_t>(n), sizeof g_interrupt_note - 1);
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

// Reports a job that did not succeed, from its event data or job object.
void printJobEnd(const std::string& job_id, std::string_view how, const json::Value& detail) {
  std::string why = how == "failed" ? describeError(detail) : printable(stringField(detail, "reason"));
  if (why.empty()) {
    why = printable(stringField(detail, "message"));
  }
  printError("job " + job_id + " " + std::string(how) + (why.empty() ? "" : ": " + why));
}

// Ends --wait (and --stream on a job that had already ended) from job.get.
ExitCode finishFromJob(Session& session, const std::string& job_id, bool json_output) {
  std::string params = "{\"job_id\":";
  json::appendString(params, job_id);
  params += "}";
  json::Document result;
  if (ExitCode rc = session.call("job.get", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  const json::Value& job = result;
  std::string_view state = stringField(job, "state");
  if (json_output) {
    printJson(job);
  } else if (state == "succeeded") {
    std::string_view content = resultContent(job);
    writeTerminalText(content);
    if (content.empty() || content.back() != '\n') {
      std::fputc('\n', stdout);
    }
  } else {
    const json::Value* error = objectField(job, "error");
    json::Value none(rapidjson::kObjectType);
    printJobEnd(job_id, state, error != nullptr ? *error : none);
  }
  return state == "succeeded" ? ExitCode::kOk : ExitCode::kFailed;
}

// Follows the job's events until its terminal one. With --stream, prints the
// deltas as they come (or the events, with --json).
ExitCode follow(Session& session, const std::string& job_id, const SubmitOptions& o, bool deduplicated,
                bool json_output) {
  // A deduplicated job may be half-way through its answer: its early chunks are
  // gone, so print the whole final text instead of a truncated stream.
  const bool print_chunks = o.stream && !json_output && !deduplicated;
  bool printed = false;  // Some of the answer is on stdout.
  bool mid_line = false;
  json::Document event;
  for (;;) {
    if (ExitCode rc = session.nextEvent(&event); rc != ExitCode::kOk) {
      printError("job " + job_id + " is stored in llmqd; see `llmq get " + job_id + "` once llmqd is back");
      return rc;
    }
    const json::Value& params = event;
    if (stringField(params, "job_id") != job_id) {
      continue;
    }
    std::string_view name = stringField(params, "event");
    const json::Value* data_ptr = objectField(params, "data");
    json::Value none(rapidjson::kObjectType);
    const json::Value& data = data_ptr != nullptr ? *data_ptr : none;
    const bool terminal = isTerminalEvent(params);
    if (o.stream && json_output) {
      printJson(params);
      std::fflush(stdout);
    } else if (print_chunks && name == "message_chunk") {
      std::string_view delta = stringField(data, "delta");
      if (!delta.empty()) {
        writeTerminalText(delta);
        std::fflush(stdout);  // Each chunk is shown the moment it arrives.
        printed = true;
        mid_line = delta.back() != '\n';
      }
    } else if (o.stream && !json_output && name == "retrying") {
      if (mid_line) {
        std::fputc('\n', stdout);
        mid_line = false;
      }
      std::string when = formatMillis(intField(data, "delay_ms"));
      std::string attempt = std::to_string(intField(data, "attempt"));
      if (stringField(data, "reason") == "stream_interrupted") {
        printError("the stream was interrupted; retrying (attempt " + attempt + ", in " + when +
                   "), the answer starts over");
      } else {
        printError("attempt failed (" + printable(stringField(data, "reason")) + "); retrying (attempt " + attempt +
                   ", in " + when + ")");
      }
    }
    if (!terminal) {
      continue;
    }
    if (!o.stream) {
      return finishFromJob(session, job_id, json_output);
    }
    if (json_output) {
      return name == "final_response" ? ExitCode::kOk : ExitCode::kFailed;
    }
    if (name == "final_response") {
      if (!printed) {
        std::string_view content = stringField(data, "content");
        writeTerminalText(content);
        mid_line = content.empty() || content.back() != '\n';
      }
      if (mid_line) {
        std::fputc('\n', stdout);
      }
      std::fflush(stdout);
      return ExitCode::kOk;
    }
    if (mid_line) {
      std::fputc('\n', stdout);
    }
    printJobEnd(job_id, name == "error" ? "failed" : name, data);
    return ExitCode::kFailed;
  }
}

}  // namespace

ExitCode runSubmit(ArgReader& args, GlobalOptions& globals) {
  SubmitOptions o;
  if (!parseOptions(args, &o)) {
    return usageError("submit", args.error());
  }
  Session session(globals);
  if (ExitCode rc = session.connect(); rc != ExitCode::kOk) {
    return rc;
  }
  std::string request;
  std::string error;
  if (!buildRequest(o, &request, &error) || !applyResponseFormat(o, &request, &error) || !readApiKey(o, &error)) {
    return usageError("submit", error);
  }
  std::string params = buildParams(o, request);

  json::Document result;
  if (ExitCode rc = session.call("job.submit", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  const json::Value& ack = result;
  const std::string job_id(stringField(ack, "job_id"));
  const bool deduplicated = boolField(ack, "deduplicated");
  if (!o.wait && !o.stream) {
    if (globals.json) {
      printJson(ack);
    } else {
      std::printf("%s%s\n", printable(job_id).c_str(), deduplicated ? " (deduplicated)" : "");
    }
    return ExitCode::kOk;
  }
  noteJobOnInterrupt(job_id);
  if (stringField(ack, "subscription").empty()) {
    // Deduplicated onto a job that had already ended: no events will come.
    return finishFromJob(session, job_id, globals.json);
  }
  return follow(session, job_id, o, deduplicated, globals.json);
}

}  // namespace llmq::cli
