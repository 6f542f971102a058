#!/usr/bin/env bash
# Soak: N minutes (default 5) of mixed load against the ASan + UBSan llmqd, RSS
# sampled over time, descriptors counted at the end (scripts/soak.py says what
# load and what verdict). Not part of scripts/test.sh: it is long by design.
#   scripts/soak.sh [MINUTES]
# LLMQ_SOAK_DAEMON=path uses that llmqd instead of building build-asan/llmqd.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
daemon=${LLMQ_SOAK_DAEMON:-}
if [[ -z $daemon ]]; then
  ./scripts/build.sh asan >/dev/null
  daemon=$PWD/build-asan/llmqd
fi
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  exec python3 scripts/soak.py --llmqd "$daemon" --minutes "$minutes"
