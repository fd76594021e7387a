"""Geometry repairs, every one reported.

Vectorised over the whole layer with shapely 2: non-finite coordinates are
refused, Z/M values dropped, empty geometries dropped, invalid geometries
repaired with ``make_valid`` keeping the parts of the layer's dimension.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ecogis.errors import GeometryError
from ecogis.notes import Notes

_DIM_OF_FAMILY = {"point": 0, "line": 1, "polygon": 2}


def feature_ids(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The feature IDs used in messages: the ``fid`` column, else the index."""
    if "fid" in gdf.columns:
        return gdf["fid"].to_numpy()
    return gdf.index.to_numpy()


def check_finite(gdf: gpd.GeoDataFrame, *, path: Any = None) -> None:
    """Refuse geometries with NaN or infinite coordinates, naming the features."""
    coords, idx = shapely.get_coordinates(gdf.geometry.values, include_z=False, return_index=True)
    if len(coords) == 0:
        return
    bad_rows = np.unique(idx[~np.isfinite(coords).all(axis=1)])
    if len(bad_rows):
        ids = feature_ids(gdf)[bad_rows]
        raise GeometryError(
            "coordinates are NaN or infinite",
            path=path,
            where="features " + ", ".join(str(i) for i in ids[:10]) + (" …" if len(ids) > 10 else ""),
        )


def drop_z(gdf: gpd.GeoDataFrame, notes: Notes) -> gpd.GeoDataFrame:
    """Drop Z (and M) values, with a note, if any geometry has them."""
    geoms = gdf.geometry.values
    has_z = shapely.has_z(geoms)
    has_m = shapely.has_m(geoms) if hasattr(shapely, "has_m") else np.zeros(len(geoms), bool)
    if not (has_z.any() or has_m.any()):
        return gdf
    out = gdf.copy()
    out[out.geometry.name] = shapely.force_2d(geoms)
    what = "Z and M" if has_z.any() and has_m.any() else ("Z" if has_z.any() else "M")
    notes.add("drop_z", f"{what} values dropped from {int((has_z | has_m).sum())} features (2-D analysis)")
    return out


def drop_empty(gdf: gpd.GeoDataFrame, notes: Notes) -> gpd.GeoDataFrame:
    """Drop features with no or empty geometry, naming them in a note."""
    geoms = gdf.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if not empty.any():
        return gdf
    notes.add("drop_empty", f"{int(empty.sum())} features have no geometry and were left out", feature_ids(gdf)[empty])
    return gdf[~empty].copy()


def repair(gdf: gpd.GeoDataFrame, notes: Notes, *, family: str = "any", path: Any = None) -> gpd.GeoDataFrame:
    """Repair invalid geometries with ``make_valid``; report the repaired feature IDs.

    ``family`` (``polygon``, ``line``, ``point`` or ``any``) says which parts
    to keep when a repair yields a mixed collection (a bow-tie becomes two
    triangles, not a triangle plus a point); with ``any`` each feature keeps
    its own dimension, so a zero-area polygon is refused, never turned into a
    line.
    """
    geoms = gdf.geometry.values
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if not invalid.any():
        check_degenerate(gdf, path=path)
        return gdf
    reasons = shapely.is_valid_reason(geoms[invalid])
    fixed = shapely.make_valid(geoms[invalid])
    dim = _DIM_OF_FAMILY.get(family)
    if dim is None:
        # keep the dimension the feature had: a polygon that collapses to a line is refused, not made a line
        dims = shapely.get_dimensions(geoms[invalid])
        fixed = np.array([_keep_dim(g, int(d)) for g, d in zip(fixed, dims)], dtype=object)
    else:
        fixed = np.array([_keep_dim(g, dim) for g in fixed], dtype=object)
    out = gdf.copy()
    col = out.geometry.name
    values = out[col].values.copy()
    values[invalid] = fixed
    out[col] = gpd.GeoSeries(values, index=out.index, crs=gdf.crs)
    ids = feature_ids(gdf)[invalid]
    kinds = sorted({str(r).split("[")[0].strip() for r in reasons})
    notes.add("repair", f"{int(invalid.sum())} invalid geometries repaired with make_valid ({'; '.join(kinds)})", ids)
    collapsed = shapely.is_empty(fixed)
    if collapsed.any():
        raise GeometryError(
            "geometry collapsed to nothing when repaired (a polygon of zero area, or a degenerate line)",
            path=path, where="features " + ", ".join(str(i) for i in ids[collapsed][:10]),
        )
    check_degenerate(out, path=path)
    return out


def check_degenerate(gdf: gpd.GeoDataFrame, *, path: Any = None) -> None:
    """Refuse polygons of (numerically) zero area: points on one line are no parcel and no zone.

    Such a ring passes GEOS's validity test when rounding leaves it a sliver
    of 1e-17 square degrees; the test here is scale-free (area against the
    square of the perimeter).
    """
    geoms = gdf.geometry.values
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    if not poly.any():
        return
    area = shapely.area(geoms[poly])
    flat = area <= 1e-9 * shapely.length(geoms[poly]) ** 2
    if flat.any():
        ids = feature_ids(gdf)[poly][flat]
        raise GeometryError(
            "polygon has zero area: its points lie on one line",
            path=path, where="features " + ", ".join(str(i) for i in ids[:10]) + (" …" if len(ids) > 10 else ""),
            hint="check the coordinates; a line must be given as a line, not as a polygon",
        )


def _keep_dim(geom, dim: int):
    """Keep only the parts of ``geom`` of dimension ``dim`` (called on repaired features only)."""
    if geom is None:
        return geom
    if shapely.get_dimensions(geom) == dim and shapely.get_type_id(geom) != 7:
        return geom
    parts = shapely.get_parts(geom)
    # make_valid can nest collections one level deep
    flat = []
    for p in parts:
        flat.extend(shapely.get_parts(p) if shapely.get_type_id(p) == 7 else [p])
    keep = [p for p in flat if shapely.get_dimensions(p) == dim and not p.is_empty]
    if not keep:
        return shapely.Polygon() if dim == 2 else (shapely.LineString() if dim == 1 else shapely.Point())
    if dim == 2:
        return shapely.union_all(keep) if len(keep) > 1 else keep[0]
    if dim == 1:
        return shapely.line_merge(shapely.MultiLineString(keep)) if len(keep) > 1 else keep[0]
    return shapely.MultiPoint(keep) if len(keep) > 1 else keep[0]
