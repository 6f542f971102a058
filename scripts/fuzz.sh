#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan, in
# build-fuzz/) and runs each one for a bounded time on a copy of its seed corpus
# (tests/fuzz/corpus/<target>/), so a run never changes the repository. Fails on
# the first crash, leak, timeout or sanitizer report, and prints the reproducer.
#
#   scripts/fuzz.sh              30 s per target (what CI runs, with 20)
#   scripts/fuzz.sh 3600         a soak: an hour per target
#   scripts/fuzz.sh 600 fuzz_sse_parser fuzz_config    only these targets
#   LLMQ_FUZZ_BUILD=build-asan scripts/fuzz.sh 20     in the sanitizer build's tree
#                                                     (scripts/build.sh asan), as CI does
#
# A reproducer is replayed with `build-fuzz/tests/fuzz/<target> <file>`. Once the
# bug is fixed, add the file to tests/fuzz/corpus/<target>/. To keep what a long
# run found, set LLMQ_FUZZ_KEEP=DIR: each target's grown corpus is copied there.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
jobs=${LLMQ_JOBS:-2}
dir=${LLMQ_FUZZ_BUILD:-build-fuzz}
all_targets=(fuzz_ipc_dispatch fuzz_sse_parser fuzz_config fuzz_http_request fuzz_responses)

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ is missing (apt-get install clang libclang-rt-dev)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
if [ -n "${LLMQ_FUZZ_BUILD:-}" ]; then
  # A tree configured elsewhere (scripts/build.sh asan): it must be a fuzz build.
  if ! grep -q '^LLMQ_FUZZ:BOOL=ON$' "$dir/CMakeCache.txt" 2>/dev/null; then
    echo "fuzz.sh: $dir is not configured with -DLLMQ_FUZZ=ON (scripts/build.sh asan makes one)" >&2
    exit 1
  fi
  echo "== fuzz targets (clang, libFuzzer + ASan + UBSan) in $dir/"
else
  echo "== fuzz build (clang, libFuzzer + ASan + UBSan) in $dir/"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
    -DLLMQ_FUZZ=ON -DLLMQ_WERROR=ON -DLLMQ_BUILD_TESTS=OFF -DLLMQ_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_C_FLAGS_DEBUG=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" >/dev/null
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # Every target this tree defines (fuzz_http_request only once the HTTP front exists).
  # The list is read whole first: `ninja ... | grep -q` under pipefail fails at
  # random when grep stops reading early and ninja gets SIGPIPE.
  known=$(ninja -C "$dir" -t targets all 2>/dev/null)
  for t in "${all_targets[@]}"; do
    if grep -q "^$t:" <<<"$known"; then
      targets+=("$t")
    fi
  done
fi
if [ -n "${LLMQ_FUZZ_BUILD:-}" ]; then
  # That tree is built already, and its tests may be running from it (CI):
  # nothing is rebuilt under them, the targets must just be there.
  for t in "${targets[@]}"; do
    [ -x "$dir/tests/fuzz/$t" ] || { echo "fuzz.sh: $dir/tests/fuzz/$t is not built" >&2; exit 1; }
  done
else
  ninja -C "$dir" -j "$jobs" "${targets[@]}"
fi

# Inputs longer than this are not generated: a few requests, a config file, a
# response body.
max_len() {
  case "$1" in
    fuzz_config) echo 8192 ;;
    *) echo 16384 ;;
  esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/llmq-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts="$dir/artifacts"
mkdir -p "$artifacts"
failed=0
for t in "${targets[@]}"; do
  corpus="$work/$t"
  mkdir -p "$corpus"
  cp -r "tests/fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  opts=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-")
  if [ -f "tests/fuzz/$t.dict" ]; then
    opts+=(-dict="tests/fuzz/$t.dict")
  fi
  log="$work/$t.log"
  echo "== $t: ${seconds} s, $(find "$corpus" -type f | wc -l) seeds"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$dir/tests/fuzz/$t" "${opts[@]}" "$corpus" >"$log" 2>&1; then
    grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' "$log" |
      sed 's/^/   /'
    if [ -n "${LLMQ_FUZZ_KEEP:-}" ]; then
      mkdir -p "$LLMQ_FUZZ_KEEP/$t"
      cp -r "$corpus/." "$LLMQ_FUZZ_KEEP/$t/"
    fi
  else
    failed=1
    tail -n 80 "$log"
    reproducer=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')
    echo "!! $t FAILED; reproducer: ${reproducer:-(none written; see the log above)}" >&2
    if [ -n "$reproducer" ]; then
      echo "!! replay with: $dir/tests/fuzz/$t $reproducer" >&2
    fi
  fi
done
exit $failed
