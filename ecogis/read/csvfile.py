"""CSV with lon/lat columns or a WKT column.

A CSV carries no CRS, so one must be given (``--crs``) or sit beside the file
as a ``.prj``; ecogis never assumes that numbers are WGS84.
"""

from __future__ import annotations

import csv
import io
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
        for i, w in enumerate(raw):  # per-row to name the bad line; reading, not a hot path
            try:
                geoms[i] = shapely.from_wkt(w) if w.strip() else None
            except shapely.errors.GEOSException as exc:
                raise FormatError(f"broken WKT in column {wkt_col!r}: {exc}", path=path, where=f"line {i + 2}") from None
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
