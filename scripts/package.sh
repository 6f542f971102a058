#!/usr/bin/env bash
# Builds the llmq .deb with CPack from a build tree and checks it (docs/operations.md).
#
#   scripts/package.sh [BUILD_DIR]                  # default build/ (scripts/build.sh release)
#   scripts/package.sh --install-test [BUILD_DIR]   # also dpkg -i, smoke test, dpkg -r, dpkg -P
#
# The check: control fields and library dependencies, the file list, the modes of
# /etc/llmq/llmqd.env (0600) and the maintainer scripts, conffiles, the units'
# ExecStart=/usr/bin/llmqd. scripts/test.sh runs it after the release tests.
#
# --install-test changes the machine: root only, on a throwaway box or container,
# and only when llmq is not installed. It installs the package, checks that the
# user llmq and its directories exist, that llmqd.service and llmqd.socket are
# enabled and nothing was started, runs llmqd as llmq on the installed files with
# a mock job over /run/llmq/llmqd.sock, checks that another user cannot connect,
# then removes and purges the package and deletes the user it created.
set -euo pipefail
cd "$(dirname "$0")/.."

install_test=0
dir=build
for arg in "$@"; do
  case "$arg" in
    --install-test) install_test=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) dir=$arg ;;
  esac
done

fail() { echo "package.sh: $*" >&2; exit 1; }

if [[ ! -x $dir/llmqd || ! -x $dir/llmq ]]; then
  [[ $dir == build ]] || fail "$dir has no llmqd/llmq; build it first"
  ./scripts/build.sh release
fi
rm -f "$dir"/llmq_*.deb
cpack_log=$(cd "$dir" && cmake . >/dev/null && cpack -G DEB 2>&1) || fail "cpack failed:
$cpack_log"
debs=("$dir"/llmq_*.deb)
deb=${debs[0]}
[[ -f $deb ]] || fail "cpack made no .deb in $dir"
echo "== built $deb"

# --- what is in it
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == llmq ]] || fail "Package: $(field Package)"
depends=$(field Depends)
for lib in libuv1 libcurl4 libsqlite3-0 libsodium23 libsystemd0 libtomlplusplus3 libtcmalloc-minimal4; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $depends == *systemd-standalone-sysusers* ]] || fail "Depends lacks systemd-sysusers: $depends"

listing=$(dpkg-deb -c "$deb")
for path in ./usr/bin/llmqd ./usr/bin/llmq \
            ./usr/lib/systemd/system/llmqd.service ./usr/lib/systemd/system/llmqd.socket \
            ./usr/lib/systemd/user/llmqd.service ./usr/lib/systemd/user/llmqd.socket \
            ./usr/lib/sysusers.d/llmq.conf ./usr/lib/tmpfiles.d/llmq.conf \
            ./etc/llmq/llmqd.toml ./etc/llmq/llmqd.env \
            ./usr/share/doc/llmq/docs/operations.md ./usr/share/doc/llmq/examples/llmqd.toml.example; do
  grep -q " $path\$" <<<"$listing" || fail "$path is not in the package"
done
grep -q '^-rw------- root/root .* ./etc/llmq/llmqd.env$' <<<"$listing" ||
  fail "/etc/llmq/llmqd.env must be root's, mode 0600"
! grep -q '/usr/local/' <<<"$listing" || fail "the package has /usr/local paths"

control=$(mktemp -d)
data=$(mktemp -d)
trap 'rm -rf "$control" "$data"' EXIT
dpkg-deb -e "$deb" "$control"
dpkg-deb -x "$deb" "$data"
for script in postinst prerm postrm; do
  [[ -x $control/$script ]] || fail "$script is missing or not executable"
  sh -n "$control/$script" || fail "$script does not parse"
done
diff <(sort "$control/conffiles") <(printf '/etc/llmq/llmqd.env\n/etc/llmq/llmqd.toml\n') >/dev/null ||
  fail "conffiles: $(cat "$control/conffiles")"
grep -qx 'ExecStart=/usr/bin/llmqd' "$data/usr/lib/systemd/system/llmqd.service" ||
  fail "llmqd.service does not run /usr/bin/llmqd"
grep -qx 'ExecStart=/usr/bin/llmqd' "$data/usr/lib/systemd/user/llmqd.service" ||
  fail "the user llmqd.service does not run /usr/bin/llmqd"
echo "== contents, control fields and maintainer scripts look right"

(( install_test )) || exit 0

# --- dpkg -i, smoke test, dpkg -r, dpkg -P
[[ $EUID -eq 0 ]] || fail "--install-test needs root"
! dpkg -s llmq >/dev/null 2>&1 || fail "llmq is installed already; not touching it"
user_existed=0
getent passwd llmq >/dev/null && user_existed=1
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  dpkg -s llmq >/dev/null 2>&1 && dpkg -P llmq >/dev/null 2>&1
  if (( !user_existed )) && getent passwd llmq >/dev/null; then
    userdel llmq 2>/dev/null || true
    getent group llmq >/dev/null && groupdel llmq 2>/dev/null || true
  fi
  rm -rf "$control" "$data"
}
trap cleanup EXIT

echo "== dpkg -i"
dpkg -i "$deb"
getent passwd llmq | grep -q ':/var/lib/llmq:/usr/sbin/nologin$' || fail "no system user llmq: $(getent passwd llmq)"
getent group llmq >/dev/null || fail "no group llmq"
[[ $(stat -c '%a %U %G' /var/lib/llmq) == '700 llmq llmq' ]] || fail "/var/lib/llmq: $(stat -c '%a %U %G' /var/lib/llmq)"
[[ $(stat -c '%a %U %G' /run/llmq) == '755 llmq llmq' ]] || fail "/run/llmq: $(stat -c '%a %U %G' /run/llmq)"
[[ -L /etc/systemd/system/multi-user.target.wants/llmqd.service ]] || fail "llmqd.service is not wanted by multi-user.target"
[[ -L /etc/systemd/system/sockets.target.wants/llmqd.socket ]] || fail "llmqd.socket is not wanted by sockets.target"
! pgrep -u llmq -x llmqd >/dev/null || fail "dpkg -i started llmqd"
echo "   user llmq, /var/lib/llmq, /run/llmq, units enabled, nothing started"

echo "== llmqd as llmq on the installed files (the unit's environment, without its sandbox)"
# As llmqd.service sets it up: user llmq, UMask=0077, XDG_CONFIG_HOME=/etc, XDG_STATE_HOME=/var/lib.
(umask 077 && exec setpriv --reuid=llmq --regid=llmq --init-groups -- \
  env -i PATH=/usr/bin:/bin XDG_CONFIG_HOME=/etc XDG_STATE_HOME=/var/lib /usr/bin/llmqd) \
  2>/tmp/llmqd-package-test.log &
daemon_pid=$!
for _ in $(seq 1 200); do
  [[ -S /run/llmq/llmqd.sock ]] && break
  sleep 0.05
done
[[ -S /run/llmq/llmqd.sock ]] || fail "llmqd did not listen: $(cat /tmp/llmqd-package-test.log)"
[[ $(stat -c '%a %U %G' /run/llmq/llmqd.sock) == '660 llmq llmq' ]] ||
  fail "socket: $(stat -c '%a %U %G' /run/llmq/llmqd.sock)"
out=$(LLMQ_SOCKET=/run/llmq/llmqd.sock /usr/bin/llmq submit --wait --model mock/package "Hello from the package test")
[[ -n $out ]] || fail "the mock job gave no answer"
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups -- env LLMQ_SOCKET=/run/llmq/llmqd.sock /usr/bin/llmq status \
  >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "user nobody could use the 0660 socket (llmq status exited $rc)"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "llmqd did not stop cleanly: $(cat /tmp/llmqd-package-test.log)"
daemon_pid=
[[ $(stat -c '%a %U' /var/lib/llmq/llmq.db) == '600 llmq' ]] || fail "llmq.db: $(stat -c '%a %U' /var/lib/llmq/llmq.db)"
[[ ! -e /run/llmq/llmqd.sock ]] || fail "llmqd left its socket behind"
rm -f /tmp/llmqd-package-test.log
echo "   a mock job ran over /run/llmq/llmqd.sock; user nobody was refused; database 0600 llmq"

echo "== dpkg -i again (the upgrade path: prerm upgrade, postinst configure OLD-VERSION)"
echo "# edited by package.sh" >>/etc/llmq/llmqd.toml
uid=$(id -u llmq)
dpkg -i "$deb"
grep -q '^# edited by package.sh$' /etc/llmq/llmqd.toml || fail "the upgrade overwrote the edited conffile"
[[ $(id -u llmq) == "$uid" && -f /var/lib/llmq/llmq.db ]] || fail "the upgrade changed the user or lost the database"
echo "   edited conffile, user and database kept"

echo "== dpkg -r"
dpkg -r llmq
[[ -f /etc/llmq/llmqd.toml && -f /etc/llmq/llmqd.env ]] || fail "dpkg -r removed the conffiles"
[[ -d /var/lib/llmq ]] || fail "dpkg -r removed the queue database"
[[ $(readlink /etc/systemd/system/llmqd.service) == /dev/null ]] || fail "llmqd.service is not masked after removal"
echo "   conffiles and /var/lib/llmq kept, units masked"

echo "== dpkg -P"
dpkg -P llmq
[[ ! -e /etc/llmq && ! -e /var/lib/llmq ]] || fail "dpkg -P left /etc/llmq or /var/lib/llmq"
[[ ! -e /etc/systemd/system/llmqd.service && ! -e /etc/systemd/system/multi-user.target.wants/llmqd.service ]] ||
  fail "dpkg -P left unit symlinks"
getent passwd llmq >/dev/null || fail "dpkg -P deleted the user llmq (Debian keeps system users)"
echo "   /etc/llmq, /var/lib/llmq and the unit state gone; the user llmq stays (deleted by this script)"
