// Flag parsing and number formatting for the benchmark summaries.
#include "bench/support/report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace llmq::bench {

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool parseFlags(int argc, char** argv, const char* program, const std::vector<IntFlag>& flags) {
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s", program);
    for (const auto& f : flags) {
      std::fprintf(stderr, " [--%s N]", f.name);
    }
    std::fprintf(stderr, "\n");
    for (const auto& f : flags) {
      std::fprintf(stderr, "  --%-14s %s (default %lld)\n", f.name, f.help, static_cast<long long>(*f.value));
    }
  };
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0) {
      usage();
      return false;
    }
    const IntFlag* match = nullptr;
    for (const auto& f : flags) {
      if (std::strncmp(arg, "--", 2) == 0 && std::strcmp(arg + 2, f.name) == 0) {
        match = &f;
      }
    }
    if (match == nullptr || i + 1 >= argc) {
      std::fprintf(stderr, "%s: unknown flag or missing value: %s\n", program, arg);
      usage();
      return false;
    }
    char* end = nullptr;
    long long v = std::strtoll(argv[++i], &end, 10);
    if (end == argv[i] || *end != '\0' || v < match->min) {
      std::fprintf(stderr, "%s: --%s needs an integer >= %lld, got \"%s\"\n", program, match->name,
                   static_cast<long long>(match->min), argv[i]);
      return false;
    }
    *match->value = v;
  }
  return true;
}

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string rate(double per_s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", per_s);
  return buf;
}

std::string runsList(const std::vector<double>& v) {
  std::string out = "(runs:";
  for (double x : v) {
    out += " " + rate(x);
  }
  return out + ")";
}

std::string ratio(double value, double baseline) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "ratio %.2f", baseline > 0 ? value / baseline : 0.0);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string mib(int64_t kib) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return buf;
}

void printLine(const std::string& label, double value, const std::string& extra) {
  std::printf("  %-31s median %-9s %s\n", label.c_str(), rate(value).c_str(), extra.c_str());
  std::fflush(stdout);
}

}  // namespace llmq::bench
