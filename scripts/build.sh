#!/usr/bin/env bash
# Configures and builds one flavour of llmq.
#   scripts/build.sh release   -> build/        (RelWithDebInfo, -O2)
#   scripts/build.sh asan      -> build-asan/   (ASan + UBSan, -O1)
#   scripts/build.sh plain     -> build-plain/  (what a user or a packager runs)
# release and asan treat warnings as errors (LLMQ_WERROR=ON). plain is
# `cmake -DCMAKE_BUILD_TYPE=Release` with Debian's dpkg-buildflags and without
# LLMQ_WERROR, tests or benchmarks: that build must succeed too, whatever
# warnings a newer compiler adds.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
jobs=${LLMQ_JOBS:-2}
case "$flavour" in
  release)
    dir=build
    args=(-DLLMQ_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
    ;;
  asan)
    dir=build-asan
    args=(-DLLMQ_WERROR=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=-O1" "-DLLMQ_SANITIZE=address;undefined"
          -DLLMQ_BUILD_BENCH=OFF)
    ;;
  plain)
    dir=build-plain
    args=(-DCMAKE_BUILD_TYPE=Release -DLLMQ_BUILD_TESTS=OFF -DLLMQ_BUILD_BENCH=OFF)
    if command -v dpkg-buildflags >/dev/null; then
      export CFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
      export CXXFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
      export LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
    fi
    ;;
  *)
    echo "usage: scripts/build.sh release|asan|plain" >&2
    exit 2
    ;;
esac

cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
