#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what is missing, checks the
# layout of .clang-format, then builds and runs every unit, integration, chaos
# and hostile test twice: once in the release build (a packager's Release build
# with dpkg-buildflags, warnings as errors; scripts/build.sh release) and once
# under AddressSanitizer + UndefinedBehaviorSanitizer (clang; scripts/build.sh
# asan). Builds and checks the .deb (scripts/package.sh), runs clang-tidy's
# checks of .clang-tidy over daemon/ and common/ (scripts/lint.sh tidy covers
# the rest, minutes more) and each libFuzzer target of tests/fuzz/ briefly
# (scripts/fuzz.sh, in the sanitizer build's tree). Exits non-zero on any failure.
#
# The tests of one build run while the CPU-bound work that follows goes on (the
# next build; clang-tidy and the fuzzers): a build keeps both cores busy, the
# tests mostly wait on the processes they start, and so the run fits in CI's
# time on a 2-core machine. The tests' output is printed whole when they end.
set -euo pipefail
cd "$(dirname "$0")/.."

began=$SECONDS
stage() { echo "== $* [$((SECONDS - began)) s]"; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/llmq-test.XXXXXX")
side_pid=
side_name=
cleanup() {
  if [ -n "$side_pid" ]; then
    kill -TERM -- "-$side_pid" 2>/dev/null || true
    wait "$side_pid" 2>/dev/null || true
    echo "== $side_name: stopped when a step above failed; its output so far"
    cat "$logs/side.log"
  fi
  rm -rf "$logs"
}
trap cleanup EXIT

# alongside NAME CMD...: starts CMD in the background, in a process group of its
# own (job control, set -m, for that one command: so a failure elsewhere stops it
# and everything it started), its output kept in a log. joined: waits for it,
# prints that log, and fails the run if it failed.
alongside() {
  side_name=$1
  shift
  stage "$side_name (alongside what follows)"
  set -m
  "$@" >"$logs/side.log" 2>&1 &
  side_pid=$!
  set +m
}
joined() {
  local rc=0
  wait "$side_pid" || rc=$?
  side_pid=
  stage "$side_name: its output"
  cat "$logs/side.log"
  if [ "$rc" -ne 0 ]; then
    echo "!! $side_name failed (exit $rc)" >&2
    exit "$rc"
  fi
}

sanitizer_env=(env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

stage "installing what is missing (scripts/bootstrap.sh)"
./scripts/bootstrap.sh
stage "layout (clang-format, .clang-format)"
./scripts/lint.sh format
stage "release build: Release, dpkg-buildflags, warnings as errors"
./scripts/build.sh release
build/llmqd --version
build/llmq --version
stage "the .deb (built from build/ and checked; scripts/package.sh --install-test also installs it)"
./scripts/package.sh build

alongside "release tests" ctest --test-dir build --output-on-failure -j 2 --timeout 300
stage "sanitizer build (ASan + UBSan)"
./scripts/build.sh asan
joined

alongside "sanitizer tests" "${sanitizer_env[@]}" \
  ctest --test-dir build-asan --output-on-failure -j 2 --timeout 600
# daemon/ and common/ only: the other folders add 42 units, about 240 s on the
# critical path of a loaded 2-core run, which CI's 25 minutes cannot spare.
stage "checks (clang-tidy, .clang-tidy) over daemon/ and common/ (scripts/lint.sh tidy covers the rest)"
mapfile -t tidy_units < <(git ls-files 'daemon/*.cc' 'common/*.cc')
./scripts/lint.sh tidy "${tidy_units[@]}"
stage "fuzzing (libFuzzer targets in tests/fuzz/, 20 s each, built in build-asan/)"
LLMQ_FUZZ_BUILD=build-asan ./scripts/fuzz.sh 20
joined

stage "all passed"
