#!/usr/bin/env bash
# Configures and builds one flavour of llmq.
#   scripts/build.sh release   -> build/        (a packager's Release build, warnings as errors)
#   scripts/build.sh asan      -> build-asan/   (clang, ASan + UBSan, -O1; the fuzz targets too)
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
    # clang with ASan + UBSan and libFuzzer's coverage (LLMQ_FUZZ): the tests run
    # under the sanitizers in this tree, and the fuzz targets are built in it too
    # (LLMQ_FUZZ_BUILD=build-asan scripts/fuzz.sh), so the sources are compiled
    # once for both. Line tables are all a sanitizer's report needs.
    args=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DLLMQ_FUZZ=ON -DLLMQ_WERROR=ON
          -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only"
          "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" -DLLMQ_BUILD_BENCH=OFF)
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
