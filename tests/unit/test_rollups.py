"""Rollups over any window equal brute-force integration of every camera's timeline (issue 5)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.availability import Totals, Window
from aggregator.days import day_of, day_start, from_ms, to_ms
from aggregator.db import open_db
from aggregator.geography import load_geography
from aggregator.rollups import Level, camera_totals, rollup_totals
from aggregator.state import STATE_CODE, Inbound, StateStore
from protocol import Birth, BirthCamera, CameraState, Event, Events, Kind, SiteInfo, SiteTopic
from tests.unit.test_state_store import brute

T0 = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)
SITES = {"s1": ("10", "1001", "police"), "s2": ("10", "1002", "city"), "s3": ("50", "5001", "police")}


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15, 16])
def test_rollups_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    db = open_db(":memory:")
    store = StateStore(db, load_geography(db), start=T0)
    timelines: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for site, (prov, dist, agency) in SITES.items():
        cams = [f"{site}-c{i}" for i in range(3)]
        msg = Birth(site=site, ts=T0, bd_seq=0, site_info=SiteInfo(agency=agency),
                    cameras=[BirthCamera(camera_id=c, state=CameraState.UP, since=T0) for c in cams])  # fmt: skip
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.BIRTH), msg, T0)])
        for c in cams:
            timelines[(site, c)] = [(to_ms(T0), 0)]
    now = T0
    ids = dict.fromkeys(SITES, 0)
    for _ in range(60):
        now += timedelta(minutes=rng.randint(10, 240))
        site = rng.choice(list(SITES))
        prov, dist, _ = SITES[site]
        evs = []
        for _ in range(rng.randint(1, 3)):
            cam = f"{site}-c{rng.randint(0, 2)}"
            at = max(T0 + timedelta(seconds=1), now - timedelta(minutes=rng.choice([0, 0, rng.randint(1, 2000)])))
            if rng.random() < 0.15:  # exactly at a Bangkok midnight
                at = max(T0 + timedelta(seconds=1), from_ms(day_start(day_of(to_ms(at)))))
            state = rng.choice(list(CameraState))
            ids[site] += 1
            evs.append(Event(id=ids[site], camera_id=cam, at=at, state=state))
            timelines[(site, cam)].append((to_ms(at), STATE_CODE[state]))
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.EVENTS), Events(site=site, ts=now, seq=1, events=evs), now)])
    horizon = to_ms(now)
    windows = [Window(to_ms(T0), horizon), Window(horizon - 3_600_000, horizon)]
    for _ in range(8):
        a = rng.randint(to_ms(T0) - 3_600_000, horizon - 1)
        windows.append(Window(a, rng.randint(a + 1, horizon)))

    def expected(keep: set[tuple[str, str]], w: Window) -> Totals:
        total = Totals()
        for key in keep:
            total = total + Totals.of(brute(timelines[key], w.start_ms, w.end_ms))
        return total

    groups = {
        (Level.NATION, None): set(timelines),
        (Level.PROVINCE, "10"): {k for k in timelines if SITES[k[0]][0] == "10"},
        (Level.DISTRICT, "1002"): {k for k in timelines if k[0] == "s2"},
        (Level.AGENCY, "police"): {k for k in timelines if SITES[k[0]][2] == "police"},
        (Level.SITE, "s3"): {k for k in timelines if k[0] == "s3"},
    }
    day0 = day_start(day_of(horizon))
    windows += [Window(day0, horizon), Window(day0 + 1000, horizon), Window(day0 - 5_000_000, horizon)]
    for w in windows:
        for (level, key), keep in groups.items():
            assert rollup_totals(db, level, key, w) == expected(keep, w), (level, key, w)
            # with the writer's memory (recent transitions, live counts, open intervals)
            live = rollup_totals(db, level, key, w, live=store, now_ms=horizon)
            assert live == expected(keep, w), ("live", level, key, w)
        cam = store.site_by_name["s1"].cameras["s1-c1"]
        assert camera_totals(db, cam, w) == expected({("s1", "s1-c1")}, w)
