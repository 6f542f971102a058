// systemd readiness and watchdog notifications (sd_notify(3)), as a new-style
// daemon sends them. Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llmq::daemon::sdnotify {

void ready();
void stopping();
void status(const std::string& text);
void watchdog();
// Half of WATCHDOG_USEC in milliseconds, or 0 when systemd wants no watchdog.
uint64_t watchdogIntervalMs();
// True when someone listens for notifications (NOTIFY_SOCKET is set): only then
// is a periodic STATUS= worth a timer.
bool enabled();

// What STATUS= says while llmqd runs, for `systemctl status llmqd`.
struct QueueFigures {
  int64_t queued = 0;
  int64_t running = 0;
  int64_t retry_wait = 0;
  int64_t held = 0;
  size_t in_flight = 0;    // Attempts with a request upstream (or on the mock).
  size_t connections = 0;  // IPC clients connected.
  bool stopping = false;
};
// "queued 3, running 1, retry_wait 0, held 0, in flight 1, connections 2",
// prefixed with "stopping: " once shutdown has begun.
std::string statusLine(const QueueFigures& f);

}  // namespace llmq::daemon::sdnotify
