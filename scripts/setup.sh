#!/usr/bin/env bash
# Prepare this machine for camwatch: system packages, then a virtualenv in .venv.
#
#   scripts/setup.sh demo   what the demo needs (broker, RTSP server, Python deps)
#   scripts/setup.sh test   the above plus test tools (Chromium, pytest, ...)
#
# The venv sees the system site packages on purpose: GStreamer's RTSP server is
# only available through Debian's python3-gi, never from PyPI.
set -euo pipefail
mode="${1:-test}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

apt_packages=(
    mosquitto
    python3 python3-venv python3-dev python3-gi
    gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 gir1.2-gst-plugins-base-1.0
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
)
# The committee pack's PDF (camwatch-aggregator report --format pdf, GET /api/v1/reports/pack?format=pdf)
# is printed by headless Chromium with Thai fonts: the aggregator host needs both.
apt_packages+=(chromium fonts-thai-tlwg)
if [ "$mode" = "test" ]; then
    # poppler-utils: pdftotext reads the printed pack back in the tests
    apt_packages+=(openssl iproute2 poppler-utils)
fi

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "camwatch setup: installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "camwatch setup: these system packages are missing and I am not root:" >&2
        echo "  sudo apt-get install ${missing[*]}" >&2
        if [ "$mode" = "test" ]; then
            exit 2  # the tests talk to the real peers: never run them without
        fi
        # The demo can still run: amqtt stands in for a missing Mosquitto, and without
        # GStreamer the demo leaves out the real agent (scripts/demo.sh says so).
        echo "camwatch setup: continuing with what the demo can do without them" >&2
        demo_degraded=1
    fi
fi
# The Debian mosquitto package starts a system broker on port 1883; camwatch's
# demo and tests start their own brokers on free ports and never use it.

# /usr/bin/python3 is Debian's 3.11+, the one python3-gi is built for.
py=/usr/bin/python3
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "camwatch setup: /usr/bin/python3 must be 3.11 or newer" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv --system-site-packages .venv
fi
# pip's notes about this machine's optional local indexes are noise, not errors.
pip_install() { .venv/bin/python -m pip install -q "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }
stamp=".venv/.camwatch-$mode"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    pip_install --upgrade pip
    if [ "$mode" = "test" ]; then
        pip_install -e '.[agent,aggregator,dev]'
    else
        pip_install -e '.[agent,aggregator]'
    fi
    # ipycam is the third-party ONVIF device simulator; its own dependency on
    # the full opencv-python would clash with opencv-python-headless.
    pip_install --no-deps 'ipycam==1.3.0'
    touch "$stamp"
fi
if [ -n "${demo_degraded:-}" ] && ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
    pip_install 'amqtt>=0.11'
fi
if ! .venv/bin/python -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null; then
    echo "camwatch setup: GStreamer RTSP server bindings are not importable" >&2
    if [ "$mode" = "test" ]; then exit 2; fi
fi
echo "camwatch setup: ready ($mode)"
