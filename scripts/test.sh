#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, then builds and
# runs every unit and integration test twice, once optimised and once under
# AddressSanitizer + UndefinedBehaviorSanitizer, and builds and checks the .deb
# (scripts/package.sh), builds it as a packager would (scripts/build.sh plain), then runs each libFuzzer target of tests/fuzz/ briefly (clang;
# scripts/fuzz.sh), with the layout of .clang-format and the checks of
# .clang-tidy enforced (scripts/lint.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/bootstrap.sh

echo "== layout (clang-format, .clang-format)"
./scripts/lint.sh format
echo "== release build"
./scripts/build.sh release
echo "== checks (clang-tidy, .clang-tidy) over daemon/ and common/ (scripts/lint.sh tidy covers the rest, slower)"
mapfile -t tidy_units < <(git ls-files 'daemon/*.cc' 'common/*.cc')
./scripts/lint.sh tidy "${tidy_units[@]}"
echo "== release tests"
ctest --test-dir build --output-on-failure -j 2 --timeout 300
echo "== the .deb (built from build/ and checked; scripts/package.sh --install-test also installs it)"
./scripts/package.sh build
echo "== plain Release build, as a user or a packager runs it (dpkg-buildflags, warnings not errors)"
./scripts/build.sh plain
build-plain/llmqd --version
build-plain/llmq --version

echo "== sanitizer build (ASan + UBSan)"
./scripts/build.sh asan
echo "== sanitizer tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j 2 --timeout 600

echo "== fuzzing (libFuzzer targets in tests/fuzz/, 20 s each, clang build in build-fuzz/)"
./scripts/fuzz.sh 20
