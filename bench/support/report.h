// Flags, clocks and the printed summary shared by the benchmarks. Every figure
// is the median of several runs, and baselines are measured in the same process
// run, because the machines are shared and noisy: only ratios travel well.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llmq::bench {

// Seconds on the monotonic clock.
double nowSeconds();

// Parses "--name value" pairs for the integer flags in `flags` (updated in
// place). Prints usage and returns false on --help or a bad flag.
struct IntFlag {
  const char* name;  // Without the leading "--".
  int64_t* value;
  int64_t min;
  const char* help;
};
bool parseFlags(int argc, char** argv, const char* program, const std::vector<IntFlag>& flags);

double median(std::vector<double> v);

// "61234" for rates, "(runs: 60100 61234 62010)" for the per-run list.
std::string rate(double per_s);
std::string runsList(const std::vector<double>& v);
std::string ratio(double value, double baseline);
std::string mib(int64_t kib);
// `v` with `digits` decimals: fixed(1.23456, 2) == "1.23".
std::string fixed(double v, int digits);

// One summary line: "<label padded>median <value>   <extra>".
void printLine(const std::string& label, double value, const std::string& extra);

}  // namespace llmq::bench
