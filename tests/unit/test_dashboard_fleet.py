"""The demo's fleet plan: every province first, valid ids, reproducible."""

from __future__ import annotations

from aggregator.geography import Geography
from deploy.demo.fleet import plan_fleet
from protocol.topics import site_topic


def _pairs() -> list[tuple[str, str]]:
    geo = Geography.from_geothai()
    return [(d.province, d.code) for d in geo.districts.values()]


def test_every_province_gets_a_site_before_any_gets_two() -> None:
    plan = plan_fleet(_pairs(), 100, (3, 5))
    assert len({s.province for s in plan[:77]}) == 77
    assert len({s.site_id for s in plan}) == 100
    for s in plan:
        site_topic(s.province, s.district, s.site_id, "birth")  # valid codes and ids, district in province
        assert 3 <= len(s.cameras) <= 5 and 0 < s.failure_rate * 90 <= 0.15


def test_plan_is_reproducible() -> None:
    assert plan_fleet(_pairs(), 80, (2, 4), seed=3) == plan_fleet(_pairs(), 80, (2, 4), seed=3)
