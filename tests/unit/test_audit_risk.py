"""Risk-point coverage: exact radius boundary, 30-day counts, ranking, and risk-point rows (issue 8)."""

from __future__ import annotations

import math

import pytest

from aggregator.audit.risk import (
    CoverageCamera,
    RiskKind,
    RiskPoint,
    coverage,
    parse_risk_row,
    rank_uncovered,
)
from aggregator.audit.spatial import EARTH_RADIUS_M, GridIndex, haversine_m

pytestmark = pytest.mark.timeout(60)

LAT, LON = 13.7563, 100.5018
M_PER_DEG = math.pi * EARTH_RADIUS_M / 180


def point(name: str = "p", radius: float = 100.0, province: str = "10", required: int = 1,
          lat: float = LAT) -> RiskPoint:
    return RiskPoint(f"{province}|accident|{name}", name, "accident", province, lat, LON, radius, required)


def cam(key: str, north_m: float, east_m: float = 0.0, up: bool = True,
        frac: float | None = 1.0) -> CoverageCamera:
    lon = LON + east_m / (M_PER_DEG * math.cos(math.radians(LAT)))
    return CoverageCamera(key, LAT + north_m / M_PER_DEG, lon, up, frac)


def test_camera_exactly_on_the_radius_counts_and_just_outside_does_not() -> None:
    on = cam("on", 100.0)
    assert haversine_m(LAT, LON, on.lat, on.lon) == pytest.approx(100.0, abs=1e-6)
    outside = cam("out", 100.01)
    (c,) = coverage([point(radius=100.0)], [on, outside])
    assert (c.cameras, c.usable_now) == (1, 1)
    # The same holds when the radius is the computed distance itself, to the last bit.
    exact = haversine_m(LAT, LON, outside.lat, outside.lon)
    (c,) = coverage([point(radius=exact)], [on, outside])
    assert c.cameras == 2


def test_boundary_holds_east_west_where_the_grid_is_widest() -> None:
    # Longitude cells shrink in metres with latitude; a camera due east on the circle still counts.
    east = cam("east", 0.0, 300.0)
    d = haversine_m(LAT, LON, east.lat, east.lon)
    (c,) = coverage([point(radius=d)], [east])
    assert c.cameras == 1
    (c,) = coverage([point(radius=d - 0.01)], [east])
    assert c.cameras == 0


def test_usable_now_and_over_thirty_days() -> None:
    cams = [cam("a", 10, up=True, frac=0.95), cam("b", 20, up=False, frac=0.99),
            cam("c", 30, up=False, frac=0.5), cam("d", 40, up=True, frac=None)]
    (c,) = coverage([point(radius=50)], cams, usable_30d_min=0.9)
    assert (c.cameras, c.usable_now, c.usable_30d, c.best_30d) == (4, 2, 2, 0.99)
    assert c.nearest_usable_m == pytest.approx(10, abs=0.01)
    assert c.covered


def test_required_count_decides_covered() -> None:
    (c,) = coverage([point(required=2)], [cam("a", 10)])
    assert not c.covered


def test_uncovered_points_ranked_worst_first_per_province() -> None:
    points = [point("covered", lat=LAT), point("broken-cams", lat=LAT + 0.1),
              point("nothing", lat=LAT + 0.2), point("elsewhere", province="50", lat=LAT + 0.3)]
    cams = [cam("a", 0), cam("b", 0.1 * M_PER_DEG, up=False, frac=0.2),
            cam("c", 0.2 * M_PER_DEG + 500)]
    ranked = rank_uncovered(coverage(points, cams))
    assert [c.point.name for c in ranked["10"]] == ["nothing", "broken-cams"]
    assert [c.point.name for c in ranked["50"]] == ["elsewhere"]


def test_grid_index_agrees_with_brute_force() -> None:
    import random

    rng = random.Random(1)
    grid: GridIndex[int] = GridIndex(cell_m=150)
    pts = [(LAT + rng.uniform(-0.02, 0.02), LON + rng.uniform(-0.02, 0.02)) for _ in range(2000)]
    for i, (la, lo) in enumerate(pts):
        grid.add(la, lo, i)
    for _ in range(50):
        qa, qo, r = LAT + rng.uniform(-0.02, 0.02), LON + rng.uniform(-0.02, 0.02), rng.uniform(10, 900)
        brute = {i for i, (la, lo) in enumerate(pts) if haversine_m(qa, qo, la, lo) <= r}
        assert {i for i, _ in grid.within(qa, qo, r)} == brute


def test_risk_rows_validate() -> None:
    good, errors = parse_risk_row({"name": "แยกอโศก", "kind": "จุดเสี่ยงอุบัติเหตุ", "lat": "13.737",
                                   "lon": "100.560", "radius_m": "150", "province": "กรุงเทพมหานคร"})
    assert errors == [] and good is not None
    assert (good.kind, good.province, good.required) == (RiskKind.ACCIDENT, "10", 1)
    bad, errors = parse_risk_row({"name": "", "kind": "volcano", "lat": "1.0", "lon": "2.0",
                                  "radius_m": "-5", "province": "Mordor"})
    text = " | ".join(errors)
    assert bad is None
    for reason in ("unknown province", "kind 'volcano'", "radius_m", "name"):
        assert reason in text
    _, errors = parse_risk_row({"name": "x", "kind": "crime", "lat": "51.5", "lon": "0.1",
                                "radius_m": "50", "province": "10"})
    assert any("outside Thailand" in e for e in errors)
