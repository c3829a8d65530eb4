#!/usr/bin/env bash
# Prove the README's commands on a fresh, minimal Debian 12: a `debootstrap --variant=minbase
# bookworm` chroot (what a slim container image is), with this checkout's committed branch
# cloned in. Steps, each timed:
#   1. debootstrap minbase bookworm
#   2. ./deploy/setup.sh                       (as the README says, as root)
#   3. .venv/bin/cocci-bot run                 (mirror a Debian 5.10 release, apply, build, boot, post)
#      with no git identity anywhere (checked first), as on any fresh host: no step before it
#   4. ./deploy/test.sh -m "not slow"          (set-up again, ruff, mypy, the fast tests)
# Usage (root, on a Debian host with network to deb.debian.org and PyPI):
#   deploy/check-fresh-host.sh [--work DIR] [--branch BRANCH] [--keep] [--skip-run] [--skip-tests]
# DIR (default /var/tmp/cocci-bot-fresh-host) holds root/ (the chroot, removed at the end unless
# --keep) and logs/ (one log per step, and timings.txt). /proc, /sys and /dev are mounted into
# the chroot for the run and always unmounted; processes left in the chroot are killed by pid.
# Exit 0 when every step passed, else the exit status of the first failing step (a failing run
# or test step does not stop the next one; the run's output directory is copied to logs/runs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work=/var/tmp/cocci-bot-fresh-host
branch="$(git -C "$here" rev-parse --abbrev-ref HEAD)"
keep=0 run_pipeline=1 run_tests=1
mirror_url="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --branch) branch="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --skip-run) run_pipeline=0; shift ;;
    --skip-tests) run_tests=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "check-fresh-host: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "check-fresh-host: run as root (debootstrap, chroot, mount)" >&2; exit 2; }

root="$work/root"
logs="$work/logs"
timings="$logs/timings.txt"

mounts_under() { awk -v d="$1" '$2 == d || index($2, d "/") == 1 {f=1} END {exit !f}' /proc/self/mounts; }

unmount_all() {
  local m
  for m in "$root/dev" "$root/sys" "$root/proc"; do
    if mounts_under "$m"; then umount -R "$m" 2>/dev/null || umount -R -l "$m"; fi
  done
}

cleanup() {
  local rc=$?
  set +e
  # processes still running inside the chroot (a daemon a package started, a stray QEMU)
  local pids=()
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids+=("${p#/proc/}")
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    echo "check-fresh-host: killing ${#pids[@]} process(es) left in the chroot: ${pids[*]}" >&2
    kill -TERM "${pids[@]}" 2>/dev/null; sleep 2; kill -KILL "${pids[@]}" 2>/dev/null
  fi
  # what the run wrote (report, build.json, boot.json and logs, the series), before the root goes
  if [ -d "$root/root/.local/share/cocci-bot/runs" ]; then
    cp -r "$root/root/.local/share/cocci-bot/runs" "$logs/runs" 2>/dev/null
  fi
  unmount_all
  if mounts_under "$root"; then
    echo "check-fresh-host: still mounted under $root; not removing it" >&2
  elif [ "$keep" = 0 ] && [ -d "$root" ]; then
    rm -rf "$root"
  fi
  echo "check-fresh-host: logs and timings in $logs" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {  # step NAME COMMAND...: run, log, time; abort on failure
  local name="$1"; shift
  local start end rc
  start=$(date +%s)
  echo "check-fresh-host: $name ..." >&2
  set +e
  ( set -e; "$@" ) >"$logs/$name.log" 2>&1
  rc=$?
  set -e
  end=$(date +%s)
  printf '%-12s %5d s  exit %d\n' "$name" "$((end - start))" "$rc" | tee -a "$timings" >&2
  if [ "$rc" != 0 ]; then
    echo "check-fresh-host: $name failed (exit $rc); last lines of $logs/$name.log:" >&2
    tail -n 25 "$logs/$name.log" >&2
    [ "$first_failure" != 0 ] || first_failure=$rc
    # nothing runs without the set-up; a failed run or test step does not stop the others
    case "$name" in debootstrap|enter|setup) exit "$rc" ;; esac
  fi
}

first_failure=0

in_chroot() {  # a clean login-like environment, as root in the checkout
  # SIGINT at its default, as in a login shell: a script started in the background (`&`, nohup)
  # inherits it ignored, and then Python never raises KeyboardInterrupt (the tests check Ctrl-C)
  env --default-signal=INT chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "cd /root/cocci-bot && $1"
}

bind() {  # bind SRC DST: recursive bind mount, unmounts do not propagate back to the host
  mkdir -p "$2"
  mount --rbind "$1" "$2"
  mount --make-rslave "$2"
}

prepare() {
  command -v debootstrap >/dev/null || \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  debootstrap --variant=minbase bookworm "$root" "$mirror_url"
}

enter() {
  # a container runtime starts no services in the image; neither do package installs here
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # the site's own trust, as any image built at this site carries it: local CAs (e.g. a
  # TLS-inspecting proxy's; ca-certificates, installed by setup.sh, adds them) and pip's config
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  if [ -f /etc/pip.conf ]; then cp /etc/pip.conf "$root/etc/pip.conf"; fi
  mkdir -p "$root/proc"
  mount -t proc proc "$root/proc"
  bind /sys "$root/sys"
  bind /dev "$root/dev"
  git clone -q --branch "$branch" "$here" "$root/root/cocci-bot"
  git -C "$root/root/cocci-bot" log -1 --format='cloned %h %s'
}

if mounts_under "$work"; then
  echo "check-fresh-host: something is mounted under $work (an earlier run?): unmount it first" >&2
  trap - EXIT; exit 2
fi
rm -rf "$work"
mkdir -p "$logs"
echo "branch $branch ($(git -C "$here" rev-parse --short "$branch")), $(date -u +%FT%TZ), $(nproc) cores" >"$timings"
step debootstrap prepare
step enter enter
step setup in_chroot "./deploy/setup.sh"
if [ "$run_pipeline" = 1 ]; then
  # the README's first command needs no git identity: prove the chroot has none, then run it
  step run in_chroot "if git -c user.useConfigOnly=true var GIT_AUTHOR_IDENT >/dev/null 2>&1; then
      echo 'check-fresh-host: the chroot has a git identity; this check is for a host without one' >&2
      exit 2
    fi
    echo 'check-fresh-host: no git identity in the chroot (git var GIT_AUTHOR_IDENT fails)'
    .venv/bin/cocci-bot run"
fi
if [ "$run_tests" = 1 ]; then
  step tests in_chroot "./deploy/test.sh -m 'not slow' -q -p no:cacheprovider"
fi
if [ "$first_failure" != 0 ]; then
  echo "check-fresh-host: FAIL (see $timings)" >&2
  exit "$first_failure"
fi
echo "check-fresh-host: PASS" >&2
