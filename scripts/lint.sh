#!/usr/bin/env bash
# Lint: clang-format checks the layout of .clang-format (it never rewrites a
# file), clang-tidy runs the checks of .clang-tidy. Exits non-zero on any finding.
#
#   scripts/lint.sh               both
#   scripts/lint.sh format        clang-format only: every .h/.cc of our folders, a few seconds
#   scripts/lint.sh tidy          clang-tidy only
#   scripts/lint.sh tidy FILE...  clang-tidy on these translation units only
#
# clang-tidy reads the compile commands of a build (LLMQ_LINT_BUILD, default
# build/; scripts/build.sh writes them), so build first. It costs seconds per
# translation unit, so by default it covers what llmqd is made of (common/ ipc/
# store/ upstream/ daemon/ http/) and the test fixtures (tests/support/, and
# tests/integration/); LLMQ_TIDY_ALL=1 adds the rest of tests/, clients/ and
# bench/. It runs LLMQ_JOBS (default 2) at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
shift || true
build=${LLMQ_LINT_BUILD:-build}
jobs=${LLMQ_JOBS:-2}
# The folders that hold our own C++ (nothing vendored lives in them).
own_dirs=(common ipc store upstream daemon http clients tests bench)

need() {
  if ! command -v "$1" >/dev/null; then
    echo "lint.sh: $1 is missing (apt-get install $2)" >&2
    exit 1
  fi
}

run_format() {
  need clang-format clang-format
  echo "== clang-format ($(clang-format --version | grep -o 'version [0-9.]*'))"
  local files
  mapfile -t files < <(git ls-files -- "${own_dirs[@]}" | grep -E '\.(h|cc)$')
  # --Werror turns each place that would change into a failing diagnostic, with
  # the file and line. One process: it takes seconds, and its output stays whole.
  if ! printf '%s\0' "${files[@]}" | xargs -0 clang-format --dry-run --Werror --style=file; then
    echo "clang-format: the places above differ from .clang-format (clang-format -i FILE rewrites one)" >&2
    return 1
  fi
  echo "clang-format: ${#files[@]} files as .clang-format wants them"
}

# The translation units of $build/compile_commands.json under our folders.
tidy_units() {
  local pattern='^(common|ipc|store|upstream|daemon|http|tests/support|tests/integration)/'
  if [ "${LLMQ_TIDY_ALL:-0}" = 1 ]; then
    pattern='^(common|ipc|store|upstream|daemon|http|clients|tests|bench)/'
  fi
  python3 - "$build/compile_commands.json" "$pattern" <<'EOF'
import json, os, re, sys
root = os.getcwd() + "/"
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = path[len(root):] if path.startswith(root) else path
    if re.match(sys.argv[2], rel) and rel not in seen:
        seen.add(rel)
        print(rel)
EOF
}

run_tidy() {
  need clang-tidy clang-tidy
  if [ ! -f "$build/compile_commands.json" ]; then
    echo "lint.sh: no $build/compile_commands.json; build first (scripts/build.sh release)" >&2
    exit 1
  fi
  local units=("$@")
  if [ ${#units[@]} -eq 0 ]; then
    mapfile -t units < <(tidy_units)
  fi
  echo "== clang-tidy ($(clang-tidy --version | grep -o 'version [0-9.]*')): ${#units[@]} translation units, $jobs at a time"
  # The test targets are compiled with a precompiled header (tests/CMakeLists.txt),
  # which is GCC's and which clang cannot read: clang-tidy gets the compile
  # commands without it, so each file is checked with the includes it names.
  local db
  db=$(mktemp -d "${TMPDIR:-/tmp}/llmq-tidy.XXXXXX")
  python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, re, sys
entries = json.load(open(sys.argv[1]))
pch = re.compile(r" -Winvalid-pch| -include \S*/cmake_pch\.hxx")
for entry in entries:
    entry["command"] = pch.sub("", entry["command"])
json.dump(entries, open(sys.argv[2], "w"))
PY
  local start=$SECONDS
  # One clang-tidy per unit, its output held until it ends so that parallel runs
  # do not interleave their lines. The build uses GCC, whose warning options clang
  # does not all know; those are not findings. Nor is what clang says of
  # RapidJSON's member iterators, which predate C++20's reversed operators (the
  # fuzz build, with clang, turns it off too). --quiet and the grep drop the
  # counts of what system headers had.
  # shellcheck disable=SC2016
  if ! printf '%s\0' "${units[@]}" | xargs -0 -P "$jobs" -n 1 sh -c '
    out=$(clang-tidy -p "$0" --quiet --warnings-as-errors="*" --extra-arg=-Wno-unknown-warning-option \
      --extra-arg=-Wno-ambiguous-reversed-operator "$1" 2>&1)
    rc=$?
    printf "%s\n" "$out" | grep -v -e "warnings\? generated\.$" -e "^$" || true
    exit $rc' "$db"; then
    echo "clang-tidy: findings above ($((SECONDS - start)) s)" >&2
    rm -rf "$db"
    return 1
  fi
  rm -rf "$db"
  echo "clang-tidy: no findings ($((SECONDS - start)) s)"
}

case "$what" in
  # Both run, so one report shows every finding.
  all)
    status=0
    run_format || status=1
    run_tidy || status=1
    exit $status
    ;;
  format) run_format ;;
  tidy) run_tidy "$@" ;;
  *) echo "usage: scripts/lint.sh [all|format|tidy [FILE...]]" >&2; exit 2 ;;
esac
