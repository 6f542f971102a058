#!/usr/bin/env bash
# The long crash test (tests/chaos/crash_test.cc): llmqd in front of the fake
# upstream, 4 clients submitting 20,000 jobs (streamed and not, mixed
# priorities), SIGKILLed 5 times (inside a commit, mid-stream, at random) and
# restarted each time. At the end every acknowledged job is terminal, every job
# that succeeded has exactly one successful attempt in the ledger, no job is
# there twice, and PRAGMA integrity_check is ok. The test suite runs the short
# version (2,000 jobs, 2 kills) as the ctest CrashTest.*.
#
#   scripts/chaos.sh                      20,000 jobs, 5 kills, in build/ (built if needed)
#   scripts/chaos.sh 50000 10             more jobs, more kills
#   LLMQ_CHAOS_SEED=123 scripts/chaos.sh  replays a run's plan and kill schedule
#   LLMQ_CHAOS_RATE=800                   jobs submitted per second (default 500 here)
#   LLMQ_BUILD_DIR=build-asan             another build (sanitizer builds kill from outside only)
#   LLMQ_CHAOS_KEEP_DIR=1                 keeps a copy of the daemon's directory (path printed)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${1:-20000}
kills=${2:-5}
dir=${LLMQ_BUILD_DIR:-build}
binary="$dir/tests/llmq_chaos_tests"

if [[ ! -f "$dir/build.ninja" ]]; then
  ./scripts/build.sh release
fi
ninja -C "$dir" -j "${LLMQ_JOBS:-2}" llmq_chaos_tests >/dev/null

# About 1 ms of wall time per job at 500 jobs/s, plus the drain: the test's own
# bounds are generous, so this only stops a run that hangs.
limit=$((120 + jobs / 100))
export LLMQ_CHAOS_JOBS=$jobs LLMQ_CHAOS_KILLS=$kills LLMQ_CHAOS_RATE=${LLMQ_CHAOS_RATE:-500}
echo "chaos: $jobs jobs, $kills kills, ${LLMQ_CHAOS_RATE} jobs/s (at most ${limit} s)"
exec timeout --kill-after=10 "$limit" "$binary" --gtest_filter='CrashTest.*' --gtest_color=no
