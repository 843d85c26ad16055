"""Reconciliation of declared and discovered cameras: every rule and every class (issue 8)."""

from __future__ import annotations

import random

import pytest

from aggregator.audit.reconcile import (
    Class,
    Declared,
    Discovered,
    Match,
    Override,
    ReconcileOptions,
    Rule,
    normalize_serial,
    reconcile,
)
from aggregator.audit.spatial import haversine_m

pytestmark = pytest.mark.timeout(60)

LAT, LON = 18.7877, 98.9931
# One metre north in degrees of latitude (the sphere of aggregator.audit.spatial).
M = 1 / 111_195.08


def decl(key: str, dlat_m: float = 0.0, **kw: str) -> Declared:
    return Declared(key=key, province="50", district="5001", lat=LAT + dlat_m * M, lon=LON, **kw)


def disc(key: str, dlat_m: float | None = 0.0, state: str = "up", site: str = "cm-01",
         **kw: str) -> Discovered:
    lat = None if dlat_m is None else LAT + dlat_m * M
    return Discovered(key=key, site=site, province="50", district="5001", lat=lat,
                      lon=None if dlat_m is None else LON, state=state, **kw)


def by_declared(matches: list[Match]) -> dict[str | None, Match]:
    return {m.declared_key: m for m in matches if m.declared_key}


def test_serial_match_is_verified_when_up() -> None:
    (m,) = reconcile([decl("d1", serial="abc 123")], [disc("s/1", 500, serial="ABC123", ip="10.0.0.9")])
    assert (m.klass, m.rule, m.discovered_key) == (Class.MOVED, Rule.SERIAL, "s/1")
    (m,) = reconcile([decl("d1", serial="ABC123")], [disc("s/1", 40, serial="ABC123")])
    assert (m.klass, m.rule, m.confidence) == (Class.VERIFIED, Rule.SERIAL, 0.98)
    assert m.distance_m == pytest.approx(40, abs=0.01)


@pytest.mark.parametrize(("state", "klass"), [
    ("up", Class.VERIFIED), ("degraded", Class.BROKEN), ("down", Class.BROKEN),
    ("missing", Class.BROKEN), ("unknown", Class.UNCONFIRMED), ("maintenance", Class.UNCONFIRMED),
])
def test_class_follows_the_state_now(state: str, klass: Class) -> None:
    (m,) = reconcile([decl("d1", mac="aa:bb:cc:dd:ee:ff")],
                     [disc("s/1", state=state, mac="aa:bb:cc:dd:ee:ff")])
    assert (m.klass, m.rule, m.state) == (klass, Rule.MAC, state)


def test_register_status_disagreeing_with_the_agent_is_noted() -> None:
    (m,) = reconcile([decl("d1", serial="X1", status="broken")], [disc("s/1", serial="X1")])
    assert m.klass is Class.VERIFIED and "register says broken" in m.note
    (m,) = reconcile([decl("d1", serial="X1", status="working")], [disc("s/1", serial="X1", state="down")])
    assert m.klass is Class.BROKEN and "register says working" in m.note


def test_ghost_and_unregistered() -> None:
    matches = reconcile([decl("d1", serial="A")], [disc("s/9", 5000, serial="B")])
    assert {(m.klass, m.declared_key, m.discovered_key) for m in matches} == {
        (Class.GHOST, "d1", None), (Class.UNREGISTERED, None, "s/9")}


def test_moved_by_site_or_distance() -> None:
    (m,) = reconcile([decl("d1", serial="A", site="cm-01")], [disc("s/1", site="cm-02", serial="A")])
    assert m.klass is Class.MOVED and "declared site cm-01" in m.note
    (m,) = reconcile([decl("d1", serial="A")], [disc("s/1", 151, serial="A")])
    assert m.klass is Class.MOVED
    (m,) = reconcile([decl("d1", serial="A")], [disc("s/1", 149, serial="A")])
    assert m.klass is Class.VERIFIED


def test_replaced_same_place_other_serial() -> None:
    (m,) = reconcile([decl("d1", serial="OLD")], [disc("s/1", 10, serial="NEW")])
    assert (m.klass, m.rule) == (Class.REPLACED, Rule.POSITION)
    assert "declared serial OLD, seen NEW" in m.note


def test_ip_within_the_declared_site_only() -> None:
    matches = reconcile([decl("d1", ip="192.168.1.10", site="cm-02")],
                        [disc("a/1", 3000, site="cm-01", ip="192.168.1.10"),
                         disc("b/1", 1000, site="cm-02", ip="192.168.1.10")])
    m = by_declared(matches)["d1"]
    assert (m.rule, m.discovered_key, m.confidence) == (Rule.IP_SITE, "b/1", 0.85)


def test_ip_without_site_needs_a_unique_near_camera_in_the_district() -> None:
    (m, _) = sorted(reconcile([decl("d1", ip="192.168.1.10")],
                              [disc("a/1", 500, ip="192.168.1.10"), disc("b/1", 900, ip="192.168.1.11")]),
                    key=lambda m: m.klass)
    assert (m.rule, m.discovered_key) == (Rule.IP_DISTRICT, "a/1")
    ambiguous = reconcile([decl("d1", ip="192.168.1.10")],
                          [disc("a/1", 500, ip="192.168.1.10"), disc("b/1", 900, ip="192.168.1.10")])
    assert by_declared(ambiguous)["d1"].klass is Class.GHOST
    too_far = reconcile([decl("d1", ip="192.168.1.10")], [disc("a/1", 2500, ip="192.168.1.10")])
    assert by_declared(too_far)["d1"].klass is Class.GHOST


def test_position_pairs_nearest_first_and_respects_the_distance() -> None:
    matches = reconcile([decl("d1", 0), decl("d2", 25)],
                        [disc("s/a", 18), disc("s/b", 2), disc("s/c", 200)])
    got = by_declared(matches)
    assert got["d1"].discovered_key == "s/b" and got["d2"].discovered_key == "s/a"
    assert got["d1"].rule is Rule.POSITION
    assert got["d1"].confidence > got["d2"].confidence
    assert [m.discovered_key for m in matches if m.klass is Class.UNREGISTERED] == ["s/c"]
    edge = reconcile([decl("d1", 0)], [disc("s/x", 30.5)], options=ReconcileOptions(position_m=30))
    assert by_declared(edge)["d1"].klass is Class.GHOST


def test_rules_apply_in_order_serial_before_position() -> None:
    matches = reconcile([decl("d1", serial="A")], [disc("near", 1), disc("far", 120, serial="A")])
    assert by_declared(matches)["d1"].discovered_key == "far"


def test_a_serial_seen_at_two_sites_is_no_identity() -> None:
    matches = reconcile([decl("d1", 0, serial="DUP")],
                        [disc("a/1", 5000, site="a", serial="DUP"), disc("b/1", 6000, site="b", serial="DUP")])
    assert by_declared(matches)["d1"].klass is Class.GHOST
    assert normalize_serial(" n/a ") == ""


def test_channels_of_one_device_share_a_serial() -> None:
    matches = reconcile([decl("d1", 0, serial="NVR")],
                        [disc("s/ch2", 12, serial="NVR"), disc("s/ch1", 3, serial="NVR")])
    assert by_declared(matches)["d1"].discovered_key == "s/ch1"


def test_operator_match_and_reject_overrides() -> None:
    declared = [decl("d1", 0, serial="A")]
    discovered = [disc("s/1", 0, serial="A"), disc("s/2", 5000)]
    pinned = reconcile(declared, discovered, [Override("d1", "s/2", "match")])
    m = by_declared(pinned)["d1"]
    assert (m.rule, m.discovered_key, m.confidence) == (Rule.OPERATOR, "s/2", 1.0)
    assert m.klass is Class.MOVED  # the operator's pair is still judged on its distance
    rejected = reconcile(declared, discovered, [Override("d1", "s/1", "reject")])
    assert by_declared(rejected)["d1"].klass is Class.GHOST
    stale = reconcile(declared, discovered, [Override("gone", "s/1", "match")])
    assert by_declared(stale)["d1"].rule is Rule.SERIAL


def test_result_does_not_depend_on_input_order() -> None:
    rng = random.Random(8)
    declared = [decl(f"d{i}", rng.uniform(0, 300), serial=f"S{i}" if i % 3 else "") for i in range(60)]
    discovered = [disc(f"s/{i}", rng.uniform(0, 300), serial=f"S{i}" if i % 4 else "") for i in range(60)]
    a = sorted(reconcile(declared, discovered), key=repr)
    rng.shuffle(declared)
    rng.shuffle(discovered)
    b = sorted(reconcile(declared, discovered), key=repr)
    assert a == b


def test_every_camera_appears_exactly_once() -> None:
    rng = random.Random(3)
    declared = [decl(f"d{i}", rng.uniform(0, 2000), ip=f"10.0.0.{i % 50}") for i in range(200)]
    discovered = [disc(f"s/{i}", rng.uniform(0, 2000), ip=f"10.0.0.{i % 70}") for i in range(150)]
    matches = reconcile(declared, discovered)
    assert sorted(m.declared_key for m in matches if m.declared_key) == sorted(d.key for d in declared)
    assert sorted(m.discovered_key for m in matches if m.discovered_key) == sorted(s.key for s in discovered)


def test_missing_position_cannot_match_by_position() -> None:
    matches = reconcile([decl("d1")], [disc("s/1", None)])
    assert {m.klass for m in matches} == {Class.GHOST, Class.UNREGISTERED}
    assert haversine_m(LAT, LON, LAT + 30 * M, LON) == pytest.approx(30, abs=1e-6)
