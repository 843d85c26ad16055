"""The province map: built from boundary data, one shape per DOPA province, nothing drawn by hand."""

from __future__ import annotations

import json

import pytest

from aggregator.geography import Geography
from aggregator.web import STATIC_DIR
from aggregator.web.provinces_map import build_map, simplify


def test_committed_map_has_every_dopa_province_once() -> None:
    data = json.loads((STATIC_DIR / "th-provinces.json").read_text("utf-8"))
    assert set(data["provinces"]) == set(Geography.from_geothai().provinces)
    assert "Natural Earth" in data["source"]
    min_lon, min_lat, max_lon, max_lat = data["bounds"]  # Thailand's extent, for whoever inverts the projection
    assert 97 < min_lon < max_lon < 106 and 5 < min_lat < max_lat < 21
    _, _, width, height = (int(v) for v in data["viewBox"].split())
    for code, shape in data["provinces"].items():
        assert shape["d"].startswith("M") and shape["d"].endswith("Z"), code
        assert 0 <= shape["cx"] <= width and 0 <= shape["cy"] <= height, code


def _square(x: float, y: float, code: str) -> dict[str, object]:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x + 0.5, y + 1.0005], [x, y + 1], [x, y]]
    return {"properties": {"iso_3166_2": f"TH-{code}", "longitude": x + 0.5, "latitude": y + 0.5},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip


def test_build_map_projects_simplifies_and_keys_by_dopa_code() -> None:
    collection = {"features": [_square(100, 13, "10"), _square(99, 18, "50"),
                               {"properties": {"iso_3166_2": "LA-VT"}, "geometry": {"type": "Point"}}]}  # fmt: skip
    out = build_map(collection, tolerance=0.01)
    assert sorted(out["provinces"]) == ["10", "50"]  # the Lao feature is ignored
    # north is up: Chiang Mai (18 N) is drawn above Bangkok (13 N)
    assert out["provinces"]["50"]["cy"] < out["provinces"]["10"]["cy"]
    # the near-collinear point on the top edge was dropped: 5 points (closed ring)
    assert out["provinces"]["10"]["d"].count("L") == 4


def test_build_map_refuses_data_without_thai_provinces() -> None:
    with pytest.raises(ValueError):
        build_map({"features": []})


def test_simplify_keeps_corners() -> None:
    line = [(0.0, 0.0), (1.0, 0.001), (2.0, 0.0), (2.0, 2.0)]
    assert simplify(line, 0.01) == [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)]
