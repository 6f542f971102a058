// Figures of a running process from /proc/PID/status, for tests that hold llmqd
// at a bound and check what it holds: resident memory now (VmRSS) and at its
// peak (VmHWM).
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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

inline size_t residentBytes(pid_t pid) { return procStatusBytes(pid, "VmRSS"); }
inline size_t peakResidentBytes(pid_t pid) { return procStatusBytes(pid, "VmHWM"); }

}  // namespace llmq::testing
