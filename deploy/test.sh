#!/usr/bin/env bash
# The test command (README, .ci/run): set-up, then ruff + mypy on bot/, then the whole suite.
#   deploy/test.sh                 everything, real trees, builds and boots included
#   deploy/test.sh -m "not slow"   the fast part (pytest arguments pass through)
#   with no arguments it also runs the review queue's tests on PostgreSQL (deploy/test-review-pg.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/deploy/setup.sh"
py="$here/.venv/bin"
cd "$here"
"$py/ruff" check bot tests bench
"$py/mypy"
"$py/python" -m pytest "$@"
# CI (no arguments): the review queue once more, on PostgreSQL (COCCI_SKIP_PG=1 skips it)
if [ "$#" -eq 0 ] && [ "${COCCI_SKIP_PG:-0}" != 1 ]; then
  "$here/deploy/test-review-pg.sh"
fi
