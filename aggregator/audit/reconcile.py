"""Match declared cameras (the register) to discovered cameras (what the agents see), and classify.

Pure: rows in, matches out; no database here (see :mod:`aggregator.audit.store` for the
reading and writing). Rules are tried in order of trust, and a camera matched by one rule
is never offered to a later one:

1. operator overrides ("match" pins a pair, "reject" forbids one),
2. serial number (national), 3. MAC address (national),
4. IP address within the declared site (or, without one, unique within the district),
5. position within ``position_m`` metres (greedy, nearest pairs first, on a grid index).

Each match records its rule and a confidence; then each camera gets one class (docs/audit.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aggregator.audit.spatial import GridIndex, haversine_m

__all__ = [
    "Class",
    "Declared",
    "Discovered",
    "Match",
    "Override",
    "ReconcileOptions",
    "Rule",
    "normalize_serial",
    "reconcile",
]


class Class(StrEnum):
    """What reconciliation concludes about one camera."""

    VERIFIED = "verified"  # declared, seen, up now
    BROKEN = "declared_but_broken"  # declared, seen, down/degraded/gone from its site now
    UNCONFIRMED = "unconfirmed"  # declared, seen, but its site is silent or in maintenance now
    GHOST = "ghost"  # declared, never seen by any agent
    UNREGISTERED = "unregistered"  # seen, not declared
    MOVED = "moved"  # same camera, other site or far from the declared position
    REPLACED = "replaced"  # same place, another serial number


class Rule(StrEnum):
    """Which rule paired a declared camera with a discovered one."""

    OPERATOR = "operator"
    SERIAL = "serial"
    MAC = "mac"
    IP_SITE = "ip_site"
    IP_DISTRICT = "ip_district"
    POSITION = "position"
    NONE = "none"


_CONFIDENCE = {Rule.OPERATOR: 1.0, Rule.SERIAL: 0.98, Rule.MAC: 0.95, Rule.IP_SITE: 0.85,
               Rule.IP_DISTRICT: 0.7}
# Serials some firmwares report for every unit: matching on them would pair strangers.
_JUNK_SERIALS = frozenset({"", "0", "-", "NA", "N/A", "NONE", "NULL", "UNKNOWN", "00000000",
                           "000000000000", "123456789", "1234567890", "DEFAULT"})
_USABLE = "up"
_BROKEN_STATES = frozenset({"down", "degraded", "missing"})


def normalize_serial(text: str) -> str:
    """Return the serial as compared: upper case, no spaces; junk values become empty."""
    value = "".join(text.split()).upper()
    return "" if value in _JUNK_SERIALS else value


@dataclass(frozen=True, slots=True)
class Declared:
    """A camera from the register."""

    key: str
    province: str
    district: str
    lat: float
    lon: float
    serial: str = ""
    mac: str = ""
    ip: str = ""
    site: str = ""
    status: str = "unknown"


@dataclass(frozen=True, slots=True)
class Discovered:
    """A camera some agent reports. ``state`` is a protocol CameraState value or "missing"."""

    key: str
    site: str
    province: str
    district: str
    lat: float | None
    lon: float | None
    state: str
    serial: str = ""
    mac: str = ""
    ip: str = ""
    # What the agents saw change (aggregator/store/changes.py): "replaced" = another serial at
    # this camera key (with the earlier serial), "moved" = its scene changed now.
    replaced_from: str = ""
    moved: bool = False


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's decision about a pair: "match" pins it, "reject" forbids it."""

    declared_key: str
    discovered_key: str
    action: str


@dataclass(frozen=True)
class ReconcileOptions:
    """Distances that decide position matches and moves."""

    # A register position is read off a phone or a map: 30 m covers GPS error and the
    # width of a junction without reaching the next pole down the road.
    position_m: float = 30.0
    # Farther than this from its declared position, a camera matched by identity has moved.
    moved_m: float = 150.0
    # Private IP plans repeat between sites: an IP match farther than this is a stranger.
    ip_max_m: float = 2000.0


@dataclass(frozen=True, slots=True)
class Match:
    """One line of the reconciliation: a pair, a lone declared or a lone discovered camera."""

    klass: Class
    declared_key: str | None
    discovered_key: str | None
    rule: Rule
    confidence: float
    distance_m: float | None
    province: str
    district: str
    state: str
    lat: float | None
    lon: float | None
    note: str = ""


def _distance(d: Declared, s: Discovered) -> float | None:
    if s.lat is None or s.lon is None:
        return None
    return haversine_m(d.lat, d.lon, s.lat, s.lon)


class _Pool:
    """Discovered cameras still free, with the pairs operators forbade."""

    def __init__(self, discovered: Sequence[Discovered], rejected: set[tuple[str, str]]) -> None:
        self.by_key = {s.key: s for s in discovered}
        self.free = set(self.by_key)
        self.rejected = rejected

    def allowed(self, d: Declared, s: Discovered) -> bool:
        return s.key in self.free and (d.key, s.key) not in self.rejected


def _identity_rule(declared: list[Declared], pool: _Pool, attr: Callable[[Declared | Discovered], str],
                   rule: Rule, pairs: list[tuple[Declared, Discovered, Rule, float | None]]
                   ) -> list[Declared]:
    """Pair by an identity (serial or MAC); a value seen at several sites is not an identity."""
    index: dict[str, list[Discovered]] = defaultdict(list)
    for key in pool.free:
        s = pool.by_key[key]
        if value := attr(s):
            index[value].append(s)
    left: list[Declared] = []
    for d in declared:
        value = attr(d)
        found = [s for s in index.get(value, ()) if pool.allowed(d, s)] if value else []
        if not found or len({s.site for s in found}) > 1:
            left.append(d)
            continue
        # Several video sources of one device share its serial and MAC: take the nearest.
        best = found[0] if len(found) == 1 else min(
            found, key=lambda s: (_distance(d, s) or 0.0, s.key))
        pool.free.discard(best.key)
        pairs.append((d, best, rule, _distance(d, best)))
    return left


def _ip_rule(declared: list[Declared], pool: _Pool, options: ReconcileOptions,
             pairs: list[tuple[Declared, Discovered, Rule, float | None]]) -> list[Declared]:
    by_site: dict[tuple[str, str], list[Discovered]] = defaultdict(list)
    by_district: dict[tuple[str, str], list[Discovered]] = defaultdict(list)
    for key in pool.free:
        s = pool.by_key[key]
        if s.ip:
            by_site[(s.site, s.ip)].append(s)
            by_district[(s.district, s.ip)].append(s)
    left: list[Declared] = []
    for d in declared:
        if not d.ip:
            left.append(d)
            continue
        rule = Rule.IP_SITE if d.site else Rule.IP_DISTRICT
        found = by_site.get((d.site, d.ip), []) if d.site else by_district.get((d.district, d.ip), [])
        found = [s for s in found if pool.allowed(d, s)
                 and ((dist := _distance(d, s)) is None or dist <= options.ip_max_m)]
        if len(found) != 1:
            left.append(d)
            continue
        pool.free.discard(found[0].key)
        pairs.append((d, found[0], rule, _distance(d, found[0])))
    return left


def _position_rule(declared: list[Declared], pool: _Pool, options: ReconcileOptions,
                   pairs: list[tuple[Declared, Discovered, Rule, float | None]]) -> list[Declared]:
    grid: GridIndex[Discovered] = GridIndex(cell_m=max(options.position_m, 1.0))
    for key in pool.free:
        s = pool.by_key[key]
        if s.lat is not None and s.lon is not None:
            grid.add(s.lat, s.lon, s)
    candidates: list[tuple[float, str, str, Declared, Discovered]] = []
    for d in declared:
        for s, dist in grid.within(d.lat, d.lon, options.position_m):
            if pool.allowed(d, s):
                candidates.append((dist, d.key, s.key, d, s))
    # Nearest pairs first; keys break ties so the result never depends on input order.
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    taken: set[str] = set()
    for dist, _, _, d, s in candidates:
        if d.key in taken or s.key not in pool.free:
            continue
        taken.add(d.key)
        pool.free.discard(s.key)
        pairs.append((d, s, Rule.POSITION, dist))
    return [d for d in declared if d.key not in taken]


def _position_confidence(distance: float, options: ReconcileOptions) -> float:
    return round(0.3 + 0.4 * max(0.0, 1.0 - distance / options.position_m), 3)


def _classify(d: Declared, s: Discovered, rule: Rule, dist: float | None,
              options: ReconcileOptions, serials: dict[int, str]) -> Match:
    confidence = _CONFIDENCE.get(rule) or _position_confidence(dist or 0.0, options)
    notes: list[str] = []
    ds, ss = serials.get(id(d), ""), serials.get(id(s), "")
    if (d.site and d.site != s.site) or (dist is not None and dist > options.moved_m):
        klass = Class.MOVED
        notes.append(f"declared site {d.site}, seen at {s.site}" if d.site and d.site != s.site
                     else f"seen {dist:.0f} m from the declared position")
    elif ds and ss and ds != ss:
        # Same place (not moved), another serial: the declared unit was swapped out.
        klass = Class.REPLACED
    elif s.moved:
        # It exists, but its picture no longer shows the scene it was set up for.
        klass = Class.MOVED
        notes.append("the camera's scene changed: turned or moved on its mount")
    elif s.replaced_from:
        # The register holds no serial to compare, but the agents saw the unit swapped.
        klass = Class.REPLACED
        notes.append(f"serial changed at this address: {s.replaced_from} -> {ss or s.serial}")
    elif s.state == _USABLE:
        klass = Class.VERIFIED
    elif s.state in _BROKEN_STATES:
        klass = Class.BROKEN
    else:
        klass = Class.UNCONFIRMED
    if ds and ss and ds != ss:
        notes.append(f"declared serial {ds}, seen {ss}")
    if d.status == "broken" and s.state == _USABLE:
        notes.append("register says broken, camera works")
    elif d.status == "working" and s.state in _BROKEN_STATES:
        notes.append("register says working, camera is not")
    return Match(klass, d.key, s.key, rule, confidence, None if dist is None else round(dist, 2),
                 s.province, s.district, s.state, s.lat, s.lon, "; ".join(notes))


def reconcile(declared: Iterable[Declared], discovered: Iterable[Discovered],
              overrides: Iterable[Override] = (),
              options: ReconcileOptions | None = None) -> list[Match]:
    """Return one Match per pair, per unmatched declared and per unmatched discovered camera."""
    options = options or ReconcileOptions()
    decl = sorted(declared, key=lambda d: d.key)
    disc = list(discovered)
    overrides = list(overrides)
    pool = _Pool(disc, {(o.declared_key, o.discovered_key) for o in overrides
                        if o.action == "reject"})
    by_decl = {d.key: d for d in decl}
    pairs: list[tuple[Declared, Discovered, Rule, float | None]] = []
    pinned: set[str] = set()
    for o in sorted(overrides, key=lambda o: (o.declared_key, o.discovered_key)):
        d, s = by_decl.get(o.declared_key), pool.by_key.get(o.discovered_key)
        if o.action != "match" or d is None or s is None or d.key in pinned or s.key not in pool.free:
            continue
        pinned.add(d.key)
        pool.free.discard(s.key)
        pairs.append((d, s, Rule.OPERATOR, _distance(d, s)))
    left = [d for d in decl if d.key not in pinned]
    # Normalise each serial once: the rule and the classification both compare them.
    serials = {id(x): normalize_serial(x.serial) for x in decl if x.serial}
    serials.update((id(x), normalize_serial(x.serial)) for x in disc if x.serial)
    left = _identity_rule(left, pool, lambda x: serials.get(id(x), ""), Rule.SERIAL, pairs)
    left = _identity_rule(left, pool, lambda x: x.mac.lower(), Rule.MAC, pairs)
    left = _ip_rule(left, pool, options, pairs)
    left = _position_rule(left, pool, options, pairs)
    out = [_classify(d, s, rule, dist, options, serials) for d, s, rule, dist in pairs]
    out.extend(Match(Class.GHOST, d.key, None, Rule.NONE, 1.0, None, d.province, d.district, "",
                     d.lat, d.lon, "") for d in left)
    out.extend(Match(Class.UNREGISTERED, None, s.key, Rule.NONE, 1.0, None, s.province,
                     s.district, s.state, s.lat, s.lon, "")
               for key in sorted(pool.free) if (s := pool.by_key[key]))
    return out
