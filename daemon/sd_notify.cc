// Thin wrappers over libsystemd's sd_notify, and the STATUS= text.
#include "daemon/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

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

bool enabled() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

std::string statusLine(const QueueFigures& f) {
  std::string s = f.stopping ? "stopping: " : "";
  s += "queued " + std::to_string(f.queued);
  s += ", running " + std::to_string(f.running);
  s += ", retry_wait " + std::to_string(f.retry_wait);
  s += ", held " + std::to_string(f.held);
  s += ", in flight " + std::to_string(f.in_flight);
  s += ", connections " + std::to_string(f.connections);
  return s;
}

}  // namespace llmq::daemon::sdnotify
