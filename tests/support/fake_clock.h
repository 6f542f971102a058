// FakeClock: llmqd's wall clock under libfaketime (Debian's faketime package),
// moved by the test. llmqd runs with the library preloaded (env()), reading its
// offset from a file the test rewrites (setOffset) on every call; the monotonic
// and boot clocks stay real, so only the wall clock jumps. Header-only.
#pragma once

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/proc_status.h"

namespace llmq::testing {

class FakeClock {
 public:
  static constexpr char kLibrary[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
  // The variant for threaded programs (libcurl resolves names on a thread).
  static constexpr char kThreadedLibrary[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

  FakeClock(std::string offset_file, std::string library = kLibrary)
      : offset_file_(std::move(offset_file)), library_(std::move(library)) {}

  // Why this clock cannot be used here, or "" when it can; a test skips with the
  // reason. Without the library; or under clang's AddressSanitizer, whose runtime
  // is linked into llmqd itself: its interceptors come before any preload, and
  // libfaketime's clock_gettime recurses into them while it starts, so llmqd
  // never comes up. (GCC's runtime is a shared library a preload can precede.)
  // The release build runs these tests.
  std::string unavailable() const {
    if (::access(library_.c_str(), R_OK) != 0) {
      return "needs libfaketime (" + library_ + ", Debian package libfaketime)";
    }
#if defined(__clang__)
    if (kAddressSanitizer) {
      return "libfaketime cannot be preloaded ahead of clang's AddressSanitizer runtime";
    }
#endif
    return "";
  }
  const std::string& library() const { return library_; }

  // The offset from the real wall clock, in faketime's syntax: "+0", "+365d", "-3600s".
  bool setOffset(const std::string& offset) const {
    std::ofstream out(offset_file_, std::ios::trunc);
    out << offset << "\n";
    return static_cast<bool>(out.flush());
  }

  // llmqd's environment (DaemonOptions::extra_env) under this clock.
  std::vector<std::string> env() const {
    return {"LD_PRELOAD=" + library_, "FAKETIME_TIMESTAMP_FILE=" + offset_file_, "FAKETIME_NO_CACHE=1",
            "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  }

 private:
  std::string offset_file_;
  std::string library_;
};

}  // namespace llmq::testing
