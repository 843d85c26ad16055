#!/usr/bin/env bash
# Install the camwatch edge agent on a Debian-family gateway and enable its service.
#
#   sudo deploy/install-agent.sh                     from this source tree (needs PyPI)
#   sudo deploy/install-agent.sh --wheelhouse DIR    offline: wheels fetched beforehand with
#                                                    pip download -d DIR '.[agent]' (same arch)
#
# Result: /opt/camwatch-agent/venv (own virtualenv), user camwatch-agent, config in
# /etc/camwatch-agent (agent.yaml; cameras.yaml and broker-password root-only, 0600),
# state in /var/lib/camwatch-agent, unit camwatch-agent.service enabled. The service is
# started only once agent.yaml validates; until then: edit it, then
#   camwatch-agent -c /etc/camwatch-agent/agent.yaml check && systemctl start camwatch-agent
set -euo pipefail

prefix=/opt/camwatch-agent
etc=/etc/camwatch-agent
user=camwatch-agent
src="$(cd "$(dirname "$0")/.." && pwd)"
wheelhouse=""

while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse) wheelhouse="$(cd "$2" && pwd)"; shift 2 ;;
        --prefix) prefix="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install-agent: unknown option $1" >&2; exit 64 ;;
    esac
done

if [ "$(id -u)" != "0" ]; then
    echo "install-agent: run as root (sudo)" >&2
    exit 77
fi

log() { echo "install-agent: $*"; }

# 1. System packages: Python with venv. OpenCV's wheel carries its own FFmpeg.
need=()
for p in python3 python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "install-agent: python3 must be 3.11 or newer" >&2; exit 69; }

# 2. A dedicated system user without a shell or home of its own.
if ! id "$user" >/dev/null 2>&1; then
    log "creating user $user"
    useradd --system --user-group --home-dir /var/lib/camwatch-agent --no-create-home \
        --shell /usr/sbin/nologin "$user"
fi

# 3. Own virtualenv; only the agent's dependencies.
if [ ! -x "$prefix/venv/bin/python" ]; then
    log "creating $prefix/venv"
    python3 -m venv "$prefix/venv"
fi
pip=("$prefix/venv/bin/python" -m pip install -q)
if [ -n "$wheelhouse" ]; then
    pip+=(--no-index --find-links "$wheelhouse")
else
    "$prefix/venv/bin/python" -m pip install -q --upgrade pip
fi
log "installing camwatch[agent] from $src"
"${pip[@]}" "$src[agent]"
ln -sf "$prefix/venv/bin/camwatch-agent" /usr/local/bin/camwatch-agent

# 4. Configuration and secrets (never overwritten).
install -d -m 0755 "$etc"
if [ ! -f "$etc/agent.yaml" ]; then
    log "writing a starting $etc/agent.yaml (edit site and broker, then run discover/init)"
    cat > "$etc/agent.yaml" <<'YAML'
# camwatch agent configuration. Secrets never go here: camera passwords live in
# /etc/camwatch-agent/cameras.yaml, the broker password in /etc/camwatch-agent/broker-password.
site:
  site_id: CHANGE-ME          # issued at enrolment
  province: "10"              # DOPA province code
  district: "1001"            # DOPA district code
broker:
  host: broker.example.org
  port: 8883
  password: credential:broker-password
discovery:
  ws_discovery: true
  unicast_targets: []         # e.g. ["10.0.20.0/24"] for routed camera VLANs
cameras: []                   # camwatch-agent init writes these
YAML
    chmod 0644 "$etc/agent.yaml"
fi
for secret in cameras.yaml broker-password; do
    if [ ! -f "$etc/$secret" ]; then
        install -m 0600 -o root -g root /dev/null "$etc/$secret"
        [ "$secret" = cameras.yaml ] && printf 'credentials: {}\ntry_order: []\n' > "$etc/$secret"
    fi
    chmod 0600 "$etc/$secret"
done

# 5. The service.
install -m 0644 "$src/deploy/systemd/camwatch-agent.service" /etc/systemd/system/camwatch-agent.service
systemctl daemon-reload
systemctl enable camwatch-agent.service >/dev/null
if "$prefix/venv/bin/python" -c "
import sys
from agent.config import load_config, ConfigError
try:
    cfg = load_config('$etc/agent.yaml')
except ConfigError as err:
    print(err, file=sys.stderr); sys.exit(1)
sys.exit(0 if cfg.site.site_id != 'CHANGE-ME' else 1)
"; then
    systemctl restart camwatch-agent.service
    log "camwatch-agent is running: journalctl -u camwatch-agent -f"
else
    log "enabled but not started: finish $etc/agent.yaml, then: systemctl start camwatch-agent"
fi
