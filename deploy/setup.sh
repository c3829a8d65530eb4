#!/usr/bin/env bash
# The one set-up script: README, .ci/run and the Dockerfile all call it.
#   deploy/setup.sh            system packages (as root, via apt) + the virtualenv in .venv
#   deploy/setup.sh --venv     only the virtualenv (no root needed)
#   deploy/setup.sh --runtime  only what the service needs at run time (deploy/Dockerfile): no
#                              browser, no test databases, no test tools in the virtualenv
#   deploy/setup.sh --list [--runtime]   print the Debian packages it would install, and stop
# Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${COCCI_BOT_VENV:-$here/.venv}"
only_venv=0 runtime=0 list=0
for arg in "$@"; do
  case "$arg" in
    --venv) only_venv=1 ;;
    --runtime) runtime=1 ;;
    --list) list=1 ;;
    *) echo "setup: unknown option $arg (use --venv, --runtime, --list)" >&2; exit 2 ;;
  esac
done

APT_PACKAGES=(
  git ca-certificates xz-utils dpkg-dev cpio
  git-email   # git send-email: the drafts' --dry-run check and [mail] sending
  # what git-email only recommends (installed without recommends): Mail::Address, which
  # send-email cannot start without, TLS and SMTP AUTH for [mail] tls/user
  libmailtools-perl libio-socket-ssl-perl libauthen-sasl-perl
  coccinelle
  gcc make flex bison bc libelf-dev libssl-dev ccache perl python3-venv
  qemu-system-x86 busybox-static
)
# for the tests only (the browser test, the throwaway PostgreSQL and Redis): not in --runtime
APT_TEST_PACKAGES=(
  chromium
  postgresql
  redis-server
)
[ "$runtime" = 1 ] || APT_PACKAGES+=("${APT_TEST_PACKAGES[@]}")
if [ "$list" = 1 ]; then printf '%s\n' "${APT_PACKAGES[@]}"; exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_sources() {
  # Debian bullseye carries the 5.10 kernel sources (linux-source-5.10, linux orig tarballs).
  local f=/etc/apt/sources.list.d/cocci-bot-bullseye.sources
  if [ ! -f "$f" ]; then
    as_root tee "$f" >/dev/null <<'SRC'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bullseye-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    # never let bullseye replace the host's own packages
    as_root tee /etc/apt/preferences.d/cocci-bot-bullseye >/dev/null <<'PIN'
Package: *
Pin: release n=bullseye
Pin-Priority: 100

Package: *
Pin: release n=bullseye-security
Pin-Priority: 100
PIN
    as_root apt-get update -qq
  fi
}

apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

libpython_for_spatch() {
  # spatch's Python scripting (every campaign's classifier) loads libpython at run time;
  # Debian's coccinelle does not depend on it, and a minimal image (debootstrap minbase, slim
  # containers) does not have it: "Py.find_library: unable to find the Python library".
  local lib
  lib="libpython$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if ! dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q 'install ok installed'; then
    echo "setup: installing $lib (spatch's Python scripting)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$lib" >/dev/null
  fi
}

spatch_python_check() {
  # proves spatch runs a Python rule here (seconds); a failure names what is missing
  local d
  d="$(mktemp -d)"
  printf '@r@\nidentifier f;\n@@\nf(...) { ... }\n@script:python@\nf << r.f;\n@@\nprint("ok-" + f)\n' >"$d/t.cocci"
  printf 'int probe(void) { return 0; }\n' >"$d/t.c"
  if ! spatch --very-quiet --sp-file "$d/t.cocci" "$d/t.c" 2>"$d/err" | grep -qx 'ok-probe'; then
    echo "setup: spatch cannot run Python rules: $(tail -c 300 "$d/err")" >&2
    rm -rf "$d"
    exit 3
  fi
  rm -rf "$d"
}

python_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  local stamp="$venv/.cocci-bot-installed"
  if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
    if [ "$runtime" = 1 ]; then
      "$venv/bin/pip" install -q --no-cache-dir -e "$here"   # editable: semantic_patches/ stay beside bot/
    else
      "$venv/bin/pip" install -q -e "$here[dev]"
    fi
    touch "$stamp"
  fi
}

if [ "$only_venv" = 0 ]; then
  apt_sources
  apt_packages
  libpython_for_spatch
  spatch_python_check
fi
python_venv
echo "setup: ok ($venv)" >&2
