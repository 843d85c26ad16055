"""Distances on the earth and a grid index to find what lies near a point quickly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "EARTH_RADIUS_M",
    "THAILAND_BOUNDS",
    "BoundingBox",
    "GridIndex",
    "haversine_m",
]

# Mean earth radius (IUGG). Every distance in camwatch uses this one figure so that a
# point "exactly on the radius" is on it for every module that asks.
EARTH_RADIUS_M = 6_371_008.8
# Metres per degree of latitude on the sphere above.
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0
# A grid cell never narrower than this in longitude: Thailand reaches about 20.5 N, and the
# index must stay correct anywhere, so the cosine is floored instead of trusted near the poles.
_MIN_COS = 0.01
T = TypeVar("T")


@dataclass(frozen=True)
class BoundingBox:
    """A latitude/longitude rectangle (inclusive)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        """Tell whether the point lies inside the box."""
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


# Thailand's extreme points (Mae Sai 20.46 N, Betong 5.61 N, Sam Phan Bok 105.64 E,
# Mae Sariang 97.34 E) plus a small margin, including islands in both gulfs.
THAILAND_BOUNDS = BoundingBox(min_lat=5.55, max_lat=20.50, min_lon=97.30, max_lon=105.70)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # Rounding can push h a hair above 1 for antipodes; a branch is cheaper than min() here.
    if h > 1.0:
        h = 1.0
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


class GridIndex(Generic[T]):
    """Points bucketed in square-ish cells so a radius query looks at a few cells only.

    >>> idx: GridIndex[str] = GridIndex(cell_m=100)
    >>> idx.add(13.7563, 100.5018, "a")
    >>> [item for item, _ in idx.within(13.7563, 100.5020, 50)]
    ['a']
    """

    def __init__(self, cell_m: float) -> None:
        if cell_m <= 0:
            raise ValueError("cell size must be positive")
        self._cell_deg = cell_m / _M_PER_DEG
        self._cells: dict[tuple[int, int], list[tuple[float, float, T]]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return (math.floor(lat / self._cell_deg), math.floor(lon / self._cell_deg))

    def add(self, lat: float, lon: float, item: T) -> None:
        """Put an item at a point."""
        self._cells.setdefault(self._key(lat, lon), []).append((lat, lon, item))
        self._size += 1

    def candidates(self, lat: float, lon: float, radius_m: float) -> Iterator[tuple[float, float, T]]:
        """Yield every stored point in the cells that can hold a point within ``radius_m``."""
        dlat = radius_m / _M_PER_DEG
        # Cells are equal in degrees; a degree of longitude shrinks with cos(latitude), so
        # take the widest span over the latitudes the circle touches.
        cos_lat = max(_MIN_COS, math.cos(math.radians(min(89.0, abs(lat) + dlat))))
        dlon = dlat / cos_lat
        lat0, lon0 = self._key(lat - dlat, lon - dlon)
        lat1, lon1 = self._key(lat + dlat, lon + dlon)
        for i in range(lat0, lat1 + 1):
            for j in range(lon0, lon1 + 1):
                yield from self._cells.get((i, j), ())

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[T, float]]:
        """Return (item, distance) for items no farther than ``radius_m``, nearest first."""
        found = [
            (item, d)
            for plat, plon, item in self.candidates(lat, lon, radius_m)
            if (d := haversine_m(lat, lon, plat, plon)) <= radius_m
        ]
        found.sort(key=lambda pair: pair[1])
        return found
