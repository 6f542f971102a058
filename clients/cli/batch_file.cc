// Reading OpenAI Batch input files and writing output lines. Each input line is
// parsed on its own, so one bad line costs only itself and is reported with its
// number; the whole file is checked before anything is submitted.
#include "clients/cli/batch_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "common/json.h"

namespace llmq::cli {
namespace {

constexpr std::string_view kChatUrl = "/v1/chat/completions";
constexpr std::string_view kEmbeddingsUrl = "/v1/embeddings";
constexpr std::string_view kResponsesUrl = "/v1/responses";
constexpr size_t kMaxKeyBytes = 1024;  // llmqd's limit on idempotency_key.

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// A quoted, printable rendering of a JSON value for messages, cut short.
std::string shown(const json::Value& v) {
  std::string s = json::toString(v);
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

// Checks one non-blank line; on success fills `out` (custom_id, body).
bool checkLine(std::string_view text, std::string_view tag, bool keep_body, BatchRequest* out, std::string* why) {
  json::Document doc;
  std::string err;
  if (!json::parse(doc, text, &err)) {
    *why = "not valid JSON: " + err;
    return false;
  }
  if (!doc.IsObject()) {
    *why = "not a JSON object";
    return false;
  }
  const json::Value* id = json::member(doc, "custom_id");
  if (id == nullptr || !id->IsString() || id->GetStringLength() == 0) {
    *why = id == nullptr ? "custom_id is missing" : "custom_id must be a non-empty string";
    return false;
  }
  const json::Value* method = json::member(doc, "method");
  if (method == nullptr || !method->IsString() || json::view(*method) != "POST") {
    *why = method == nullptr ? "method is missing (must be \"POST\")"
                             : "method must be \"POST\", not " + shown(*method);
    return false;
  }
  const json::Value* url = json::member(doc, "url");
  const std::string_view u = url != nullptr && url->IsString() ? json::view(*url) : std::string_view();
  if (u != kChatUrl && u != kEmbeddingsUrl && u != kResponsesUrl) {
    *why =
        url == nullptr
            ? "url is missing (must be \"/v1/chat/completions\", \"/v1/embeddings\" or \"/v1/responses\")"
            : "url must be \"/v1/chat/completions\", \"/v1/embeddings\" or \"/v1/responses\", not " + shown(*url);
    return false;
  }
  out->kind = u == kEmbeddingsUrl ? "embedding" : u == kResponsesUrl ? "responses" : "";
  const json::Value* body = json::member(doc, "body");
  if (body == nullptr || !body->IsObject()) {
    *why = body == nullptr ? "body is missing" : "body must be a JSON object";
    return false;
  }
  const json::Value* messages = json::member(*body, "messages");
  const json::Value* input = json::member(*body, "input");
  if (!out->kind.empty() && input == nullptr) {
    *why = "body.input is missing";  // llmqd checks the rest of the request.
    return false;
  }
  if (out->kind.empty() && (messages == nullptr || !messages->IsArray() || messages->Empty())) {
    *why = "body.messages must be a non-empty array";
    return false;
  }
  const json::Value* model = json::member(*body, "model");
  if (model == nullptr || !model->IsString() || model->GetStringLength() == 0) {
    *why = "body.model must be a non-empty string";
    return false;
  }
  out->custom_id = std::string(json::view(*id));
  if (batchKey(tag, out->custom_id).size() > kMaxKeyBytes) {
    *why = "custom_id is too long: with the tag, its idempotency key would pass " + std::to_string(kMaxKeyBytes) +
           " bytes";
    return false;
  }
  if (keep_body) {
    out->body = json::toString(*body);
  }
  return true;
}

}  // namespace

bool readBatchInput(const std::string& path, const std::string& tag, bool keep_bodies, BatchInput* out,
                    std::string* error) {
  FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  std::unordered_map<std::string, int64_t> first_line;  // custom_id -> line.
  char* buf = nullptr;
  size_t cap = 0;
  int64_t number = 0;
  ssize_t n;
  while ((n = ::getline(&buf, &cap, file)) >= 0) {
    ++number;
    std::string_view text(buf, static_cast<size_t>(n));
    if (!text.empty() && text.back() == '\n') {
      text.remove_suffix(1);
    }
    if (blank(text)) {
      continue;
    }
    BatchRequest request;
    request.line = number;
    std::string why;
    if (!checkLine(text, tag, keep_bodies, &request, &why)) {
      out->problems.push_back({number, why});
      continue;
    }
    auto [it, inserted] = first_line.emplace(request.custom_id, number);
    if (!inserted) {
      std::string id = request.custom_id.size() > 60 ? request.custom_id.substr(0, 60) + "..." : request.custom_id;
      out->problems.push_back(
          {number, "duplicate custom_id \"" + id + "\" (first on line " + std::to_string(it->second) + ")"});
      continue;
    }
    out->requests.push_back(std::move(request));
  }
  const bool failed = std::ferror(file) != 0;
  const int saved = errno;
  std::free(buf);
  if (file != stdin) {
    std::fclose(file);
  }
  if (failed) {
    *error = path + ": " + std::strerror(saved);
    return false;
  }
  return true;
}

std::string defaultBatchTag(const std::string& path) {
  if (path == "-") {
    return "";
  }
  std::string name = path.substr(path.find_last_of('/') + 1);
  for (std::string_view ext : {".jsonl", ".ndjson", ".json"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      name.resize(name.size() - ext.size());
      break;
    }
  }
  return name;
}

std::string batchKey(std::string_view tag, std::string_view custom_id) {
  std::string key = "batch:";
  key += tag;
  key += ':';
  key += custom_id;
  return key;
}

bool customIdFromKey(std::string_view tag, std::string_view key, std::string* custom_id) {
  const std::string prefix = batchKey(tag, "");
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  *custom_id = std::string(key.substr(prefix.size()));
  return true;
}

std::string batchOutputLine(const client::Job& job, std::string_view custom_id) {
  std::string line = "{\"id\":";
  json::appendString(line, job.job_id);
  line += ",\"custom_id\":";
  json::appendString(line, custom_id);
  if (job.state == "succeeded") {
    line += ",\"response\":{\"status_code\":200,\"request_id\":";
    json::appendString(line, job.job_id);
    line += ",\"body\":";
    // A result pruned by llmqd's retention ([retention] finished_jobs_days) is gone.
    line += job.result_json.empty() ? "null" : job.result_json;
    line += "},\"error\":null}";
    return line;
  }
  std::string code = job.error ? job.error->code : "";
  std::string message = job.error ? job.error->message : "";
  if (code.empty()) {
    // A job cancelled or expired without an error object: its state says it.
    for (char c : job.state) {
      code += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    message = "the job was " + job.state;
  }
  line += ",\"response\":null,\"error\":{\"code\":";
  json::appendString(line, code);
  line += ",\"message\":";
  json::appendString(line, message);
  line += "}}";
  return line;
}

}  // namespace llmq::cli
