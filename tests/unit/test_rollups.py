"""Rollups over any window equal brute-force integration of every camera's timeline (issue 5)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.availability import Totals, Window
from aggregator.days import day_of, day_start, from_ms, to_ms
from aggregator.geography import load_geography
from aggregator.schema import open_db
from aggregator.states import STATE_CODE
from aggregator.store.rollups import Level, camera_totals, rollup_totals
from aggregator.store.state import Inbound, StateStore
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


# -- maintenance windows count as maintenance (issue 6 item 3) --------------------------------

def brute_planned(timeline: list[tuple[int, int]], spans: list[tuple[int, int]], a: int, b: int) -> list[int]:
    """Milliseconds per state over [a, b), any instant inside a span counted as maintenance:
    integrate piece by piece between every timeline point and span edge (no span maths)."""
    out = [0] * 5
    points = sorted(timeline, key=lambda p: p[0])
    cuts = sorted({a, b, *(p[0] for p in points), *(x for s in spans for x in s)})
    cuts = [c for c in cuts if a <= c <= b]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        state = -1
        for t, s in points:  # the last row at or before lo (insertion order breaks ties)
            if t <= lo:
                state = s
        if state < 0 or hi <= lo:
            continue
        inside = any(s0 <= lo and hi <= s1 for s0, s1 in spans)
        out[4 if inside else state] += hi - lo
    return out


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_rollups_with_maintenance_windows_match_brute_force(seed: int) -> None:
    from aggregator.store.maintenance import MaintenanceCalendar, WindowSpec, load_windows

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
    for _ in range(40):
        now += timedelta(minutes=rng.randint(10, 240))
        site = rng.choice(list(SITES))
        prov, dist, _ = SITES[site]
        cam = f"{site}-c{rng.randint(0, 2)}"
        at = max(T0 + timedelta(seconds=1), now - timedelta(minutes=rng.choice([0, rng.randint(1, 900)])))
        state = rng.choice(list(CameraState))
        ids[site] += 1
        evs = [Event(id=ids[site], camera_id=cam, at=at, state=state)]
        timelines[(site, cam)].append((to_ms(at), STATE_CODE[state]))
        store.apply([Inbound(SiteTopic(prov, dist, site, Kind.EVENTS), Events(site=site, ts=now, seq=1, events=evs), now)])
    horizon = to_ms(now)
    cal = MaintenanceCalendar(db)
    specs = [
        WindowSpec(target_kind="district", target_id="1001", starts_at=T0 + timedelta(hours=5),
                   ends_at=T0 + timedelta(hours=9)),
        # weekly, 22:00 Bangkok for 4 h: crosses Bangkok midnight every week
        WindowSpec(target_kind="site", target_id="s1", weekday=from_ms(horizon).weekday(),
                   start_time=datetime(2026, 1, 1, 22, 0).time(), duration_min=240),
        WindowSpec(target_kind="site", target_id="s1", weekday=(from_ms(horizon).weekday() + 1) % 7,
                   start_time=datetime(2026, 1, 1, 22, 0).time(), duration_min=240),
        WindowSpec(target_kind="camera", target_id="s1-c1", starts_at=T0 + timedelta(hours=7),
                   ends_at=T0 + timedelta(hours=30)),
        WindowSpec(target_kind="camera", target_id="s2-c0", starts_at=T0 + timedelta(hours=2),
                   ends_at=T0 + timedelta(hours=3)),
        WindowSpec(target_kind="site", target_id="s3", starts_at=T0 + timedelta(hours=20),
                   ends_at=T0 + timedelta(hours=44)),
        WindowSpec(target_kind="district", target_id="1002", weekday=(from_ms(horizon).weekday() + 6) % 7,
                   start_time=datetime(2026, 1, 1, 1, 30).time(), duration_min=600),
    ]  # fmt: skip
    for spec in specs:
        cal.add(spec, T0)
    planned = load_windows(db)

    def spans_of(site: str, cam: str, w: Window) -> list[tuple[int, int]]:
        targets = {("district", SITES[site][1]), ("site", site), ("camera", cam)}
        return [(to_ms(a), to_ms(b)) for pw in planned if (pw.target_kind.value, pw.target_id) in targets
                for a, b in pw.occurrences(from_ms(w.start_ms), from_ms(w.end_ms))]  # fmt: skip

    def expected(keep: set[tuple[str, str]], w: Window) -> Totals:
        total = Totals()
        for key in keep:
            total = total + Totals.of(brute_planned(timelines[key], spans_of(*key, w), w.start_ms, w.end_ms))
        return total

    groups = {
        (Level.NATION, None): set(timelines),
        (Level.PROVINCE, "10"): {k for k in timelines if SITES[k[0]][0] == "10"},
        (Level.DISTRICT, "1001"): {k for k in timelines if k[0] == "s1"},
        (Level.DISTRICT, "1002"): {k for k in timelines if k[0] == "s2"},
        (Level.AGENCY, "police"): {k for k in timelines if SITES[k[0]][2] == "police"},
        (Level.SITE, "s1"): {k for k in timelines if k[0] == "s1"},
        (Level.SITE, "s2"): {k for k in timelines if k[0] == "s2"},
    }
    windows = [Window(to_ms(T0), horizon), Window(horizon - 3_600_000, horizon)]
    for _ in range(5):
        a = rng.randint(to_ms(T0) - 3_600_000, horizon - 1)
        windows.append(Window(a, rng.randint(a + 1, horizon)))
    for w in windows:
        for (level, key), keep in groups.items():
            want = expected(keep, w)
            assert rollup_totals(db, level, key, w) == want, (level, key, w)
            assert rollup_totals(db, level, key, w, live=store, now_ms=horizon) == want, ("live", level, key, w)
        for site, cam_id in [("s1", "s1-c1"), ("s2", "s2-c0"), ("s3", "s3-c2")]:
            cam = store.site_by_name[site].cameras[cam_id]
            assert camera_totals(db, cam, w) == expected({(site, cam_id)}, w), (cam_id, w)
    # the windows did move time: some maintenance where no camera reported it
    assert rollup_totals(db, Level.NATION, None, windows[0]).maint_ms > 0
