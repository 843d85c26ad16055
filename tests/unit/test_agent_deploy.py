"""The agent's systemd unit and install script agree with the config defaults (issue 3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agent.config import DEFAULT_SECRETS_CREDENTIAL, DEFAULT_STATE_DIR, BrokerConfig

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy/systemd/camwatch-agent.service"
INSTALL = REPO / "deploy/install-agent.sh"


def settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_is_hardened_and_writes_only_its_state_directory() -> None:
    s = settings()
    assert s["User"] == ["camwatch-agent"]
    assert s["ProtectSystem"] == ["strict"]
    assert s["StateDirectory"] == [DEFAULT_STATE_DIR.name]
    assert "ReadWritePaths" not in s
    assert s["NoNewPrivileges"] == ["yes"]


def test_unit_credentials_match_what_the_config_reads() -> None:
    names = {value.split(":", 1)[0] for value in settings()["LoadCredential"]}
    broker_ref = BrokerConfig().password
    assert broker_ref.startswith("credential:")
    assert names == {DEFAULT_SECRETS_CREDENTIAL, broker_ref.split(":", 1)[1]}


def test_install_script_is_valid_bash_and_documents_itself() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)
    done = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True, check=True)
    assert "--wheelhouse" in done.stdout
    text = INSTALL.read_text()
    assert "'.[agent]'" in text or "[agent]" in text
    assert "systemctl enable camwatch-agent.service" in text
