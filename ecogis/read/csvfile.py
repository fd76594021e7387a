"""CSV with lon/lat columns or a WKT column.

A CSV carries no CRS, so one must be given (``--crs``) or sit beside the file
as a ``.prj``; ecogis never assumes that numbers are WGS84.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import FormatError
from ecogis.notes import Notes
from ecogis.read.encoding import read_text

LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "jd", "x", "东经")
LAT_NAMES = ("lat", "latitude", "纬度", "wd", "y", "北纬")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "坐标串")
_CURVED = re.compile(r"\b(CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE)\b", re.I)
_SURFACE_3D = re.compile(r"\b(TIN|TRIANGLE|POLYHEDRALSURFACE)\b", re.I)


def _linearise_rows(raw: np.ndarray, rows: list[int], geoms: np.ndarray, col: str, path, notes: Notes) -> None:
    """Fill ``geoms[rows]`` with GDAL's linearisation of the curved WKT in those rows, with a note."""
    from ecogis.read.vector import arc_tolerance_text, linearise_wkt

    try:
        lin = linearise_wkt([str(raw[i]) for i in rows])
    except ValueError:
        for i in rows:  # find the line GDAL cannot read
            try:
                linearise_wkt([str(raw[i])])
            except ValueError as exc:
                raise FormatError(f"broken curved WKT in column {col!r}: {exc}", path=path,
                                  where=f"line {i + 2}") from None
        raise
    for i, g in zip(rows, lin):
        geoms[i] = g
    notes.add("linearise", f"{len(rows)} curved geometries linearised by GDAL: {arc_tolerance_text()}",
              [i + 1 for i in rows])


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.strip().casefold(): c for c in columns}
    for n in names:
        if n in low:
            return low[n]
    return None


def read_csv(path: str | Path, *, encoding: str | None = None, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Read a CSV into a GeoDataFrame with no CRS (the caller must supply one)."""
    notes = notes if notes is not None else Notes()
    text, enc = read_text(path, encoding)
    if enc not in {"utf-8", "ascii"}:
        notes.add("encoding", f"CSV read as {enc}")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|，")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        # the C parser takes one-byte separators only; a full-width comma (，) needs the Python one
        engine = "c" if len(sep.encode("utf-8")) == 1 else "python"
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            engine=engine)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FormatError(f"not a readable CSV: {exc}", path=path) from None
    if frame.empty:
        from ecogis.errors import EmptyLayerError

        raise EmptyLayerError("CSV has no rows", path=path)
    frame.columns = [str(c).strip() for c in frame.columns]
    cols = list(frame.columns)
    wkt_col = _find(cols, WKT_NAMES)
    lon_col, lat_col = _find(cols, LON_NAMES), _find(cols, LAT_NAMES)
    if wkt_col is not None:
        raw = frame[wkt_col].fillna("").astype(str).to_numpy()
        geoms = np.empty(len(raw), dtype=object)
        curved: list[int] = []
        for i, w in enumerate(raw):  # per-row to name the bad line; reading, not a hot path
            m = _SURFACE_3D.search(w)
            if m:
                raise FormatError(f"column {wkt_col!r} holds a 3-D surface ({m.group(1).upper()}), which ecogis does "
                                  "not read", path=path, where=f"line {i + 2}",
                                  hint="give the 2-D footprint as a POLYGON or MULTIPOLYGON")
            if _CURVED.search(w):
                curved.append(i)
                continue
            try:
                geoms[i] = shapely.from_wkt(w) if w.strip() else None
            except shapely.errors.GEOSException as exc:
                raise FormatError(f"broken WKT in column {wkt_col!r}: {exc}", path=path, where=f"line {i + 2}") from None
        if curved:
            _linearise_rows(raw, curved, geoms, wkt_col, path, notes)
        data = frame.drop(columns=[wkt_col])
    elif lon_col is not None and lat_col is not None:
        lon = pd.to_numeric(frame[lon_col].str.strip(), errors="coerce").to_numpy()
        lat = pd.to_numeric(frame[lat_col].str.strip(), errors="coerce").to_numpy()
        bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
        if len(bad):
            lines = ", ".join(str(i + 2) for i in bad[:10])
            raise FormatError(
                f"columns {lon_col!r}/{lat_col!r} hold values that are not numbers", path=path, where=f"lines {lines}"
            )
        geoms = shapely.points(lon, lat)
        data = frame.drop(columns=[lon_col, lat_col])
        notes.add("columns", f"points built from columns {lon_col!r} (x) and {lat_col!r} (y)")
    else:
        raise FormatError(
            "no geometry columns found",
            path=path,
            hint="a CSV needs lon/lat columns (lon, lng, longitude, 经度 / lat, latitude, 纬度, or x/y) or a WKT column",
        )
    data = data.copy()
    data.insert(0, "fid", np.arange(1, len(data) + 1))
    return gpd.GeoDataFrame(data, geometry=list(geoms) if not isinstance(geoms, np.ndarray) else geoms, crs=None)
