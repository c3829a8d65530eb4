#!/usr/bin/env bash
# The review queue's tests against PostgreSQL (Debian's package): a throwaway cluster on a
# loopback port under a temp dir, the review tests with DATABASE_URL, then the cluster is gone.
#   deploy/test-review-pg.sh [pytest args]      (deploy/test.sh runs it in CI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$here/.venv/bin"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "test-review-pg: PostgreSQL missing: run deploy/setup.sh (apt package postgresql)" >&2; exit 3; }

tmp="$(mktemp -d /tmp/cocci-review-pg.XXXXXX)"
port="$("$py/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_pg=()
if [ "$(id -u)" = 0 ]; then    # postgres refuses to run as root
  chown postgres: "$tmp"
  as_pg=(runuser -u postgres --)
fi
pgctl() { "${as_pg[@]}" "$bin/pg_ctl" -D "$tmp/data" "$@"; }
cleanup() { pgctl stop -m immediate -w >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$bin/initdb" -D "$tmp/data" -U cocci -A trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 3; }
pgctl -w -t 60 -l "$tmp/postgres.log" \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$tmp/postgres.log" >&2; exit 3; }
"$bin/createdb" -h 127.0.0.1 -p "$port" -U cocci cocci
echo "test-review-pg: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
cd "$here"
DATABASE_URL="postgres://cocci@127.0.0.1:$port/cocci" "$py/python" -m pytest tests/review \
  -m "not browser" -p no:cacheprovider -q "$@"
