"""Vectorised geometry helpers for the engine: a local metric CRS, distances, lengths."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

from ecogis.normalise.area import GEOD
from ecogis.read.crs import gk_epsg, gk_zone_for_lon


def metric_crs_for(bounds: tuple[float, float, float, float]) -> CRS:
    """The CGCS2000 3° Gauss-Krüger CRS (no zone prefix) at the middle of ``bounds`` (lon/lat)."""
    lon = 0.5 * (bounds[0] + bounds[2])
    zone = min(max(gk_zone_for_lon(lon), 25), 45)
    return CRS.from_epsg(gk_epsg(zone, 3, prefix=False))


def to_metric(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Transform lon/lat (EPSG:4490) geometries to ``crs`` in one vectorised call."""
    tr = Transformer.from_crs(4490, crs, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def from_metric(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Transform geometries in ``crs`` back to lon/lat (EPSG:4490)."""
    tr = Transformer.from_crs(crs, 4490, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def geodesic_distance(lines_lonlat: np.ndarray) -> np.ndarray:
    """Ellipsoidal length (m) of two-point lines (e.g. ``shapely.shortest_line``) in lon/lat."""
    if len(lines_lonlat) == 0:
        return np.zeros(0)
    start = shapely.get_coordinates(shapely.get_point(lines_lonlat, 0))
    end = shapely.get_coordinates(shapely.get_point(lines_lonlat, -1))
    _, _, dist = GEOD.inv(start[:, 0], start[:, 1], end[:, 0], end[:, 1])
    return np.asarray(dist, dtype=float)


def geodesic_length(geoms_lonlat: np.ndarray) -> np.ndarray:
    """Ellipsoidal length (m) of linear geometries in lon/lat, vectorised over all segments."""
    n = len(geoms_lonlat)
    out = np.zeros(n)
    if n == 0:
        return out
    parts, part_idx = shapely.get_parts(geoms_lonlat, return_index=True)
    lines = shapely.get_dimensions(parts) == 1
    parts, part_idx = parts[lines], part_idx[lines]
    if len(parts) == 0:
        return out
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    _, _, seg = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    per_part = np.bincount(cidx[:-1][same], weights=np.asarray(seg), minlength=len(parts))
    return np.bincount(part_idx, weights=per_part, minlength=n)


def degrees_for_metres(metres: float, lat: float) -> float:
    """A safe bbox padding in degrees for ``metres`` at latitude ``lat``."""
    return metres / (111_000.0 * max(np.cos(np.radians(abs(lat) + 1.0)), 0.05)) + 1e-6
