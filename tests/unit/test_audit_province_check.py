"""Positions clearly inside another province than declared are refused; borders and the sea are not (issue 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.audit.province_check import MARGIN_M, load_outlines, wrong_province
from aggregator.audit.rows import parse_row

pytestmark = pytest.mark.timeout(60)

CHIANG_MAI = (18.7877, 98.9931)  # Tha Phae Gate


def test_a_chiang_mai_position_declared_in_bangkok_is_refused() -> None:
    row, errors = parse_row({"province": "กรุงเทพมหานคร", "district": "พระนคร", "location": "x",
                             "lat": str(CHIANG_MAI[0]), "lon": str(CHIANG_MAI[1]), "status": "ok"})
    assert row is None
    assert errors == [f"coordinates {CHIANG_MAI[0]}, {CHIANG_MAI[1]} lie in province 50 "
                      "(Chiang Mai), not in 10 (Bangkok)"]


@pytest.mark.parametrize(("province", "lat", "lon"), [
    ("50", *CHIANG_MAI),  # where it is declared
    ("10", 11.0, 101.0),  # the Gulf of Thailand: no province claims it
    ("84", 10.09, 99.84),  # Ko Samui: an island the simplified map may not hold
    ("12", 13.83, 100.49),  # Bangkok-Nonthaburi border: within the margin of both
])
def test_plausible_or_undecidable_positions_pass(province: str, lat: float, lon: float) -> None:
    assert wrong_province(province, lat, lon) is None


def test_outlines_cover_every_province_and_contain_their_capitals() -> None:
    outlines = load_outlines()
    assert outlines is not None and len(outlines.rings) == 77
    assert outlines.containing(*CHIANG_MAI) == "50"
    assert outlines.containing(13.7563, 100.5018) == "10"
    assert outlines.distance_to_outline_m("50", *CHIANG_MAI) > MARGIN_M


def test_missing_map_turns_the_check_off(tmp_path: Path) -> None:
    assert load_outlines.__wrapped__(tmp_path / "nowhere.json") is None
