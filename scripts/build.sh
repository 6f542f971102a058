#!/usr/bin/env bash
# Configures and builds one flavour of llmq.
#   scripts/build.sh release   -> build/        (RelWithDebInfo, -O2)
#   scripts/build.sh asan      -> build-asan/   (ASan + UBSan, -O1)
# Both with warnings as errors (LLMQ_WERROR=ON), which a plain cmake build leaves off.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
jobs=${LLMQ_JOBS:-2}
case "$flavour" in
  release)
    dir=build
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
    ;;
  asan)
    dir=build-asan
    args=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=-O1" "-DLLMQ_SANITIZE=address;undefined"
          -DLLMQ_BUILD_BENCH=OFF)
    ;;
  *)
    echo "usage: scripts/build.sh release|asan" >&2
    exit 2
    ;;
esac

cmake -S . -B "$dir" -G Ninja -DLLMQ_WERROR=ON "${args[@]}" >/dev/null
ninja -C "$dir" -j "$jobs"
