#!/usr/bin/env bash
# Run the camwatch demo on this machine (installs what it needs first). Ctrl-C stops it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh demo
extra=()
if ! .venv/bin/python -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null; then
    echo "camwatch demo: GStreamer's RTSP server is not installed, so the real agent and its cameras are left out" >&2
    extra=(--no-agent)
fi
exec .venv/bin/python deploy/demo.py "${extra[@]}" "$@"
