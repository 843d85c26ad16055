"""``scripts/demo.sh --topology`` (issue 17) as a subprocess: deploy/demo.py --topology brings up
three provinces with their own brokers and dashboards and a national one from the rendered
topology; every dashboard answers, the national one sees every province's sites through the
bridges and each provincial one only its own; SIGINT stops everything it started."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
DASHBOARD = re.compile(r"dashboard (national|\w[\w ]+ \((\d\d)\))\s+(http://\S+/)\s+admin token: (\S+)")


def _provinces(url: str, token: str) -> dict[str, int]:
    req = urllib.request.Request(url + "api/v1/provinces", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return {str(p["code"]): int(p["cameras"]) for p in json.loads(res.read()) if int(p["cameras"]) > 0}


def test_topology_demo_serves_every_dashboard_and_stops_on_sigint(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "deploy/demo.py", "--topology", "--port", "0", "--sites", "60",
                                 "--cameras", "2", "3"], cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
                                env=dict(os.environ, TMPDIR=str(tmp_path)))  # fmt: skip
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        found: list[tuple[str, str, str, str]] = []
        while time.monotonic() < deadline and len(found) < 4:
            text = out.read_text(errors="replace")
            found = DASHBOARD.findall(text)
            assert proc.poll() is None, text[-3000:]
            time.sleep(0.5)
        assert len(found) == 4, out.read_text(errors="replace")[-3000:]
        children = psutil.Process(proc.pid).children(recursive=True)
        for _, _, url, _ in found:
            assert json.loads(urllib.request.urlopen(url + "healthz", timeout=10).read()), url
        seen: dict[str, dict[str, int]] = {}
        while time.monotonic() < deadline:
            seen = {code or "national": _provinces(url, token) for _, code, url, token in found}
            if seen["national"] and all(seen[p] == {p: seen["national"].get(p)} for p in ("10", "50", "90")):
                break  # every province's cameras, the same number on its own dashboard and the nation's
            time.sleep(1)
        assert set(seen["national"]) == {"10", "50", "90"}, seen
        for p in ("10", "50", "90"):
            assert set(seen[p]) == {p} and seen[p][p] == seen["national"][p], seen
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    assert code == 0, out.read_text(errors="replace")[-3000:]
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not list(tmp_path.glob("camwatch-demo-*"))
