#!/usr/bin/env bash
# Configures and builds one flavour of llmq.
#   scripts/build.sh release   -> build/        (a packager's Release build, warnings as errors)
#   scripts/build.sh asan      -> build-asan/   (ASan + UBSan, -O1 -g1)
#   scripts/build.sh plain     -> build-plain/  (what a user or a packager runs)
# release is `cmake -DCMAKE_BUILD_TYPE=Release` with Debian's dpkg-buildflags,
# exactly as a packager builds, plus LLMQ_WERROR=ON, tests and benchmarks; so
# when it builds, the plain build (the same without -Werror, tests or
# benchmarks) builds too, and the test command does not build the tree twice
# to prove it. asan also treats warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's hardening and optimisation flags, as debhelper passes them to cmake
# (CFLAGS and CXXFLAGS are read when build/ is first configured).
packager_flags() {
  if command -v dpkg-buildflags >/dev/null; then
    export CFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
    export CXXFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
    export LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
  fi
}

flavour=${1:-release}
jobs=${LLMQ_JOBS:-2}
case "$flavour" in
  release)
    dir=build
    args=(-DLLMQ_WERROR=ON -DCMAKE_BUILD_TYPE=Release)
    packager_flags
    ;;
  asan)
    dir=build-asan
    # -g1: line tables and function names, all a sanitizer's report shows, for
    # two thirds of -g's compile time.
    args=(-DLLMQ_WERROR=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=-O1" "-DLLMQ_SANITIZE=address;undefined"
          -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1 -DLLMQ_BUILD_BENCH=OFF)
    ;;
  plain)
    dir=build-plain
    args=(-DCMAKE_BUILD_TYPE=Release -DLLMQ_BUILD_TESTS=OFF -DLLMQ_BUILD_BENCH=OFF)
    packager_flags
    ;;
  *)
    echo "usage: scripts/build.sh release|asan|plain" >&2
    exit 2
    ;;
esac

cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
