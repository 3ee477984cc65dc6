"""The one RFC 7946 check of the test suite: an independent validator, no ``crs`` member, 6 decimals, ring orientation."""

from __future__ import annotations

import geojson_validator
import shapely


def _decimals(obj):
    if isinstance(obj, float):
        yield len(repr(obj).split(".")[1]) if "." in repr(obj) and "e" not in repr(obj) else 0
    elif isinstance(obj, list):
        for item in obj:
            yield from _decimals(item)


def assert_rfc7946(doc: dict) -> None:
    """Fail unless ``doc`` (a parsed FeatureCollection) is RFC 7946 GeoJSON as every writer of the project must produce it."""
    assert geojson_validator.validate_structure(doc, check_crs=True) == {}
    checked = geojson_validator.validate_geometries(doc)
    assert checked["invalid"] == {}
    assert "excessive_coordinate_precision" not in checked["problematic"]
    assert "crs" not in doc
    coords = [g["geometry"]["coordinates"] for g in doc["features"] if g["geometry"]]
    assert max((d for c in coords for d in _decimals(c)), default=0) <= 6
    # Exterior rings counter-clockwise, holes clockwise (checked with shapely too).
    for feature in doc["features"]:
        if feature["geometry"] is None:
            continue
        for poly in shapely.get_parts(shapely.geometry.shape(feature["geometry"])):
            if poly.geom_type == "Polygon":
                assert poly.exterior.is_ccw
                assert all(not ring.is_ccw for ring in poly.interiors)
