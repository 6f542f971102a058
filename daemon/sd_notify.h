// systemd readiness and watchdog notifications (sd_notify(3)), as a new-style
// daemon sends them (STYLE G12). Without NOTIFY_SOCKET every call does nothing.
#pragma once

#include <cstdint>
#include <string>

namespace llmq::daemon::sdnotify {

void ready();
void stopping();
void status(const std::string& text);
void watchdog();
// Half of WATCHDOG_USEC in milliseconds, or 0 when systemd wants no watchdog.
uint64_t watchdogIntervalMs();

}  // namespace llmq::daemon::sdnotify
