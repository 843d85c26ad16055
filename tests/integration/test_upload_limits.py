"""Hostile uploads through the shipped commands (issue 18): the three workbook bombs of the issue
and an entity-expansion workbook, uploaded to ``python -m aggregator serve`` and imported with
``python -m aggregator import-register``, are refused quickly with one clear sentence (413/422,
exit 2), the server's memory stays bounded (its RSS measured), and it answers normally after."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.rig.mosquitto import Broker
from tests.rig.served import Served
from tests.rig.shipped import run_command
from tests.rig.workbooks import empty_rows_bomb, entity_bomb, huge_cell_bomb

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# Generous: the server's RSS may grow this much over the three uploads (the bombs expand to
# 300-400 MB each; before the limits, one took 4 GiB and one 800 MiB).
RSS_GROWTH_BOUND = 200 * 1024 * 1024
BOMBS: dict[str, tuple[Callable[[Path], Path], int]] = {
    "rows.xlsx": (empty_rows_bomb, 413),  # 50 million empty rows, ~440 KB
    "cell.xlsx": (huge_cell_bomb, 413),  # one 400 MB cell, ~410 KB
    "entities.xlsx": (entity_bomb, 422),  # nested entities ("billion laughs")
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("bombs")
    return {name: build(where / name) for name, (build, _) in BOMBS.items()}


@pytest.fixture
def served(tmp_path: Path, mosquitto: Broker, now: object) -> Iterator[Served]:
    server = Served(tmp_path, mosquitto)
    server.token("admin")
    server.start()
    yield server
    server.stop()


def test_workbook_bombs_are_refused_by_the_api_and_the_cli(served: Served, bombs: dict[str, Path]) -> None:
    assert served.process is not None
    server = psutil.Process(served.process.pid)
    with served.http(served.tokens["admin"][1], timeout=120.0) as http:
        assert http.get("/api/v1/nation").status_code == 200
        before = server.memory_info().rss
        peak = before
        for name, (_, status) in BOMBS.items():
            started = time.monotonic()
            with bombs[name].open("rb") as body:
                answer = http.post("/api/v1/audit/register", files={"file": (name, body)})
            took = time.monotonic() - started
            peak = max(peak, server.memory_info().rss)
            assert answer.status_code == status, answer.text
            detail = answer.json()["detail"]
            assert detail.startswith("refused, nothing imported:") and "\n" not in detail
            assert took < 60, f"{name} took {took:.1f} s"  # refused while streaming, not after expanding
        assert peak - before < RSS_GROWTH_BOUND, f"RSS grew {(peak - before) >> 20} MiB"
        # healthy after: an ordinary answer and nothing imported
        assert http.get("/api/v1/nation").status_code == 200
        assert http.get("/healthz").status_code in (200, 503)
        assert [e for e in http.get("/api/v1/audit/imports").json() if e.get("inserted")] == []
    for name in BOMBS:
        done = run_command("aggregator", "import-register", str(bombs[name]), env=served.env())
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("refused, nothing imported:"), done.stdout
        assert "Traceback" not in done.stderr
