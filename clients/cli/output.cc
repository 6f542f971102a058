// Formatting for llmq's human output. Times are shown in UTC so that output from
// different machines and cron jobs lines up with the daemon's own RFC 3339 stamps.
#include "clients/cli/output.h"

#include <algorithm>
#include <ctime>

#include "clients/cli/fields.h"
#include "common/time.h"
#include "common/utf8.h"

namespace llmq::cli {
namespace {

// Characters, not bytes, so UTF-8 names keep the table aligned.
size_t displayWidth(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

bool toUtc(std::string_view rfc3339, std::tm* tm, int64_t* ms) {
  if (!parseRfc3339(std::string(rfc3339), ms)) {
    return false;
  }
  std::time_t secs = static_cast<std::time_t>(*ms / 1000);
  return ::gmtime_r(&secs, tm) != nullptr;
}

std::string orDash(std::string_view s) { return s.empty() ? "-" : printable(s); }

std::string timeOrDash(const json::Value& job, const char* name) {
  std::string_view t = stringField(job, name);
  return t.empty() ? "-" : std::string(t);
}

std::string joinTags(const json::Value& obj) {
  std::string out;
  const json::Value* tags = json::member(obj, "tags");
  if (tags == nullptr || !tags->IsArray()) {
    return out;
  }
  for (const auto& t : tags->GetArray()) {
    if (t.IsString()) {
      if (!out.empty()) {
        out += ", ";
      }
      out += printable(json::view(t));
    }
  }
  return out;
}

std::string formatBytes(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return buf;
}

void field(const char* label, const std::string& value) { std::printf("%-13s %s\n", label, value.c_str()); }

std::string usageSummary(const json::Value& usage) {
  return std::to_string(intField(usage, "prompt_tokens")) + " prompt + " +
         std::to_string(intField(usage, "completion_tokens")) +
         " completion = " + std::to_string(intField(usage, "total_tokens")) + " tokens";
}

// "N vectors of D dimensions" of an embedding job's result (base64 vectors: D
// counted from their bytes, four per float).
std::string embeddingSummary(const json::Value& job) {
  const json::Value* result = objectField(job, "result");
  const json::Value* data = result != nullptr ? json::member(*result, "data") : nullptr;
  if (data == nullptr || !data->IsArray()) {
    return "-";
  }
  size_t dims = 0;
  if (!data->Empty()) {
    if (const json::Value* v = json::member((*data)[0], "embedding"); v != nullptr && v->IsArray()) {
      dims = v->Size();
    } else if (v != nullptr && v->IsString()) {
      dims = v->GetStringLength() / 4 * 3 / 4;
    }
  }
  return std::to_string(data->Size()) + (data->Size() == 1 ? " vector" : " vectors") + " of " +
         std::to_string(dims) + " dimensions";
}

// The data summary of eventLine(), per event name (ipc/PROTOCOL.md, "Events").
std::string eventSummary(std::string_view event, const json::Value& data) {
  if (event == "queued") {
    return "priority " + std::to_string(intField(data, "priority"));
  }
  if (event == "started") {
    return "attempt " + std::to_string(intField(data, "attempt")) + ", " + printable(stringField(data, "model"));
  }
  if (event == "message_chunk") {
    return "\"" + preview(stringField(data, "delta"), 60) + "\"";
  }
  if (event == "usage") {
    std::string s = formatCost(numberField(data, "cost_usd"));
    if (const json::Value* usage = objectField(data, "usage")) {
      s = std::to_string(intField(*usage, "total_tokens")) + " tokens, " + s;
    }
    return s;
  }
  if (event == "final_response") {
    return printable(stringField(data, "finish_reason")) + ": \"" + preview(stringField(data, "content"), 50) +
           "\"";
  }
  if (event == "error") {
    return describeError(data) + (boolField(data, "retryable") ? ", will retry" : "");
  }
  if (event == "retrying") {
    return "attempt " + std::to_string(intField(data, "attempt")) + " in " +
           formatMillis(intField(data, "delay_ms")) + " (" + printable(stringField(data, "reason")) + ")";
  }
  if (event == "cancelled" || event == "expired") {
    return printable(stringField(data, "reason"));
  }
  return preview(json::toString(data), 80);  // Events this CLI predates.
}

}  // namespace

std::string formatCost(double usd) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "$%.6f", usd);
  return buf;
}

std::string shortTime(std::string_view rfc3339) {
  std::tm tm{};
  int64_t ms = 0;
  if (!toUtc(rfc3339, &tm, &ms)) {
    return printable(rfc3339);
  }
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string clockTime(std::string_view rfc3339) {
  std::tm tm{};
  int64_t ms = 0;
  if (!toUtc(rfc3339, &tm, &ms)) {
    return printable(rfc3339);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::string formatMillis(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string formatDuration(int64_t seconds) {
  const int64_t units[] = {86400, 3600, 60, 1};
  const char* names[] = {"d", "h", "m", "s"};
  std::string out;
  for (size_t i = 0; i < 4; ++i) {
    int64_t n = seconds / units[i];
    seconds %= units[i];
    if (n > 0 || (!out.empty()) || i == 3) {
      if (!out.empty()) {
        out += ' ';
      }
      out += std::to_string(n) + names[i];
    }
  }
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(ch);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

std::string terminalText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = utf8SequenceAt(s, i);
    char esc[12];
    if (n == 0 || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      std::snprintf(esc, sizeof esc, "\\x%02x", c);  // A control, or not UTF-8.
      out += esc;
      i += 1;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(s[i + 1]));  // C1.
      out += esc;
      i += 2;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

void writeTerminalText(std::string_view s) {
  const std::string text = terminalText(s);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

std::string preview(std::string_view s, size_t max_chars) {
  std::string p = printable(s);
  if (displayWidth(p) <= max_chars) {
    return p;
  }
  size_t chars = 0;
  size_t i = 0;
  for (; i < p.size(); ++i) {
    if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80 && chars++ == max_chars) {
      break;
    }
  }
  p.resize(i);
  return p + "…";
}

Table::Table(std::vector<std::string> header, std::vector<bool> right_aligned)
    : right_aligned_(std::move(right_aligned)) {
  rows_.push_back(std::move(header));
}

void Table::addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

void Table::print(FILE* out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], displayWidth(row[c]));
    }
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool last = c + 1 == row.size();
      std::string pad(widths[c] - displayWidth(row[c]), ' ');
      const bool right = c < right_aligned_.size() && right_aligned_[c];
      if (right) {
        line += pad + row[c];
      } else {
        line += row[c];
        if (!last) {
          line += pad;  // No trailing blanks after the last column.
        }
      }
      if (!last) {
        line += "  ";
      }
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
}

void printJson(const json::Value& v) {
  std::string line = json::toString(v);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);
}

void printJobTable(const std::vector<const json::Value*>& jobs) {
  Table table({"JOB ID", "STATE", "PRI", "CLIENT", "MODEL", "ATTEMPTS", "CREATED", "COST"},
              {false, false, true, false, false, true, false, true});
  for (const json::Value* job : jobs) {
    const json::Value* usage = objectField(*job, "usage");
    table.addRow({printable(stringField(*job, "job_id")), printable(stringField(*job, "state")),
                  std::to_string(intField(*job, "priority")), printable(stringField(*job, "client")),
                  printable(stringField(*job, "model")),
                  std::to_string(intField(*job, "attempts")) + "/" + std::to_string(intField(*job, "max_attempts")),
                  shortTime(stringField(*job, "created_at")),
                  usage != nullptr ? formatCost(numberField(*usage, "cost_usd")) : "-"});
  }
  table.print(stdout);
}

void printJob(const json::Value& job) {
  std::string_view state = stringField(job, "state");
  field("job:", printable(stringField(job, "job_id")));
  field("state:", printable(state));
  std::string model = printable(stringField(job, "model"));
  std::string_view used = stringField(job, "model_used");
  if (!used.empty() && used != stringField(job, "model")) {
    model += " (answered by " + printable(used) + ")";
  }
  field("model:", model);
  if (const json::Value* routing = objectField(job, "routing")) {
    // How an alias or a route chose the model, and the fallbacks it lined up.
    field("routed to:", printable(stringField(*routing, "model")));
    field("why:", printable(stringField(*routing, "reason")));
    if (const json::Value* models = json::member(*routing, "models");
        models != nullptr && models->IsArray() && models->Size() > 1) {
      std::string rest;
      for (rapidjson::SizeType i = 1; i < models->Size(); ++i) {
        if ((*models)[i].IsString()) {
          rest += (rest.empty() ? "" : ", ") + printable(json::view((*models)[i]));
        }
      }
      field("fallbacks:", rest);
    }
  }
  field("client:", printable(stringField(job, "client")));
  field("priority:", std::to_string(intField(job, "priority")));
  field("tags:", orDash(joinTags(job)));
  field("attempts:", std::to_string(intField(job, "attempts")) + " (max " +
                         std::to_string(intField(job, "max_attempts")) + " per run)");
  const bool embedding = stringField(job, "kind") == "embedding";
  if (!stringField(job, "kind").empty() && stringField(job, "kind") != "chat") {
    field("kind:", printable(stringField(job, "kind")));
  }
  if (!embedding) {
    field("stream:", boolField(job, "stream") ? "yes" : "no");
  }
  field("idem. key:", orDash(stringField(job, "idempotency_key")));
  field("created:", timeOrDash(job, "created_at"));
  field("started:", timeOrDash(job, "started_at"));
  field("finished:", timeOrDash(job, "finished_at"));
  if (!stringField(job, "next_attempt_at").empty()) {
    field("next attempt:", timeOrDash(job, "next_attempt_at"));
  }
  if (const json::Value* usage = objectField(job, "usage")) {
    field("usage:", usageSummary(*usage));
    field("cost:", formatCost(numberField(*usage, "cost_usd")));
  }
  if (const json::Value* error = objectField(job, "error")) {
    field("error:", describeError(*error));
  }
  if (state == "succeeded" && embedding) {
    field("vectors:", embeddingSummary(job));
  } else if (state == "succeeded") {
    std::fputc('\n', stdout);
    writeTerminalText(resultContent(job));  // All of it: printf("%s") stopped at a NUL.
    std::fputc('\n', stdout);
  }
}

std::string describeQueueState(const json::Value& queue_state) {
  if (boolField(queue_state, "paused")) {
    return "whole queue";
  }
  std::string clients;
  if (const json::Value* list = json::member(queue_state, "paused_clients"); list != nullptr && list->IsArray()) {
    for (const auto& c : list->GetArray()) {
      if (c.IsString()) {
        clients += (clients.empty() ? "" : ", ") + printable(json::view(c));
      }
    }
  }
  return clients.empty() ? "no" : "clients " + clients;
}

void printStatus(const json::Value& status) {
  std::printf("llmqd %s (protocol %lld), pid %lld, up %s\n", printable(stringField(status, "version")).c_str(),
              static_cast<long long>(intField(status, "protocol_version")),
              static_cast<long long>(intField(status, "pid")),
              formatDuration(intField(status, "uptime_s")).c_str());
  field("socket:", printable(stringField(status, "socket")));
  field("database:",
        printable(stringField(status, "db_path")) + " (" + formatBytes(intField(status, "db_size_bytes")) + ")");
  if (const json::Value* queue = objectField(status, "queue")) {
    // Waiting states first, then the terminal ones, as the daemon orders them.
    std::string waiting;
    std::string done;
    for (const auto& m : queue->GetObject()) {
      std::string_view name = json::view(m.name);
      std::string part = std::to_string(m.value.IsInt64() ? m.value.GetInt64() : 0) + " " + printable(name);
      bool terminal = name == "succeeded" || name == "failed" || name == "cancelled" || name == "expired";
      std::string& into = terminal ? done : waiting;
      into += (into.empty() ? "" : ", ") + part;
    }
    field("queue:", waiting);
    field("finished:", done);
  }
  field("in flight:",
        std::to_string(intField(status, "in_flight")) + " of " + std::to_string(intField(status, "max_inflight")));
  if (const json::Value* qs = objectField(status, "queue_state")) {
    field("paused:", describeQueueState(*qs));
  }
  field("connections:", std::to_string(intField(status, "connections")) + " (" +
                            std::to_string(intField(status, "subscriptions")) + " subscriptions)");
  if (boolField(status, "shutting_down")) {
    field("state:", "shutting down");
  }
}

std::string eventLine(const json::Value& params) {
  std::string_view event = stringField(params, "event");
  const json::Value* data = objectField(params, "data");
  json::Value empty(rapidjson::kObjectType);
  std::string name = printable(event);
  name.resize(std::max<size_t>(name.size(), 14), ' ');  // "final_response" is the longest.
  return clockTime(stringField(params, "ts")) + "  " + printable(stringField(params, "job_id")) + "  " + name +
         " " + eventSummary(event, data != nullptr ? *data : empty);
}

std::string_view resultContent(const json::Value& job) {
  const json::Value* result = objectField(job, "result");
  // A Response (a job of kind responses): its message's text (llmqd's Responses
  // have one message, first, of one output_text part).
  if (const json::Value* output = result != nullptr ? json::member(*result, "output") : nullptr;
      output != nullptr && output->IsArray()) {
    for (const json::Value& item : output->GetArray()) {
      const json::Value* content = stringField(item, "type") == "message" ? json::member(item, "content") : nullptr;
      if (content != nullptr && content->IsArray() && !content->Empty()) {
        return stringField((*content)[0], "text");
      }
    }
    return {};
  }
  const json::Value* choices = result != nullptr ? json::member(*result, "choices") : nullptr;
  if (choices == nullptr || !choices->IsArray() || choices->Empty()) {
    return {};
  }
  const json::Value* message = objectField((*choices)[0], "message");
  return message != nullptr ? stringField(*message, "content") : std::string_view();
}

std::string describeError(const json::Value& error) {
  std::string s = printable(stringField(error, "code")) + ": " + printable(stringField(error, "message"));
  if (int64_t status = intField(error, "upstream_status"); status != 0) {
    s += " (HTTP " + std::to_string(status) + ")";
  }
  return s;
}

}  // namespace llmq::cli
