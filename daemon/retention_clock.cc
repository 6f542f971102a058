// ClockSteps: step detection against CLOCK_BOOTTIME, the allowance, persistence.
#include "daemon/retention_clock.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <limits>

#include "common/json.h"

namespace llmq::daemon {
namespace {

// Steps larger than a century are counted as a century: the sums stay far from
// overflow, and a century of allowance already keeps everything.
constexpr int64_t kMaxStepMs = 100LL * 366 * 86'400'000;

int64_t clampStep(int64_t v) { return std::clamp(v, -kMaxStepMs, kMaxStepMs); }

}  // namespace

int64_t bootMs() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::string bootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id.size() <= 64 ? id : std::string();
}

void ClockSteps::observe(int64_t wall_ms, int64_t boot_ms) {
  const int64_t offset = wall_ms - boot_ms;
  if (have_offset_) {
    const int64_t elapsed = std::max<int64_t>(0, boot_ms - last_boot_ms_);
    const int64_t tolerance = kToleranceMs + elapsed / 1000;
    const int64_t delta = clampStep(offset - offset_ms_);
    if (delta > tolerance || delta < -tolerance) {
      steps_.push_back({delta, boot_ms});
      if (steps_.size() > kMaxSteps) {
        // Merge the two oldest: every sum that starts at either is kept or raised.
        Step& a = steps_[0];
        const Step& b = steps_[1];
        a = {std::max({clampStep(a.delta_ms + b.delta_ms), b.delta_ms, int64_t{0}}),
             std::max(a.seen_ms, b.seen_ms)};
        steps_.erase(steps_.begin() + 1);
      }
    }
  }
  have_offset_ = true;
  offset_ms_ = offset;
  last_boot_ms_ = boot_ms;
}

void ClockSteps::forget(int64_t boot_ms, int64_t hold_ms) {
  std::erase_if(steps_, [&](const Step& s) { return boot_ms - s.seen_ms > hold_ms; });
}

int64_t ClockSteps::allowance(int64_t boot_ms, int64_t age_ms) const {
  // A row stamped between steps i-1 and i looks older by the sum of steps i..n.
  int64_t sum = 0;
  int64_t best = 0;
  for (size_t i = steps_.size(); i > 0; --i) {
    const Step& step = steps_[i - 1];
    if (boot_ms - step.seen_ms > age_ms) {
      break;  // Seen longer than age_ms ago: rows stamped before it are really that old.
    }
    sum += step.delta_ms;
    best = std::max(best, sum);
  }
  return best;
}

std::string ClockSteps::toJson(std::string_view boot_id, int64_t boot_ms) const {
  std::string o = "{\"boot_id\":";
  json::appendString(o, boot_id);
  o += ",\"boot_ms\":" + std::to_string(boot_ms) + ",\"offset_ms\":" + std::to_string(offset_ms_) + ",\"steps\":[";
  for (size_t i = 0; i < steps_.size(); ++i) {
    o += (i == 0 ? "[" : ",[") + std::to_string(steps_[i].delta_ms) + "," + std::to_string(steps_[i].seen_ms) + "]";
  }
  return o + "]}";
}

bool ClockSteps::load(std::string_view text, std::string_view boot_id, int64_t boot_ms) {
  json::Document doc;
  std::string error;
  if (!json::parse(doc, text, &error) || !doc.IsObject()) {
    return false;
  }
  const json::Value* id = json::member(doc, "boot_id");
  const json::Value* saved_boot = json::member(doc, "boot_ms");
  const json::Value* offset = json::member(doc, "offset_ms");
  const json::Value* steps = json::member(doc, "steps");
  if (id == nullptr || !id->IsString() || saved_boot == nullptr || !saved_boot->IsInt64() || offset == nullptr ||
      !offset->IsInt64() || steps == nullptr || !steps->IsArray()) {
    return false;
  }
  // The same boot: the boot clock went on while llmqd was down, so the saved
  // offset still compares, and a step seen then is as old as the clock says.
  // Another boot: the steps are counted again from now (conservative), and the
  // offset means nothing.
  const bool same_boot = !boot_id.empty() && json::view(*id) == boot_id && saved_boot->GetInt64() <= boot_ms;
  std::vector<Step> loaded;
  for (const json::Value& s : steps->GetArray()) {
    if (!s.IsArray() || s.Size() != 2 || !s[0].IsInt64() || !s[1].IsInt64()) {
      return false;
    }
    const int64_t seen = same_boot ? std::min(s[1].GetInt64(), boot_ms) : boot_ms;
    loaded.push_back({clampStep(s[0].GetInt64()), seen});
    if (loaded.size() > kMaxSteps) {
      return false;
    }
  }
  steps_ = std::move(loaded);
  if (same_boot) {
    have_offset_ = true;
    offset_ms_ = offset->GetInt64();
    last_boot_ms_ = saved_boot->GetInt64();
  }
  return true;
}

}  // namespace llmq::daemon
