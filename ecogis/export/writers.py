"""Write layers to any supported format, chosen by extension, atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ecogis.errors import FormatError
from ecogis.fileutil import atomic_path
from ecogis.notes import Notes
from ecogis.read import FORMATS

_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: dBase limits: field names of at most 10 bytes, text values of at most 254 bytes.
DBF_NAME_BYTES = 10
DBF_TEXT_BYTES = 254


def _clean(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.drop(columns=[c for c in ("fid",) if c in gdf.columns])


def with_area_ha(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add an ``area_ha`` column (geodesic, CGCS2000 ellipsoid) for polygons; other geometries get NaN."""
    from ecogis.normalise.area import geodesic_area

    out = gdf.copy()
    geoms = out.geometry.values
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    area = np.full(len(out), np.nan)
    if poly.any():
        area[poly] = geodesic_area(geoms[poly], out.crs) / 10_000.0
    out["area_ha"] = np.round(area, 4)
    return out


def write_file(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str | None = None,
               notes: Notes | None = None, **kwargs) -> Path:
    """Write ``gdf`` to ``path``; the format follows the extension (see :data:`ecogis.read.FORMATS`).

    GeoJSON is written in EPSG:4490 with ``area_ha`` on polygons; KML in
    lon/lat; 国土TXT in the CGCS2000 Gauss-Krüger zone of the data (keyword
    arguments go to :func:`ecogis.export.guotu.write_guotu`).  A Shapefile
    cannot hold long field names or long text: the renamed fields and the
    clipped values are reported in ``notes``, or as warnings without it (see
    :func:`dbf_ready`).
    """
    target = Path(path)
    ext = target.suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise FormatError(f"cannot write {ext or 'files without extension'!r}", path=target,
                          hint="supported: " + ", ".join(sorted(FORMATS)))
    data = _clean(gdf)
    if fmt == "guotu":
        from ecogis.export.guotu import write_guotu

        return write_guotu(data, target, **kwargs)
    if fmt == "kml":
        from ecogis.export.kml import write_kml

        return write_kml(data, target)
    if fmt == "kmz":
        from ecogis.export.kml import write_kml

        with tempfile.TemporaryDirectory(dir=target.parent if target.parent.exists() else None) as tmpdir:
            doc = write_kml(data, Path(tmpdir) / "doc.kml")
            with atomic_path(target) as tmp:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                    zf.write(doc, "doc.kml")
        return target
    if fmt == "csv":
        frame = data.to_crs(4490) if data.crs is not None and data.crs.to_epsg() != 4490 else data
        out = frame.drop(columns=[frame.geometry.name]).copy()
        out["wkt"] = shapely.to_wkt(frame.geometry.values, rounding_precision=8)
        from ecogis.export.cells import write_csv

        return write_csv(out, target)  # text cells defused against formula injection
    if fmt == "geojson":
        frame = data.to_crs(4490) if data.crs.to_epsg() != 4490 else data
        frame = with_area_ha(frame)
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(frame, tmp, layer=target.stem, driver="GeoJSON", COORDINATE_PRECISION=8)
        return target
    if fmt == "gpkg":
        with atomic_path(target) as tmp:
            if target.exists():
                shutil.copy2(target, tmp)
            pyogrio.write_dataframe(data, tmp, layer=layer or target.stem, driver="GPKG", promote_to_multi=None)
        return target
    if fmt in {"shapefile", "zip"}:
        own = Notes()
        out = _write_shapefile(dbf_ready(data, own), target, zipped=(fmt == "zip"), layer=layer)
        if notes is not None:
            notes.extend(own)
        else:  # nobody collects notes: the changes still reach the caller, as warnings
            for n in own:
                warnings.warn(f"{target.name}: {n}", UserWarning, stacklevel=2)
        return out
    raise FormatError(f"no writer for {fmt}", path=target)  # pragma: no cover


def _clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def dbf_names(columns: list[str]) -> dict[str, str]:
    """New names for the columns a dBase table cannot hold: at most 10 UTF-8 bytes, unique ignoring case."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    fits = {c for c in columns if len(c.encode("utf-8")) <= DBF_NAME_BYTES}
    taken.update(c.lower() for c in fits)
    for c in columns:
        if c in fits:
            continue
        name = _clip_utf8(c, DBF_NAME_BYTES)
        n = 1
        while name.lower() in taken:
            tail = f"_{n}"
            name = _clip_utf8(c, DBF_NAME_BYTES - len(tail)) + tail
            n += 1
        taken.add(name.lower())
        out[c] = name
    return out


def dbf_ready(data: gpd.GeoDataFrame, notes: Notes) -> gpd.GeoDataFrame:
    """``data`` renamed and clipped to the dBase limits of a Shapefile, every change noted.

    Field names longer than 10 bytes get a unique 10-byte name; text longer
    than 254 bytes is cut at a character boundary.  GDAL would otherwise do
    both with only a warning.
    """
    gname = data.geometry.name
    renames = dbf_names([str(c) for c in data.columns if c != gname])
    out = data.rename(columns=renames) if renames else data
    if renames:
        notes.add("rename", "Shapefile field names are at most 10 bytes: "
                  + ", ".join(f"{a} → {b}" for a, b in renames.items()))
    for col in out.columns:
        if col == gname or not (out[col].dtype == object or pd.api.types.is_string_dtype(out[col])):
            continue
        text = out[col]
        long = text.map(lambda v: isinstance(v, str) and len(v.encode("utf-8")) > DBF_TEXT_BYTES).astype(bool)
        if long.any():
            if out is data:
                out = data.copy()
            out.loc[long, col] = text[long].map(lambda v: _clip_utf8(v, DBF_TEXT_BYTES))
            ids = out.index[long].tolist()
            notes.add("truncate", f"field {col!r}: {int(long.sum())} value(s) longer than {DBF_TEXT_BYTES} bytes cut "
                      "to fit the Shapefile (write a GeoPackage to keep them whole)", ids=ids)
    return out


_SHP_FAMILY = {1: "point", 4: "point", 2: "line", 5: "line", 3: "polygon", 6: "polygon"}


def _one_shape_family(data: gpd.GeoDataFrame, target: Path) -> None:
    """A Shapefile holds one geometry family (points, lines or polygons): refuse a mix, naming it."""
    ids = shapely.get_type_id(np.asarray(data.geometry.values, dtype=object))
    fams = sorted({_SHP_FAMILY.get(int(i), "other") for i in ids if i >= 0})
    if len(fams) > 1 or "other" in fams:
        raise FormatError(f"a Shapefile holds one geometry type; these features are {' + '.join(fams)}",
                          path=target, hint="write a GeoPackage (.gpkg) or GeoJSON, or split the features by type")


def _write_shapefile(data: gpd.GeoDataFrame, target: Path, *, zipped: bool, layer: str | None) -> Path:
    _one_shape_family(data, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = layer or target.stem
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{stem}.") as tmpdir:
        shp = Path(tmpdir) / f"{stem}.shp"
        pyogrio.write_dataframe(data, shp, driver="ESRI Shapefile", encoding="UTF-8")
        parts = [shp.with_suffix(e) for e in _SHP_PARTS if shp.with_suffix(e).exists()]
        if zipped:
            with atomic_path(target) as tmp:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                    for p in parts:
                        zf.write(p, p.name)
            return target
        _swap_parts(parts, target, Path(tmpdir))
    return target


def _swap_parts(parts: list[Path], target: Path, tmpdir: Path) -> None:
    """Move a new shapefile's parts into place as one step: all of them, or none.

    The old parts are first moved aside into ``tmpdir``; if any rename fails,
    the new parts already placed are removed and the old ones put back, so a
    failed write never leaves a mix of old and new sidecars.  The ``.shp`` goes
    last so readers never see a partial set.
    """
    backup = tmpdir / "previous"
    backup.mkdir()
    old = [target.with_suffix(e) for e in _SHP_PARTS if target.with_suffix(e).exists()]
    placed: list[Path] = []
    moved: list[Path] = []
    try:
        for p in old:
            os.replace(p, backup / p.name)
            moved.append(p)
        for p in sorted(parts, key=lambda q: q.suffix == ".shp"):
            dest = target.with_suffix(p.suffix)
            os.replace(p, dest)
            placed.append(dest)
    except BaseException:
        for dest in placed:
            dest.unlink(missing_ok=True)
        for p in moved:
            os.replace(backup / p.name, p)
        raise
