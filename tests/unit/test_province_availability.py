"""The console's batched availability (issue 15): every province over one window in one answer
equals the per-province answers, in the store (random histories, maintenance windows, every
segment walk) and through the API (national and province-scoped tokens)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.availability import Window
from aggregator.days import day_of, day_start, from_ms, to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.store.maintenance import MaintenanceCalendar, WindowSpec
from aggregator.store.queries.availability import province_totals
from aggregator.store.rollups import Level, rollup_totals
from aggregator.store.state import Inbound, StateStore
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, SiteInfo, SiteTopic
from tests.unit.test_api_core import Rig, make_rig

T0 = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)
SITES = {"s1": ("10", "1001"), "s2": ("10", "1002"), "s3": ("50", "5001"), "s4": ("12", "1201")}
CODES = ["10", "11", "12", "50"]  # 11: a province without a camera


@pytest.mark.parametrize("seed", [31, 32])
def test_batched_province_totals_equal_each_province_rollup(seed: int) -> None:
    rng = random.Random(seed)
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    for site, (prov, dist) in SITES.items():
        msg = Birth(site=site, ts=T0, bd_seq=0, site_info=SiteInfo(agency="police"),
                    cameras=[BirthCamera(camera_id=f"{site}-c{i}", state=CameraState.UP, since=T0) for i in range(3)])  # fmt: skip
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.BIRTH), msg, T0)])
    now, ids = T0, dict.fromkeys(SITES, 0)
    for _ in range(80):
        now += timedelta(minutes=rng.randint(10, 240))
        site = rng.choice(list(SITES))
        prov, dist = SITES[site]
        evs = []
        for _ in range(rng.randint(1, 3)):
            at = max(T0 + timedelta(seconds=1), now - timedelta(minutes=rng.choice([0, rng.randint(1, 2000)])))
            if rng.random() < 0.15:  # exactly at a Bangkok midnight
                at = max(T0 + timedelta(seconds=1), from_ms(day_start(day_of(to_ms(at)))))
            ids[site] += 1
            evs.append(Event(id=ids[site], camera_id=f"{site}-c{rng.randint(0, 2)}", at=at, state=rng.choice(list(CameraState))))
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.EVENTS), Events(site=site, ts=now, seq=1, events=evs), now)])
    cal = MaintenanceCalendar(db)
    for spec in (WindowSpec(target_kind="district", target_id="1001", starts_at=T0 + timedelta(hours=5),
                            ends_at=T0 + timedelta(hours=9)),
                 WindowSpec(target_kind="site", target_id="s3", weekday=now.weekday(),
                            start_time=datetime(2026, 1, 1, 22, 0).time(), duration_min=240),
                 WindowSpec(target_kind="camera", target_id="s4-c1", starts_at=T0 + timedelta(hours=30),
                            ends_at=T0 + timedelta(hours=50))):  # fmt: skip
        cal.add(spec, T0)
    horizon = to_ms(now)
    day0 = day_start(day_of(horizon))
    windows = [Window(to_ms(T0) - 3_600_000, horizon), Window(horizon - 3_600_000, horizon), Window(day0, horizon),
               Window(day0 - 86_400_000, day0), Window(day0 - 2 * 86_400_000 + 1000, day0 - 1000),  # whole day; both walks
               Window(day0 - 86_400_000 + 3_600_000, day0 - 60_000)]  # fmt: skip
    for _ in range(8):
        a = rng.randint(to_ms(T0) - 3_600_000, horizon - 1)
        windows.append(Window(a, rng.randint(a + 1, horizon)))
    for w in windows:
        batched = province_totals(db, CODES, w)
        assert batched == {c: rollup_totals(db, Level.PROVINCE, c, w) for c in CODES}, w
    # the check can fail: the provinces differ, and maintenance moved some time
    whole = province_totals(db, CODES, windows[0])
    assert whole["10"] != whole["50"] and whole["11"].known_ms == 0 and whole["10"].maint_ms > 0


@pytest.fixture
def rig(tmp_path: Path, now: datetime) -> Iterator[Rig]:
    """The API reads the clock itself: pinned (``now``) while the rig lives. The test asks each
    province one by one to compare (the console no longer does): a burst the rate limit allows."""
    yield from make_rig(tmp_path, rate_limit_burst=1000)


# Fixed windows (the test's clock ticks, so a window ending now moves between two requests):
# partial Bangkok days at both ends across cam-a's outage, and whole Bangkok days.
WINDOWS = [{"start": "2026-11-20T05:30:00Z", "end": "2026-11-25T02:30:00Z"},
           {"start": "2026-11-22T17:00:00Z", "end": "2026-11-24T17:00:00Z"},
           {"start": "2026-11-24T23:15:00Z", "end": "2026-11-25T01:45:00Z"}]


@pytest.mark.parametrize("span", WINDOWS)
def test_batched_route_equals_the_per_province_answers(rig: Rig, span: dict[str, str]) -> None:
    params = {"window": "custom", **span}
    got = rig.get("/api/v1/availability/provinces", **params)
    assert got.status_code == 200, got.text  # type: ignore[attr-defined]
    body = got.json()  # type: ignore[attr-defined]
    assert len(body["provinces"]) == 77
    for code, figures in body["provinces"].items():
        assert figures == rig.get("/api/v1/availability", level="province", key=code, **params).json(), code  # type: ignore[attr-defined]
    assert body["nation"] == rig.get("/api/v1/availability", level="nation", **params).json()  # type: ignore[attr-defined]
    assert body["provinces"]["10"]["usable"] != body["provinces"]["50"]["usable"]  # real data, not zeros
    # a token limited to Bangkok gets Bangkok only, and no national figures
    scoped = rig.get("/api/v1/availability/provinces", who="bkk", **params).json()  # type: ignore[attr-defined]
    assert scoped["nation"] is None and list(scoped["provinces"]) == ["10"]
    assert scoped["provinces"]["10"] == body["provinces"]["10"]
    assert rig.get("/api/v1/availability/provinces", who=None, **params).status_code == 401  # type: ignore[attr-defined]


@pytest.mark.parametrize("params", [{"window": "last_24h"}, {"window": "last_7d"}, {"window": "month", "month": "2026-11"}])
def test_batched_route_answers_the_console_periods(rig: Rig, params: dict[str, str]) -> None:
    body = rig.get("/api/v1/availability/provinces", **params).json()  # type: ignore[attr-defined]
    assert len(body["provinces"]) == 77 and body["nation"]["available"] is not None
    assert body["provinces"]["50"]["available"] == 1.0 and body["provinces"]["50"]["usable"] == pytest.approx(0.5)


def test_batched_route_refuses_a_bad_window(rig: Rig) -> None:
    assert rig.get("/api/v1/availability/provinces", window="month", month="2026-13").status_code == 422  # type: ignore[attr-defined]
    assert rig.get("/api/v1/availability/provinces", window="custom").status_code == 422  # type: ignore[attr-defined]
