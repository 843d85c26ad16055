#!/usr/bin/env bash
# Run the camwatch demo on this machine (installs what it needs first). Ctrl-C stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh demo
exec .venv/bin/python deploy/demo.py "$@"
