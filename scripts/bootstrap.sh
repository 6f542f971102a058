#!/usr/bin/env bash
# Installs the Debian 12 packages llmq needs to build and test, only those that are
# missing: quick and quiet when everything is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libcurl4-openssl-dev libsqlite3-dev libsystemd-dev rapidjson-dev libtomlplusplus-dev
  libsodium-dev libhttp-parser-dev libgoogle-perftools-dev
  libvalijson-dev            # JSON Schema checks of structured output (common/schema_check.cc)
  json-schema-test-suite     # what that check is tested against (tests/unit/common/schema_check_test.cc)
  googletest libgtest-dev libgmock-dev
  sqlite3 python3 curl
  libfaketime   # clock steps under a running llmqd (tests/hostile/clock_test.cc)
  clang libclang-rt-14-dev   # libFuzzer targets (scripts/fuzz.sh, tests/fuzz/)
  clang-format clang-tidy    # the layout and checks of .clang-format and .clang-tidy (scripts/lint.sh)
  systemd   # systemd-analyze, systemd-socket-activate, sysusers/tmpfiles for tests/integration/systemd_test.cc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node and npm run the official OpenAI SDK against the HTTP front
# (tests/integration/openai_sdk_test.cc). Any node >= 18 will do, Debian's or not.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} > 0)); then
  echo "bootstrap: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: these packages are missing and installing them needs root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
