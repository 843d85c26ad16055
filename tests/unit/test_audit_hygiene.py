"""Hygiene flags: default password, old firmware (robust versions), clock skew; province rollup (issue 8)."""

from __future__ import annotations

import pytest

from aggregator.audit.hygiene import Flag, FleetCamera, hygiene_flags, rollup, version_key

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("older", "newer"), [
    ("V5.9.0", "V5.10.0"),  # numbers, not text
    ("V5.5.82 build 180101", "V5.5.82 build 190220"),
    ("1.2.0-rc3", "1.2.0"),  # a release beats its candidate
    ("1.2.0-beta", "1.2.1-dev"),
    ("2.800.0000000.15.R", "2.800.0000000.16.R"),
    ("9.80.3", "10.2"),
])
def test_version_order(older: str, newer: str) -> None:
    a, b = version_key(older), version_key(newer)
    assert a is not None and b is not None and a < b


def test_version_equal_forms_and_no_number() -> None:
    assert version_key("5.5") == version_key("V5.5.0")
    assert version_key("device firmware 5.1") == version_key("5.1")  # "dev" inside a word is no marker
    assert version_key("latest") is None


def fleet() -> list[FleetCamera]:
    return [
        FleetCamera("a/1", "10", "Hikvision", "DS-2CD2143", "V5.5.0", default_password=True),
        FleetCamera("a/2", "10", "HIKVISION", "ds-2cd2143 ", "V5.7.3", clock_offset_s=12.0),
        FleetCamera("b/1", "50", "Hikvision", "DS-2CD2143", "V5.6.1", clock_offset_s=-900.0),
        FleetCamera("b/2", "50", "Dahua", "IPC-HFW", "2.800.0.16", default_password=False),
        FleetCamera("b/3", "50", "Axis", "", "9.80", clock_offset_s=300.0),  # limit is not over it
        FleetCamera("b/4", "50", "Axis", "P1375", "unknown"),
    ]


def test_flags_per_camera() -> None:
    flags = {f.key: f for f in hygiene_flags(fleet())}
    assert flags["a/1"].flags == (Flag.DEFAULT_PASSWORD, Flag.OLD_FIRMWARE)
    assert flags["a/1"].newest_firmware == "V5.7.3"
    assert flags["b/1"].flags == (Flag.OLD_FIRMWARE, Flag.CLOCK_SKEW)
    assert set(flags) == {"a/1", "b/1"}


def test_rollup_per_province() -> None:
    cams = fleet()
    got = {p.province: p for p in rollup(cams, hygiene_flags(cams))}
    assert (got["10"].cameras, got["10"].default_password, got["10"].old_firmware, got["10"].flagged) == (2, 1, 1, 1)
    assert (got["50"].cameras, got["50"].clock_skew, got["50"].flagged) == (4, 1, 1)
