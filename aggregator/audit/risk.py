"""Risk points (accident black spots, crime hotspots, border points) and the cameras covering them.

A point is covered when at least ``required`` usable cameras lie within its radius. "Within"
is distance <= radius (a camera exactly on the circle counts), with a millimetre allowed for
floating-point rounding. Over the last 30 days a camera counts when its usable fraction
(up time / known time, DESIGN.md; :mod:`aggregator.audit.risk_store` reads it exactly from core's
per-camera totals) reached ``usable_30d_min``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aggregator.audit.rows import (
    normalize_header,
    parse_coordinate,
    position_problem,
    resolve_province,
)
from aggregator.audit.spatial import GridIndex, haversine_m

__all__ = [
    "RISK_ALIASES",
    "RISK_REQUIRED",
    "Coverage",
    "CoverageCamera",
    "RiskKind",
    "RiskPoint",
    "RiskPointRow",
    "coverage",
    "parse_risk_row",
    "rank_uncovered",
]

# Float rounding in haversine: a camera placed exactly on the circle must count.
BOUNDARY_TOLERANCE_M = 0.001
# Grid cell for the camera index: about the typical radius, so a query reads ~9 cells.
_CELL_M = 200.0
MAX_RADIUS_M = 5000.0


class RiskKind(StrEnum):
    """Why a place needs a camera."""

    ACCIDENT = "accident"
    CRIME = "crime"
    BORDER = "border"
    OTHER = "other"


_KIND_WORDS: dict[str, RiskKind] = {}
for _kind, _words in {
    RiskKind.ACCIDENT: ("accident", "black spot", "blackspot", "road", "อุบัติเหตุ",
                        "จุดเสี่ยงอุบัติเหตุ", "จุดอันตราย"),
    RiskKind.CRIME: ("crime", "hotspot", "crime hotspot", "อาชญากรรม", "จุดเสี่ยงอาชญากรรม"),
    RiskKind.BORDER: ("border", "border point", "checkpoint", "ชายแดน", "จุดผ่านแดน", "ด่าน"),
    RiskKind.OTHER: ("other", "อื่นๆ", "อื่น ๆ"),
}.items():
    for _w in _words:
        _KIND_WORDS[normalize_header(_w)] = _kind

RISK_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "point name", "ชื่อ", "ชื่อจุด", "ชื่อจุดเสี่ยง", "จุดเสี่ยง"),
    "kind": ("kind", "type", "category", "ประเภท", "ประเภทจุดเสี่ยง"),
    "lat": ("lat", "latitude", "ละติจูด"),
    "lon": ("lon", "lng", "long", "longitude", "ลองจิจูด", "ลองติจูด"),
    "radius_m": ("radius", "radius m", "radius_m", "required radius", "รัศมี", "รัศมี (ม.)",
                 "รัศมี(เมตร)", "รัศมีเมตร"),
    "province": ("province", "จังหวัด"),
    "required": ("required", "required cameras", "cameras required", "จำนวนกล้องที่ต้องการ"),
}
RISK_REQUIRED: tuple[str, ...] = ("name", "kind", "lat", "lon", "radius_m", "province")


class RiskPointRow(BaseModel):
    """One validated risk point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=300)
    kind: RiskKind
    province: str = Field(pattern=r"^[1-9][0-9]$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=MAX_RADIUS_M, description="Required radius in metres")
    required: int = Field(default=1, ge=1, le=100, description="Usable cameras needed")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> RiskKind:
        text = "" if value is None else str(value).strip()
        found = _KIND_WORDS.get(normalize_header(text))
        if found is None:
            raise ValueError(f"kind {text!r} is not accident/crime/border/other (or Thai)")
        return found

    @property
    def key(self) -> str:
        """Natural key: re-importing the same point updates it."""
        return f"{self.province}|{self.kind.value}|{normalize_header(self.name)}"


def parse_risk_row(raw: Mapping[str, Any]) -> tuple[RiskPointRow | None, list[str]]:
    """Validate one raw risk-point row; return the row or every reason it fails."""
    errors: list[str] = []
    values: dict[str, Any] = {"name": str(raw.get("name") or "").strip(), "kind": raw.get("kind")}
    province_text = str(raw.get("province") or "").strip()
    province = resolve_province(province_text) if province_text else None
    if province is None:
        errors.append(f"unknown province {province_text!r}")
    values["province"] = province or "10"
    for axis, label in (("lat", "latitude"), ("lon", "longitude"), ("radius_m", "radius")):
        cell = raw.get(axis)
        try:
            values[axis] = parse_coordinate(cell if cell is not None else "", label)
        except ValueError as err:
            errors.append(str(err))
            values[axis] = {"lat": 13.75, "lon": 100.5, "radius_m": 1.0}[axis]
    if not errors and (where := position_problem(values["province"], values["lat"], values["lon"])):
        errors.append(where)
    if raw.get("required") not in (None, ""):
        values["required"] = raw["required"]
    try:
        row = RiskPointRow.model_validate(values)
    except ValidationError as err:
        for item in err.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in item["loc"])
            errors.append(f"{field}: {item['msg'].removeprefix('Value error, ')}")
        return None, errors
    return (None, errors) if errors else (row, [])


@dataclass(frozen=True, slots=True)
class RiskPoint:
    """A stored risk point."""

    key: str
    name: str
    kind: str
    province: str
    lat: float
    lon: float
    radius_m: float
    required: int = 1


@dataclass(frozen=True, slots=True)
class CoverageCamera:
    """A camera as coverage sees it: where, usable now, usable fraction over the window."""

    key: str
    lat: float
    lon: float
    usable_now: bool
    usable_30d: float | None


@dataclass(frozen=True, slots=True)
class Coverage:
    """Cameras around one risk point."""

    point: RiskPoint
    cameras: int
    usable_now: int
    usable_30d: int
    best_30d: float | None
    nearest_usable_m: float | None
    inside: tuple[tuple[CoverageCamera, float], ...] = ()  # the cameras within the radius, with their distance

    @property
    def covered(self) -> bool:
        """Whether enough cameras are usable right now."""
        return self.usable_now >= self.point.required


def coverage(points: Iterable[RiskPoint], cameras: Iterable[CoverageCamera], *,
             usable_30d_min: float = 0.9) -> list[Coverage]:
    """Count the cameras within each point's radius, usable now and over the window."""
    grid: GridIndex[CoverageCamera] = GridIndex(cell_m=_CELL_M)
    for cam in cameras:
        grid.add(cam.lat, cam.lon, cam)
    out: list[Coverage] = []
    for p in points:
        near = grid.within(p.lat, p.lon, p.radius_m + BOUNDARY_TOLERANCE_M)
        usable = [d for cam, d in near if cam.usable_now]
        fractions = [cam.usable_30d for cam, _ in near if cam.usable_30d is not None]
        out.append(Coverage(
            point=p, cameras=len(near), usable_now=len(usable),
            usable_30d=sum(1 for f in fractions if f >= usable_30d_min),
            best_30d=max(fractions) if fractions else None,
            nearest_usable_m=round(min(usable), 2) if usable else None,
            inside=tuple(sorted(((cam, round(d, 1)) for cam, d in near), key=lambda x: (x[1], x[0].key))),
        ))
    return out


def rank_uncovered(coverages: Sequence[Coverage]) -> dict[str, list[Coverage]]:
    """Per province, the points lacking usable cameras now, worst first.

    Worst means: fewest cameras usable over the 30 days, then the lowest best usable
    fraction, then the fewest cameras at all (a point with broken cameras is quicker to fix
    than one with none), then name for a stable order.
    """
    ranked: dict[str, list[Coverage]] = defaultdict(list)
    for c in coverages:
        if not c.covered:
            ranked[c.point.province].append(c)
    for items in ranked.values():
        items.sort(key=lambda c: (c.usable_30d, c.best_30d if c.best_30d is not None else -1.0,
                                  c.cameras, c.point.name))
    return dict(ranked)


def distance_to(point: RiskPoint, lat: float, lon: float) -> float:
    """Return the distance in metres from a risk point to a position."""
    return haversine_m(point.lat, point.lon, lat, lon)
