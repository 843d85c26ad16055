"""Security hygiene flags per camera, from what the agents report, rolled up per province.

The agent reports facts only: whether a known default password works (never the password),
the firmware string, the clock offset. Flags:

* ``default_password``: a known default password opens the camera.
* ``old_firmware``: older than the newest firmware seen in the fleet for the same maker and
  model (:func:`version_key` compares vendor strings such as "V5.5.82 build 190220").
* ``clock_skew``: the camera clock is off by more than ``clock_limit_s`` (breaks ONVIF
  authentication and evidence timestamps).
* ``advisory``: its maker, model and firmware match a known vulnerability of the advisories
  list (:mod:`aggregator.audit.advisories`); the caller passes the matches in.
* ``replaced``: the agents saw another serial at this camera within the last 30 days
  (aggregator/store/changes.py): an unplanned swap brings factory settings and passwords.
* ``rebooting``: the camera rebooted ``REBOOTS_LIMIT`` times or more within the last 7 days
  (power, PoE budget or a firmware fault).

Sites are flagged too: a site gateway whose own clock is off by more than the store's
tolerance (``store.clock_skew_tolerance_s``, measured on every message by
:mod:`aggregator.store.clocks`) is listed by :func:`skewed_sites` with a technician hint.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from aggregator.store.clocks import CLOCK_SKEW_HINT

__all__ = [
    "CLOCK_LIMIT_S",
    "CameraFlags",
    "SiteClockFlag",
    "Flag",
    "FleetCamera",
    "ProvinceHygiene",
    "hygiene_flags",
    "load_fleet",
    "rollup",
    "skewed_sites",
    "version_key",
]

# WS-UsernameToken digests are refused by most cameras beyond about 5 minutes of skew,
# and a clock that far off makes recorded evidence hard to use in court.
CLOCK_LIMIT_S = 300.0
# Change events counted by the hygiene flags (issue 16): reboots a week, swaps a month.
REBOOTS_LIMIT = 3
REBOOT_WINDOW_MS = 7 * 86_400_000
REPLACED_WINDOW_MS = 30 * 86_400_000
# Only whole words: "device" or "prefix" in a vendor string is no pre-release marker.
_PRERELEASE = re.compile(r"(?<![a-z])(alpha|beta|rc|pre|dev)(?![a-z])", re.IGNORECASE)


class Flag(StrEnum):
    """One hygiene problem."""

    DEFAULT_PASSWORD = "default_password"
    OLD_FIRMWARE = "old_firmware"
    CLOCK_SKEW = "clock_skew"
    ADVISORY = "advisory"
    REPLACED = "replaced"
    REBOOTING = "rebooting"


@dataclass(frozen=True, slots=True)
class FleetCamera:
    """What hygiene needs to know about one camera."""

    key: str
    province: str
    maker: str = ""
    model: str = ""
    firmware: str = ""
    default_password: bool | None = None
    clock_offset_s: float | None = None
    replaced: bool = False  # another serial seen within REPLACED_WINDOW_MS
    reboots: int = 0  # reboots seen within REBOOT_WINDOW_MS


@dataclass(frozen=True, slots=True)
class CameraFlags:
    """The flags of one camera (only cameras with at least one flag are listed)."""

    key: str
    province: str
    flags: tuple[Flag, ...]
    firmware: str
    newest_firmware: str
    clock_offset_s: float | None
    cves: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProvinceHygiene:
    """Counts per province."""

    province: str
    cameras: int
    default_password: int
    old_firmware: int
    clock_skew: int
    flagged: int
    advisory: int = 0
    replaced: int = 0
    rebooting: int = 0


def version_key(text: str) -> tuple[tuple[int, ...], int, tuple[int, ...]] | None:
    """Return a sortable key for a firmware string, or None when it holds no number.

    Numbers are compared as numbers ("V5.10" > "V5.9"), letters are ignored ("V", "build"),
    trailing zeros do not count ("5.5" == "5.5.0"), and a pre-release ("1.2.0-rc3") sorts
    before its release.
    """
    marker = _PRERELEASE.search(text)
    head, tail = (text[:marker.start()], text[marker.end():]) if marker else (text, "")
    release = [int(n) for n in re.findall(r"\d+", head)]
    if not release:
        return None
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = tuple(int(n) for n in re.findall(r"\d+", tail))
    return (tuple(release), 0 if marker else 1, pre)


def _model_key(cam: FleetCamera) -> tuple[str, str] | None:
    maker, model = cam.maker.strip().lower(), cam.model.strip().lower()
    return (maker, model) if model else None


def hygiene_flags(cameras: Iterable[FleetCamera], *, clock_limit_s: float = CLOCK_LIMIT_S,
                  advised: Mapping[str, Sequence[str]] | None = None) -> list[CameraFlags]:
    """Flag each camera that has a default password, old firmware, a far-off clock or (with
    ``advised``: camera key -> CVEs) firmware under a known vulnerability."""
    fleet = list(cameras)
    newest: dict[tuple[str, str], tuple[Any, str]] = {}
    for cam in fleet:
        model, key = _model_key(cam), version_key(cam.firmware)
        if model is None or key is None:
            continue
        if model not in newest or key > newest[model][0]:
            newest[model] = (key, cam.firmware.strip())
    out: list[CameraFlags] = []
    for cam in fleet:
        flags: list[Flag] = []
        if cam.default_password:
            flags.append(Flag.DEFAULT_PASSWORD)
        model, key = _model_key(cam), version_key(cam.firmware)
        best = newest.get(model) if model is not None else None
        if key is not None and best is not None and key < best[0]:
            flags.append(Flag.OLD_FIRMWARE)
        if cam.clock_offset_s is not None and abs(cam.clock_offset_s) > clock_limit_s:
            flags.append(Flag.CLOCK_SKEW)
        cves = tuple(sorted(set((advised or {}).get(cam.key, ()))))
        if cves:
            flags.append(Flag.ADVISORY)
        if cam.replaced:
            flags.append(Flag.REPLACED)
        if cam.reboots >= REBOOTS_LIMIT:
            flags.append(Flag.REBOOTING)
        if flags:
            out.append(CameraFlags(cam.key, cam.province, tuple(flags), cam.firmware,
                                   best[1] if best else "", cam.clock_offset_s, cves))
    return out


def rollup(cameras: Sequence[FleetCamera], flagged: Iterable[CameraFlags]) -> list[ProvinceHygiene]:
    """Count cameras and flags per province, sorted by province code."""
    total: dict[str, int] = defaultdict(int)
    for cam in cameras:
        total[cam.province] += 1
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in flagged:
        counts[f.province]["flagged"] += 1
        for flag in f.flags:
            counts[f.province][flag.value] += 1
    return [
        ProvinceHygiene(p, total[p], counts[p]["default_password"], counts[p]["old_firmware"],
                        counts[p]["clock_skew"], counts[p]["flagged"], counts[p]["advisory"], counts[p]["replaced"],
                        counts[p]["rebooting"])
        for p in sorted(total)
    ]


@dataclass(frozen=True, slots=True)
class SiteClockFlag:
    """A site whose gateway clock is off, with what to do about it."""

    site_id: str
    province: str
    clock_offset_s: float | None
    checked_ms: int | None
    hint: str = CLOCK_SKEW_HINT


def skewed_sites(db: Database, province: str | None = None) -> list[SiteClockFlag]:
    """Sites flagged ``clock_skew`` now, the furthest off first."""
    sql = ("SELECT site_id, province, clock_offset_ms, clock_checked_ms FROM sites WHERE clock_skew = 1"
           + (" AND province = ?" if province else "") + " ORDER BY ABS(COALESCE(clock_offset_ms, 0)) DESC, site_id")
    return [SiteClockFlag(site, prov, None if off is None else off / 1000, checked)
            for site, prov, off, checked in db.conn.execute(sql, [province] if province else [])]  # fmt: skip


def load_fleet(db: Database, province: str | None = None, *, now_ms: int | None = None) -> list[FleetCamera]:
    """Read every present camera's hygiene facts (never a secret: none is stored); with
    ``now_ms``, also its recent change events (replaced, reboots)."""
    if now_ms is None:
        return [FleetCamera(k, p, m, mo, fw, dp, clock) for k, p, m, mo, fw, dp, clock in _fleet_rows(db, province, "")]
    changes = (", EXISTS (SELECT 1 FROM camera_changes ch WHERE ch.camera = c.id AND ch.kind = 'serial' "
               f"AND ch.at_ms >= {int(now_ms - REPLACED_WINDOW_MS)}), (SELECT count(*) FROM camera_changes ch "
               f"WHERE ch.camera = c.id AND ch.kind = 'rebooted' AND ch.at_ms >= {int(now_ms - REBOOT_WINDOW_MS)})")
    return [FleetCamera(k, p, m, mo, fw, dp, clock, bool(swapped), int(reboots))
            for k, p, m, mo, fw, dp, clock, swapped, reboots in _fleet_rows(db, province, changes)]


def _fleet_rows(db: Database, province: str | None, extra: str) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT s.site_id || '/' || c.camera_id, s.province, c.maker, c.model, c.firmware, "
        f"c.default_password, c.clock_offset_s{extra} FROM cameras c JOIN sites s ON s.id = c.site "
        "WHERE c.missing = 0"
    )
    params: list[Any] = []
    if province:
        sql += " AND s.province = ?"
        params.append(province)
    return [(*row[:5], None if row[5] is None else bool(row[5]), *row[6:]) for row in db.conn.execute(sql, params)]
