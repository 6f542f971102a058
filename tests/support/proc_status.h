// Figures of a running process from /proc/PID/status and /proc/PID/stat, for
// tests that hold llmqd at a bound and check what it holds: resident memory now
// (VmRSS) and at its peak (VmHWM), the CPU time it used, and whether it still runs.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace llmq::testing {

// The value of `field` ("VmRSS", "VmHWM", ...) in bytes; 0 when the process or the
// field is not there.
inline size_t procStatusBytes(pid_t pid, const char* field) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return 0;
  }
  const size_t len = std::strlen(field);
  size_t bytes = 0;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      bytes = std::strtoull(line + len + 1, nullptr, 10) * 1024;  // "VmRSS:   1234 kB"
      break;
    }
  }
  std::fclose(f);
  return bytes;
}

// Whether this build runs under AddressSanitizer (GCC says so with
// __SANITIZE_ADDRESS__, clang with __has_feature).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// Whether resident memory tells what llmqd holds. Under AddressSanitizer it does
// not: freed memory waits in ASan's quarantine (256 MiB by default) and shadow
// memory comes on top, so bounds on RSS are checked by the optimised build.
inline constexpr bool kResidentMemoryIsMeaningful = !kAddressSanitizer;

// The fields of /proc/PID/stat after the command name ("S", ppid, ...: field 3
// of proc(5) first); empty when the process is gone.
inline std::vector<std::string> procStatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all;
  std::getline(in, all);
  std::vector<std::string> fields;
  const size_t close_paren = all.rfind(')');  // The command name may hold blanks and parentheses.
  if (close_paren == std::string::npos) {
    return fields;
  }
  for (size_t pos = close_paren + 2; pos < all.size();) {
    const size_t sp = all.find(' ', pos);
    fields.push_back(all.substr(pos, sp - pos));
    if (sp == std::string::npos) {
      break;
    }
    pos = sp + 1;
  }
  return fields;
}

// CPU time the process used, user and system, in clock ticks (sysconf(_SC_CLK_TCK)).
inline long long cpuTicks(pid_t pid) {
  const std::vector<std::string> f = procStatFields(pid);
  return f.size() > 12 ? std::stoll(f[11]) + std::stoll(f[12]) : 0;  // utime + stime.
}

// The process exists and has not exited (a zombie, not yet reaped, has).
inline bool processAlive(pid_t pid) {
  const std::vector<std::string> f = procStatFields(pid);
  return !f.empty() && f[0] != "Z";
}

inline size_t residentBytes(pid_t pid) { return procStatusBytes(pid, "VmRSS"); }
inline size_t peakResidentBytes(pid_t pid) { return procStatusBytes(pid, "VmHWM"); }

}  // namespace llmq::testing
