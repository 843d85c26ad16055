"""`camwatch-agent discover` with no options at all, in a network namespace the test creates.

The namespace (inside a user namespace, so no root is needed) has only its own loopback,
with the multicast route on it, so the agent's default multicast probe to
239.255.255.250:3702 (no interface, no address, the standard port) reaches the simulated
cameras and nothing else: the test never touches the host's network (issue 3: discover
finds every simulated camera with no address given).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]

INSIDE = textwrap.dedent("""
    import json, subprocess, sys
    from tests.rig.onvif_sim import SimOptions, loopback_block, start_camera
    hosts = loopback_block(3)
    cams = [start_camera(SimOptions(host=h, serial=f"NS-{i}", discovery=True)) for i, h in enumerate(hosts)]
    try:
        done = subprocess.run([sys.executable, "-m", "agent", "-c", sys.argv[1], "discover", "--json",
                               "--no-stream-check"], capture_output=True, text=True, timeout=120)
    finally:
        for cam in cams:
            cam.stop()
    print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr,
                      "cams": [[c.host, c.port] for c in cams]}))
""")


def test_discover_with_no_options_finds_every_camera(tmp_path: Path) -> None:
    script = tmp_path / "inside.py"
    script.write_text(INSIDE)
    setup = "ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\""
    done = subprocess.run(
        ["unshare", "--map-root-user", "--net", "sh", "-c", setup, sys.executable, str(script), str(tmp_path / "none.yaml")],
        capture_output=True, text=True, timeout=240, cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, result["err"]
    reports = json.loads(result["out"])
    assert sorted((r["address"], r["port"]) for r in reports) == sorted(tuple(c) for c in result["cams"])
    assert sorted(r["serial"] for r in reports) == ["NS-0", "NS-1", "NS-2"]
    assert "probing (multicast on the default interface)" in result["err"]
