// Thin wrappers over libsystemd's sd_notify.
#include "daemon/sd_notify.h"

#include <systemd/sd-daemon.h>

namespace llmq::daemon::sdnotify {

void ready() { sd_notify(0, "READY=1"); }
void stopping() { sd_notify(0, "STOPPING=1"); }
void status(const std::string& text) { sd_notify(0, ("STATUS=" + text).c_str()); }
void watchdog() { sd_notify(0, "WATCHDOG=1"); }

uint64_t watchdogIntervalMs() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) {
    return 0;
  }
  return usec / 2000;
}

}  // namespace llmq::daemon::sdnotify
