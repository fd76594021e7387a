"""Read stage: formats, 国土TXT, CRS checks.

:func:`read_file` opens any supported format, chosen by extension, and
returns a GeoDataFrame in the file's own CRS with a ``fid`` column (the
feature IDs used in every message).  It refuses a file with no CRS unless one
is given, and refuses coordinates that do not fit the CRS.

==========  =================================================
extension   format
==========  =================================================
.gpkg       GeoPackage (pick a layer with ``layer=``)
.shp        Shapefile (``.cpg`` honoured, GBK detected)
.zip        zipped Shapefile, read in place
.geojson    GeoJSON (.json too)
.kml .kmz   KML / KMZ, parsed safely
.csv        lon/lat columns or a WKT column (needs ``crs=``)
.txt        国土TXT 界址点坐标交换格式
==========  =================================================
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ecogis.errors import CRSError, EmptyLayerError, FormatError
from ecogis.fileutil import check_input_file
from ecogis.notes import Notes
from ecogis.read.crs import check_coordinates, describe, extent_notes, parse_crs

FORMATS = {
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "zip",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".kmz": "kmz",
    ".csv": "csv",
    ".txt": "guotu",
}

__all__ = ["read_file", "detect_format", "precheck", "check_vertex_limit", "FORMATS"]


def detect_format(path: str | os.PathLike) -> str:
    """The format name for ``path`` by its extension, or :class:`FormatError`."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise FormatError(
            f"unknown file type {ext or '(no extension)'!r}",
            path=path,
            hint="supported: " + ", ".join(sorted(FORMATS)),
        )
    return FORMATS[ext]


def precheck(path: str | os.PathLike, fmt: str, *, layer: str | None = None) -> str:
    """Check a file's safety and structure before GDAL opens it; return the GDAL source to open.

    Archives are checked (member paths, member count, expanded size) and
    their shapefile chosen; a shapefile's parts and headers, a GeoPackage's
    or GeoJSON's first bytes are checked.  Errors are
    :class:`~ecogis.errors.EcogisError`.
    """
    from ecogis.read.vector import check_magic, check_shapefile, zip_shapefile

    if fmt == "zip":
        return zip_shapefile(path, layer=layer, encoding="UTF-8", notes=Notes())[0]
    if fmt == "shapefile":
        check_shapefile(path)
    elif fmt in {"gpkg", "geojson"}:
        check_magic(path, fmt)
    return str(path)


def check_vertex_limit(gdf: gpd.GeoDataFrame, *, path=None) -> None:
    """Refuse a layer with more vertices than ``settings.max_vertices``."""
    from ecogis.errors import LimitError
    from ecogis.settings import settings

    n = int(shapely.get_num_coordinates(gdf.geometry.values).sum())
    if n > settings.max_vertices:
        raise LimitError(
            f"layer has {n:,} vertices, over the limit of {settings.max_vertices:,}",
            path=path,
            hint="raise it with ECOGIS_MAX_VERTICES or ecogis.settings.max_vertices",
        )


def _read_raw(path: Path, fmt: str, *, layer, encoding, prefer, notes: Notes) -> gpd.GeoDataFrame:
    if fmt == "gpkg":
        from ecogis.read.vector import read_gpkg

        return read_gpkg(path, layer=layer, prefer=prefer, notes=notes)
    if fmt == "shapefile":
        from ecogis.read.vector import read_shapefile

        return read_shapefile(path, encoding=encoding, notes=notes)
    if fmt == "zip":
        from ecogis.read.vector import read_zip

        return read_zip(path, layer=layer, encoding=encoding, notes=notes)
    if fmt == "geojson":
        from ecogis.read.vector import read_geojson

        return read_geojson(path, notes=notes)
    if fmt == "kml":
        from ecogis.read.kml import read_kml

        return read_kml(path, notes=notes)
    if fmt == "kmz":
        from ecogis.read.kml import read_kmz

        return read_kmz(path, notes=notes)
    if fmt == "csv":
        from ecogis.read.csvfile import read_csv

        return read_csv(path, encoding=encoding, notes=notes)
    if fmt == "guotu":
        from ecogis.read.guotu import read_guotu

        gdf = read_guotu(path, notes=notes)
        if "fid" not in gdf.columns:
            gdf.insert(0, "fid", gdf["site_id"] if "site_id" in gdf.columns else np.arange(1, len(gdf) + 1))
        return gdf
    raise FormatError(f"no reader for format {fmt!r}", path=path)  # pragma: no cover


def read_file(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    crs: Any = None,
    encoding: str | None = None,
    prefer_layer: str | None = None,
    notes: Notes | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file in any supported format, with its CRS checked.

    Parameters
    ----------
    path:
        The file.
    layer:
        Layer name for multi-layer sources (GeoPackage, zip with several shapefiles).
    crs:
        The CRS for a file that carries none (``"EPSG:4527"``); if the file
        declares another, the given one wins and that is noted.
    encoding:
        Text encoding, when detection must be overridden.
    prefer_layer:
        Layer to take from a multi-layer GeoPackage when ``layer`` is not given.
    notes:
        Where to report what was done; also kept in ``gdf.attrs["notes"]``.
    """
    notes = notes if notes is not None else Notes()
    p = check_input_file(path)
    fmt = detect_format(p)
    with warnings.catch_warnings():
        # shapely's "invalid value encountered" on NaN coordinates: check_finite names those features instead
        warnings.filterwarnings("ignore", message="invalid value encountered", category=RuntimeWarning)
        gdf = _read_raw(p, fmt, layer=layer, encoding=encoding, prefer=prefer_layer, notes=notes)
    if len(gdf) == 0:
        raise EmptyLayerError("layer has no features", path=p)
    from ecogis.read.vector import curved_collections

    nested = curved_collections(gdf.geometry.values)
    if nested.any():
        ids = gdf["fid"].to_numpy()[nested] if "fid" in gdf.columns else np.flatnonzero(nested)
        raise FormatError(
            "a GeometryCollection holds curves (CircularString, CompoundCurve …), which GDAL does not linearise "
            "inside a collection", path=p, where="features " + ", ".join(str(i) for i in ids[:10]),
            hint="give the curves as their own features, or as MultiCurve / MultiSurface",
        )
    check_vertex_limit(gdf, path=p)
    if crs is not None:
        user = parse_crs(crs, path=p)
        if gdf.crs is None:
            notes.add("crs", f"CRS given by the user: {describe(user)}")
        elif not gdf.crs.equals(user):
            notes.add("crs", f"file declares {describe(gdf.crs)}; overridden by the given {describe(user)}")
        gdf = gdf.set_crs(user, allow_override=True)
    if gdf.crs is None:
        raise CRSError(
            "has no coordinate reference system",
            path=p,
            hint="pass --crs, e.g. EPSG:4490 (CGCS2000 lon/lat) or EPSG:4527 (CGCS2000 GK zone 39 with prefix)",
        )
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if present.any():
        coords = shapely.get_coordinates(geoms[present])
        finite = coords[np.isfinite(coords).all(axis=1)]
        if len(finite):
            bounds = (finite[:, 0].min(), finite[:, 1].min(), finite[:, 0].max(), finite[:, 1].max())
            check_coordinates(bounds, gdf.crs, path=p)
            extent_notes(geoms, gdf.crs, gdf["fid"] if "fid" in gdf.columns else np.arange(len(gdf)), notes)
    from ecogis.normalise.schema import unique_field_names

    gdf = unique_field_names(gdf, notes)
    gdf.attrs["notes"] = notes
    gdf.attrs["source_path"] = str(p)
    gdf.attrs["format"] = fmt
    return gdf
