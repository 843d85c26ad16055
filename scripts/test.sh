#!/usr/bin/env bash
# Run the whole camwatch test suite (installs what it needs first).
#   scripts/test.sh [pytest args...]
# The suite runs in CAMWATCH_TEST_WORKERS parallel workers (default 4: most of its time is
# spent waiting on real peers, not computing); pass -n 0 (or -n N) to choose otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh test
.venv/bin/python -m ruff check .
.venv/bin/python -m mypy protocol agent aggregator
workers=(-n "${CAMWATCH_TEST_WORKERS:-4}")
for arg in "$@"; do
    case "$arg" in -n|-n*|--numprocesses*) workers=() ;; esac
done
exec .venv/bin/python -m pytest "${workers[@]}" "$@"
