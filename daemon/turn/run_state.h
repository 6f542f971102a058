// daemon::RunState: what every part may ask about the process as a whole: when
// llmqd started and whether it is shutting down. The composition root owns the
// one instance and sets shutting_down; the parts read it through a const
// reference they were given at construction.
#pragma once

#include <cstdint>

namespace llmq::daemon {

struct RunState {
  int64_t started_at_ms = 0;  // Wall clock.
  bool shutting_down = false;
};

}  // namespace llmq::daemon
