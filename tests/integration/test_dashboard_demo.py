"""The README's first command: deploy/demo.py brings up the national picture and stops cleanly.

Runs the real demo (Mosquitto, camwatch-aggregator serve, the real agent on the RTSP and
ONVIF rigs, the simulated fleet) with a small fleet, reads the printed address and token,
waits until all 77 provinces report cameras through the API (the sites with their places, the
alerts delivered to the demo's LINE-compatible server), then sends SIGINT and checks
that the demo exits 0 and leaves no process and no temporary directory behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]


def _get(url: str, token: str) -> object:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def test_demo_shows_all_provinces_and_stops_on_sigint(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "deploy/demo.py", "--port", "0", "--sites", "80", "--cameras", "2", "4"],
            cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ, TMPDIR=str(tmp_path)),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        url = token = None
        while time.monotonic() < deadline and not (url and token):
            text = out.read_text(errors="replace")
            m_url, m_tok = re.search(r"dashboard:\s+(\S+)", text), re.search(r"admin token:\s+(\S+)", text)
            url, token = (m_url.group(1) if m_url else None), (m_tok.group(1) if m_tok else None)
            assert proc.poll() is None, text[-3000:]
            time.sleep(0.5)
        assert url and token, out.read_text(errors="replace")[-3000:]
        children = psutil.Process(proc.pid).children(recursive=True)
        provinces: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            provinces = _get(url + "api/v1/provinces", token)  # type: ignore[assignment]
            if sum(1 for p in provinces if int(str(p["cameras"])) > 0) == 77:
                break
            time.sleep(1)
        assert sum(1 for p in provinces if int(str(p["cameras"])) > 0) == 77
        assert "<html" in urllib.request.urlopen(url, timeout=10).read().decode()
        # The audit pages have something to show: a seeded register with its mistakes, reconciled
        # (in the background, once the seeded provinces' cameras are born).
        summary: dict[str, dict[str, int]] = {}
        while time.monotonic() < deadline and not summary:
            summary = _get(url + "api/v1/audit/summary", token)  # type: ignore[assignment]
            time.sleep(0.5)
        assert {"10", "50", "40"} <= set(summary), summary
        assert all(summary[p]["ghost"] == 2 for p in ("10", "50", "40")), summary
        assert any(p.get("declared_but_broken", 0) + p.get("verified", 0) for p in summary.values())
        imports: list[dict[str, object]] = _get(url + "api/v1/audit/imports", token)  # type: ignore[assignment]
        assert [(i["kind"], i["rejected"]) for i in imports] == [("risk", 0), ("register", 12)]
        uncovered: list[object] = _get(url + "api/v1/audit/risk-coverage?uncovered=true", token)  # type: ignore[assignment]
        assert len(uncovered) >= 3
        # The plans pages too: every seeded province ranked, its ghosts to link, a line to repair
        # (the ghost declared awaiting repair), its far risk point to cover.
        table: list[dict[str, object]] = _get(url + "api/v1/audit/completeness", token)  # type: ignore[assignment]
        assert {"10", "50", "40"} <= {str(r["province"]) for r in table}
        for p in ("10", "50", "40"):
            repair: dict[str, list[object]] = _get(url + f"api/v1/audit/plans/{p}/repair", token)  # type: ignore[assignment]
            link: dict[str, int] = _get(url + f"api/v1/audit/plans/{p}/link", token)  # type: ignore[assignment]
            install: dict[str, int] = _get(url + f"api/v1/audit/plans/{p}/install", token)  # type: ignore[assignment]
            assert repair["rows"] and link["cameras"] == 2 and install["uncovered_now"] >= 1, (p, repair, link, install)
        # Issue 15: sites are places (a name and a position inside their province: the directions
        # links work), and alerts reach the demo's local LINE-compatible server.
        sites: dict[str, object] = _get(url + "api/v1/sites?province=50&limit=5", token)  # type: ignore[assignment]
        site = sites["items"][0]  # type: ignore[index]
        assert site["name"].startswith("จุดตรวจ") and 17.0 < site["lat"] < 20.5 and site["address"], site
        sent: list[dict[str, object]] = []
        while time.monotonic() < deadline and not sent:
            rows: list[dict[str, object]] = _get(url + "api/v1/deliveries?channel=line", token)  # type: ignore[assignment]
            sent = [r for r in rows if r["status"] == "sent"]
            time.sleep(1)
        assert sent and "กล้อง" in json.dumps(sent[0]["payload"], ensure_ascii=False), sent[:1]
        # Issue 16: the real agent's camera whose recorder stopped is live but not recorded.
        unrecorded: dict[str, object] = {}
        while time.monotonic() < deadline and (unrecorded.get("reason") != "not_recording"
                                                or not unrecorded.get("recording")):
            try:
                unrecorded = _get(url + "api/v1/cameras/demo-real-agent/demo-rtsp-unrecorded", token)  # type: ignore[assignment]
            except urllib.error.HTTPError:  # not born yet
                pass
            time.sleep(1)
        assert (unrecorded.get("state"), unrecorded.get("reason")) == ("degraded", "not_recording"), unrecorded
        assert unrecorded["recording"]["recorder"] == "demo-box", unrecorded  # the heartbeat's figures, stored
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    assert code == 0, out.read_text(errors="replace")[-3000:]
    assert "stopped aggregator" in out.read_text() and "stopped Mosquitto" in out.read_text()
    assert "stopped LINE server" in out.read_text()
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not list(tmp_path.glob("camwatch-demo-*"))  # its temporary directory is gone
