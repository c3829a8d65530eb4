#!/usr/bin/env bash
# The test command (README, .ci/run): set-up, then ruff + mypy on bot/, then the whole suite.
#   deploy/test.sh                 everything, real trees, builds and boots included
#   deploy/test.sh -m "not slow"   the fast part (pytest arguments pass through)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/deploy/setup.sh"
py="$here/.venv/bin"
cd "$here"
"$py/ruff" check bot tests bench
"$py/mypy"
"$py/python" -m pytest "$@"
