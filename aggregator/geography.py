"""Provinces and districts of Thailand from the ``geothai`` package (DOPA codes, Thai/English names).

Never a hand-typed list: ``geothai`` carries the Department of Provincial Administration's
codes. :class:`Geography` is an immutable in-memory index used to validate topic segments
and API filters; :func:`load_geography` also writes the tables the API joins against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geothai
from sqlite_utils import Database

__all__ = ["Area", "Geography", "UnknownArea", "load_geography"]


class UnknownArea(ValueError):
    """A province or district code that DOPA does not know."""


@dataclass(frozen=True, slots=True)
class Area:
    """A province or a district."""

    code: str
    name_th: str
    name_en: str
    province: str  # the province code itself for a province


@dataclass(frozen=True)
class Geography:
    """All provinces and districts, indexed by code."""

    provinces: dict[str, Area] = field(default_factory=dict)
    districts: dict[str, Area] = field(default_factory=dict)

    @classmethod
    def from_geothai(cls) -> Geography:
        """Build the index from the installed ``geothai`` data."""
        provinces: dict[str, Area] = {}
        districts: dict[str, Area] = {}
        for p in geothai.provinces():
            provinces[p.code] = Area(p.code, p.name_th, p.name_en, p.code)
            for d in geothai.districts(p.code):
                districts[d.code] = Area(d.code, d.name_th, d.name_en, p.code)
        return cls(provinces, districts)

    def province(self, code: str) -> Area:
        """The province with DOPA code ``code``, or raise UnknownArea."""
        try:
            return self.provinces[code]
        except KeyError as err:
            raise UnknownArea(f"province {code!r} is not a DOPA province code") from err

    def district(self, code: str, province: str | None = None) -> Area:
        """The district ``code`` (inside ``province`` when given), or raise UnknownArea."""
        try:
            area = self.districts[code]
        except KeyError as err:
            raise UnknownArea(f"district {code!r} is not a DOPA district code") from err
        if province is not None and area.province != province:
            raise UnknownArea(f"district {code!r} is not in province {province!r}")
        return area

    def districts_of(self, province: str) -> list[Area]:
        """Districts of ``province``, sorted by code."""
        self.province(province)
        return sorted((d for d in self.districts.values() if d.province == province), key=lambda a: a.code)


def load_geography(db: Database) -> Geography:
    """Write provinces and districts into ``db`` (idempotent) and return the index."""
    geo = Geography.from_geothai()
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO provinces(code, name_th, name_en) VALUES (?, ?, ?) "
            "ON CONFLICT(code) DO UPDATE SET name_th=excluded.name_th, name_en=excluded.name_en",
            [(a.code, a.name_th, a.name_en) for a in geo.provinces.values()],
        )
        db.conn.executemany(
            "INSERT INTO districts(code, province, name_th, name_en) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(code) DO UPDATE SET name_th=excluded.name_th, name_en=excluded.name_en",
            [(a.code, a.province, a.name_th, a.name_en) for a in geo.districts.values()],
        )
    return geo
