#!/usr/bin/env bash
# Run the whole camwatch test suite (installs what it needs first).
#   scripts/test.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh test
.venv/bin/python -m ruff check .
.venv/bin/python -m mypy protocol agent aggregator
exec .venv/bin/python -m pytest "$@"
