"""The committee pack printed to PDF by the shipped command and by the API, read back with
``pdftotext`` (poppler-utils): every section is there, the month is Thai with its Buddhist-era
year, and the printed figures are the API's for the same month (issue 14).

One PDF from ``python -m aggregator report --format pdf`` (real headless Chromium, the operator's
target setting in the environment) is shared by the checks; the API prints a second one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aggregator.api.deps import get_caller
from aggregator.app import create_app
from aggregator.geography import load_geography
from aggregator.reports.labels import label
from aggregator.schema import open_db
from aggregator.settings import AggregatorSettings
from tests.rig.callers import PEPPER, header_caller, who
from tests.rig.pack_fleet import MONTH, NOW, build_pack_fleet
from tests.rig.shipped import operator_env, run_command

pytestmark = pytest.mark.timeout(120)

TARGETS = "50=80"
SECTION_KEYS = ("summary", "worst", "ranking", "comparison", "daily", "ageing", "mttr", "repairs", "plan", "audit",
                "completeness", "risk", "recording", "advisories", "signoff")  # fmt: skip
PDFTOTEXT_TIMEOUT_S = 30.0


def pdf_text(data: bytes, workdir: Path) -> str:
    """The PDF's text, whitespace removed (pdftotext spaces Thai marks apart: compare without it)."""
    assert data.startswith(b"%PDF-")
    path = workdir / "read.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                         timeout=PDFTOTEXT_TIMEOUT_S)  # fmt: skip
    return re.sub(r"\s+", "", out.stdout.decode("utf-8"))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack-pdf") / "agg.db"
    build_pack_fleet(path).close()
    return path


@pytest.fixture(scope="module")
def shipped_pdf(country: Path) -> str:
    """The Thai national pack for November 2026, printed by the shipped command."""
    out = country.with_name("pack.pdf")
    done = run_command("aggregator", "report", "--month", MONTH, "--format", "pdf", "--lang", "th",
                       "--db", str(country), "-o", str(out),
                       env=operator_env(CAMWATCH_REPORT__PROVINCE_TARGETS=TARGETS))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return pdf_text(out.read_bytes(), country.parent)


@pytest.fixture(scope="module")
def api(country: Path) -> Iterator[TestClient]:
    db = open_db(country)
    geography = load_geography(db)
    db.close()
    settings = AggregatorSettings.model_validate({"db_path": country, "token_pepper": PEPPER,
                                                  "report": {"province_targets": TARGETS}})  # fmt: skip
    app = create_app(settings, geography, clock=lambda: NOW)
    app.dependency_overrides[get_caller] = header_caller
    with TestClient(app) as client:
        yield client


def _get(api: TestClient, path: str, **params: str) -> Any:
    answer = api.get(path, params={"month": MONTH, "lang": "th", **params}, headers=who("viewer"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_section_and_the_thai_month(shipped_pdf: str) -> None:
    for key in SECTION_KEYS:
        assert squeeze(label(f"section.{key}", "th")) in shipped_pdf, key
    assert "พฤศจิกายน2569" in shipped_pdf and "ตุลาคม2569" in shipped_pdf  # this month and the one compared
    assert "2026-11" not in shipped_pdf and "declared_but_broken" not in shipped_pdf
    assert squeeze(label("declared_but_broken", "th")) in shipped_pdf
    assert squeeze(label("rec.none", "th")) in shipped_pdf and squeeze(label("adv.none", "th")) in shipped_pdf


def test_printed_figures_are_the_apis(shipped_pdf: str, api: TestClient) -> None:
    report = _get(api, "/api/v1/reports/monthly", format="json")
    pack = _get(api, "/api/v1/reports/pack", format="json")
    total = report["rows"][-1]
    assert pack["total"]["usable"] == total["usable"] and pack["month_text"] == "พฤศจิกายน 2569"
    bangkok = next(r for r in report["rows"] if r["code"] == "10")
    # the area table: Bangkok's and the nation's shares as the API gives them
    assert f"กรุงเทพมหานคร2{bangkok['available'] * 100:.1f}%{bangkok['usable'] * 100:.1f}%" in shipped_pdf
    assert f"ประเทศไทย3{total['available'] * 100:.1f}%{total['usable'] * 100:.1f}%" in shipped_pdf
    sections = pack["sections"]
    ranking = {r["code"]: r for r in sections["ranking"]["rows"]}
    gap = ranking["10"]["gap_pts"]
    assert f"{ranking['10']['value'] * 100:.1f}%{ranking['10']['target'] * 100:.1f}%−{abs(gap):.1f}" in shipped_pdf
    assert f"{ranking['50']['target'] * 100:.1f}%−{abs(ranking['50']['gap_pts']):.1f}" in shipped_pdf  # own 80 %
    ageing = sections["ageing"]["total"]
    assert "".join(str(ageing[b]) for b in ("lt_1d", "1_7d", "7_30d", "gt_30d", "open")) == "11114"
    assert "".join(str(ageing[b]) for b in ("lt_1d", "1_7d", "7_30d", "gt_30d", "open")) in shipped_pdf
    mttr = sections["mttr"]["total"]
    assert f"{mttr['resolved']}{mttr['mean_h']:.1f}{mttr['median_h']:.1f}" in shipped_pdf
    assert f"{sections['repairs']['total']['cost']:,.2f}" in shipped_pdf
    assert sections["risk"]["uncovered"][0]["name"] in shipped_pdf
    # the repair plan and the register's completeness: the audit API's figures, as printed
    plan = api.get("/api/v1/audit/plans/50/repair", headers=who("viewer")).json()["totals"]
    assert f"เชียงใหม่{plan['rows']}{plan['open']}{plan['planned']}{plan['planned_cost_baht']:,.2f}" in shipped_pdf
    table = {r["province"]: r for r in api.get("/api/v1/audit/completeness", headers=who("viewer")).json()}
    bkk = table["10"]
    shares = "".join(f"{bkk[k] * 100:.1f}%" for k in ("position_share", "serial_share", "agency_share", "status_share",
                                                      "score", "verified_share"))  # fmt: skip
    assert f"{bkk['rank']}กรุงเทพมหานคร{bkk['declared']}{shares}{bkk['ghosts']}{bkk['unregistered']}" in shipped_pdf


def test_api_prints_the_pack_as_pdf(api: TestClient, country: Path) -> None:
    answer = api.get("/api/v1/reports/pack", params={"month": MONTH, "province": "50", "format": "pdf", "lang": "en"},
                     headers=who("viewer", "50"))  # fmt: skip
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert 'filename="camwatch-pack-2026-11-50-en.pdf"' in answer.headers["content-disposition"]
    text = pdf_text(answer.content, country.parent)
    assert "November2026" in text and "ChiangMai" in text and "Sign-off" in text
    assert api.get("/api/v1/reports/pack", params={"month": MONTH, "province": "10", "format": "pdf"},
                   headers=who("viewer", "50")).status_code == 404  # another province: as if it did not exist


def test_api_workbook_holds_the_apis_figures(api: TestClient) -> None:
    import io

    import openpyxl

    answer = api.get("/api/v1/reports/pack", params={"month": MONTH, "format": "xlsx"}, headers=who("viewer"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="camwatch-pack-2026-11-th.xlsx"' in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    pack = _get(api, "/api/v1/reports/pack", format="json")
    mttr = list(book[label("section.mttr", "th")[:31]].iter_rows(values_only=True))[-1]
    total = pack["sections"]["mttr"]["total"]
    assert mttr[1:4] == (total["resolved"], total["mean_h"], total["median_h"])


def test_missing_chromium_is_one_clear_line(country: Path) -> None:
    done = run_command("aggregator", "report", "--month", MONTH, "--format", "pdf", "--db", str(country),
                       "-o", str(country.with_name("none.pdf")),
                       env=operator_env(CAMWATCH_REPORT__CHROMIUM="/nonexistent/chromium"))  # fmt: skip
    said = [line for line in done.stderr.splitlines() if line.startswith("camwatch report:")]
    assert done.returncode == 2 and len(said) == 1 and "install the Debian package chromium" in said[0]
    assert not country.with_name("none.pdf").exists() and shutil.which("pdftotext")
