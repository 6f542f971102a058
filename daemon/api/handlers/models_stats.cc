// models.stats {window_s?, days?, samples?} -> {window, days} (ipc/PROTOCOL.md):
// how each provider and model performed, read from the ledger. The window is
// the last window_s seconds (default an hour), from at most `samples` of its
// newest attempts: requests, success rate, latency and time to first token at
// p50/p95/p99, tokens, cost and cost per 1,000 tokens. `days` lists the UTC days
// of the last `days` days (default 7) by provider and model, with means for the
// timings. Cache answers are not attempts at an upstream and are left out. For
// administrators, as usage.report: it reads every user's attempts.
#include <algorithm>

#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/policy/model_stats.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kDefaultWindowS = 3600;
constexpr int64_t kMaxWindowS = int64_t{30} * 86400;
constexpr int64_t kDefaultDays = 7;
// Each day is a grouped scan of the ledger on the loop thread: a month at most.
constexpr int64_t kMaxDays = 31;
constexpr int64_t kDefaultSamples = 20'000;
// What one call may read and sort of the window, whatever its length.
constexpr int64_t kMaxSamples = 100'000;
// The day rows read at most: the models are named by users (any mock/ name).
constexpr int64_t kMaxDayRows = 20'000;

void writePercentiles(JsonWriter& w, const char* name, const std::optional<Percentiles>& p) {
  w.key(name);
  if (!p) {
    w.null();
    return;
  }
  w.beginObject().key("p50").int64(p->p50).key("p95").int64(p->p95).key("p99").int64(p->p99).endObject();
}

void writeRate(JsonWriter& w, const char* name, const std::optional<double>& v) {
  w.key(name);
  if (v) {
    w.decimal(*v);
  } else {
    w.null();
  }
}

void writeModel(JsonWriter& w, const ModelPerformance& m) {
  w.beginObject();
  w.key("provider").string(m.provider).key("model").string(m.model);
  w.key("requests").int64(m.requests).key("successes").int64(m.successes);
  w.key("success_rate").decimal(m.successRate());
  writePercentiles(w, "latency_ms", m.latency_ms);
  writePercentiles(w, "ttft_ms", m.ttft_ms);
  w.key("tokens").int64(m.tokens).key("cost_usd").decimal(m.cost_usd);
  writeRate(w, "usd_per_1k_tokens", usdPer1kTokens(m.cost_usd, m.tokens));
  w.endObject();
}

void writeDay(JsonWriter& w, const store::DailyModelFigures& d) {
  w.beginObject();
  w.key("day").string(d.day).key("provider").string(d.provider).key("model").string(d.model);
  w.key("requests").int64(d.requests).key("successes").int64(d.successes);
  w.key("success_rate")
      .decimal(d.requests > 0 ? static_cast<double>(d.successes) / static_cast<double>(d.requests) : 0);
  writeRate(w, "mean_latency_ms", d.mean_latency_ms);
  writeRate(w, "mean_ttft_ms", d.mean_ttft_ms);
  w.key("tokens").int64(d.tokens).key("cost_usd").decimal(d.cost_usd);
  writeRate(w, "usd_per_1k_tokens", usdPer1kTokens(d.cost_usd, d.tokens));
  w.endObject();
}

}  // namespace

void handleModelsStats(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"window_s", "days", "samples"});
  const int64_t window_s = p.integer("window_s", 1, kMaxWindowS).value_or(kDefaultWindowS);
  const int64_t days = p.integer("days", 0, kMaxDays).value_or(kDefaultDays);
  const int64_t max_samples = p.integer("samples", 1, kMaxSamples).value_or(kDefaultSamples);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  const int64_t now = call.s.clock.nowMs();
  const int64_t since = now - window_s * 1000;
  ModelTally tally;
  if (auto r =
          call.s.store->attemptSamples(since, max_samples, [&](const store::AttemptSample& s) { tally.add(s); });
      !r) {
    replyStoreError(call, r.error(), "reading the ledger");
    return;
  }
  std::vector<store::DailyModelFigures> daily;
  if (days > 0) {
    // From the midnight (UTC) that starts the first of the `days` days.
    const int64_t first_day = (now / 86'400'000 - (days - 1)) * 86'400'000;
    auto d = call.s.store->dailyModelFigures(first_day, kMaxDayRows);
    if (!d) {
      replyStoreError(call, d.error(), "reading the ledger");
      return;
    }
    daily = std::move(*d);
  }
  std::string o;
  JsonWriter w(o);
  w.beginObject().key("window").beginObject();
  w.key("since").string(rfc3339(since)).key("seconds").int64(window_s);
  w.key("samples").int64(tally.samples()).key("complete").boolean(tally.samples() < max_samples);
  // A window of many models is cut at the answer bound too (a quarter of it).
  w.key("models").beginArray();
  bool models_cut = false;
  for (const ModelPerformance& m : tally.result()) {
    if (o.size() > call.s.config.max_answer_bytes / 4) {
      models_cut = true;
      break;
    }
    writeModel(w, m);
  }
  w.endArray().key("models_complete").boolean(!models_cut).endObject();
  // A row per day, provider and model: a ledger of many models is cut at the
  // answer bound rather than answered past it.
  w.key("days").beginArray();
  bool cut = false;
  for (const store::DailyModelFigures& d : daily) {
    if (o.size() > call.s.config.max_answer_bytes / 2) {
      cut = true;
      break;
    }
    writeDay(w, d);
  }
  w.endArray().key("days_complete").boolean(!cut && daily.size() < static_cast<size_t>(kMaxDayRows)).endObject();
  call.reply.ok(std::move(o));
}

}  // namespace llmq::daemon
