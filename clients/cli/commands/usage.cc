// `llmq usage`: what was spent (usage.report) as an aligned table grouped by
// model, client, key, tag and/or day, with totals; for --by day also a bar chart
// of the cost per day. --csv and --json for pipelines.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

constexpr const char* kFigures[] = {"requests", "prompt_tokens", "completion_tokens", "cost_usd"};
constexpr int kBarWidth = 40;

// "2026-11-01" -> "2026-11-01T00:00:00Z"; RFC 3339 times pass through.
bool timeArg(const std::string& text, std::string* out) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    *out = text + "T00:00:00Z";
    return true;
  }
  if (text.size() >= 20 && text[10] == 'T') {
    *out = text;
    return true;
  }
  return false;
}

std::string cost(double usd) {
  char buf[40];
  std::snprintf(buf, sizeof buf, usd != 0 && usd < 0.01 ? "$%.6f" : "$%.2f", usd);
  return buf;
}

// A CSV field, quoted when it needs to be (RFC 4180).
std::string csvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    return std::string(s);
  }
  std::string out = "\"";
  for (char c : s) {
    out += c == '"' ? "\"\"" : std::string(1, c);
  }
  return out + "\"";
}

std::string figure(const json::Value& row, const char* name) {
  if (std::string_view(name) == "cost_usd") {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", numberField(row, name));
    return buf;
  }
  return std::to_string(intField(row, name));
}

}  // namespace

ExitCode runUsage(ArgReader& args, GlobalOptions& globals) {
  std::string by;
  std::string since;
  std::string until;
  int64_t days = 0;
  bool csv = false;
  while (args.next()) {
    std::string v;
    if (args.value("--by", &by)) {
      continue;
    }
    if (args.value("--since", &v)) {
      if (!timeArg(v, &since)) {
        args.fail("--since takes a date (2026-11-01) or an RFC 3339 time");
      }
    } else if (args.value("--until", &v)) {
      if (!timeArg(v, &until)) {
        args.fail("--until takes a date (2026-11-01) or an RFC 3339 time");
      }
    } else if (args.intValue("--days", 1, 3650, &days)) {
    } else if (args.flag("--csv")) {
      csv = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("usage", args.error());
  }
  if (days > 0) {
    if (!since.empty()) {
      return usageError("usage", "--days and --since both say where the report starts");
    }
    // The last N UTC days, today included.
    std::time_t start = std::time(nullptr) / 86400 * 86400 - (days - 1) * 86400;
    std::tm tm{};
    ::gmtime_r(&start, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT00:00:00Z", &tm);
    since = buf;
  }
  const std::vector<std::string> dims = splitList(by);
  std::string params = "{\"group_by\":[";
  for (size_t i = 0; i < dims.size(); ++i) {
    params += i > 0 ? "," : "";
    json::appendString(params, dims[i]);
  }
  params += "]";
  if (!since.empty()) {
    params += ",\"since\":";
    json::appendString(params, since);
  }
  if (!until.empty()) {
    params += ",\"until\":";
    json::appendString(params, until);
  }
  params += "}";

  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.callAllPages("usage.report", params, "rows", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* rows = json::member(result, "rows");
  const json::Value* totals = json::member(result, "totals");
  if (rows == nullptr || !rows->IsArray() || totals == nullptr) {
    std::fprintf(stderr, "llmq: llmqd sent a usage report without rows\n");
    return ExitCode::kFailed;
  }
  if (csv) {
    std::string line;
    for (const std::string& d : dims) {
      line += csvField(d) + ",";
    }
    for (const char* f : kFigures) {
      line += std::string(f) + (f == kFigures[3] ? "\n" : ",");
    }
    std::fputs(line.c_str(), stdout);
    for (const auto& r : rows->GetArray()) {
      line.clear();
      for (const std::string& d : dims) {
        line += csvField(stringField(r, d.c_str())) + ",";
      }
      for (const char* f : kFigures) {
        line += figure(r, f) + (f == kFigures[3] ? "\n" : ",");
      }
      std::fputs(line.c_str(), stdout);
    }
    return ExitCode::kOk;
  }
  std::vector<std::string> header;
  std::vector<bool> right;
  for (const std::string& d : dims) {
    std::string h = d;
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::toupper(c); });
    header.push_back(h);
    right.push_back(false);
  }
  for (const char* h : {"REQUESTS", "PROMPT", "COMPLETION", "COST"}) {
    header.push_back(h);
    right.push_back(true);
  }
  Table table(header, right);
  auto addRow = [&](const json::Value& r, bool total) {
    std::vector<std::string> cells;
    for (size_t i = 0; i < dims.size(); ++i) {
      std::string v = total ? (i == 0 ? "TOTAL" : "") : printable(stringField(r, dims[i].c_str()));
      cells.push_back(v.empty() && !total ? "-" : v);
    }
    cells.push_back(std::to_string(intField(r, "requests")));
    cells.push_back(std::to_string(intField(r, "prompt_tokens")));
    cells.push_back(std::to_string(intField(r, "completion_tokens")));
    cells.push_back(cost(numberField(r, "cost_usd")));
    table.addRow(std::move(cells));
  };
  for (const auto& r : rows->GetArray()) {
    addRow(r, false);
  }
  addRow(*totals, true);
  table.print(stdout);

  // --by day alone: the cost per day as bars, scaled to the dearest day.
  if (dims.size() == 1 && dims[0] == "day" && !rows->Empty()) {
    double max = 0;
    for (const auto& r : rows->GetArray()) {
      max = std::max(max, numberField(r, "cost_usd"));
    }
    std::fputc('\n', stdout);
    for (const auto& r : rows->GetArray()) {
      const double c = numberField(r, "cost_usd");
      const int width = max > 0 ? static_cast<int>(c / max * kBarWidth + 0.5) : 0;
      std::string bar;
      for (int i = 0; i < width; ++i) {
        bar += "\u2588";
      }
      // Padded by hand: printf widths count bytes, and a block is three.
      bar.append(static_cast<size_t>(kBarWidth - width), ' ');
      std::printf("%s %s %s\n", printable(stringField(r, "day")).c_str(), bar.c_str(), cost(c).c_str());
    }
  }
  return ExitCode::kOk;
}

}  // namespace llmq::cli
