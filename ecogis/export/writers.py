"""Write layers to any supported format, chosen by extension, atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from ecogis.errors import FormatError
from ecogis.fileutil import atomic_path
from ecogis.read import FORMATS

_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


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


def write_file(gdf: gpd.GeoDataFrame, path: str | os.PathLike, *, layer: str | None = None, **kwargs) -> Path:
    """Write ``gdf`` to ``path``; the format follows the extension (see :data:`ecogis.read.FORMATS`).

    GeoJSON is written in EPSG:4490 with ``area_ha`` on polygons; KML in
    lon/lat; 国土TXT in the CGCS2000 Gauss-Krüger zone of the data (keyword
    arguments go to :func:`ecogis.export.guotu.write_guotu`).
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
        with atomic_path(target) as tmp:
            out.to_csv(tmp, index=False, encoding="utf-8-sig")
        return target
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
        return _write_shapefile(data, target, zipped=(fmt == "zip"), layer=layer)
    raise FormatError(f"no writer for {fmt}", path=target)  # pragma: no cover


def _write_shapefile(data: gpd.GeoDataFrame, target: Path, *, zipped: bool, layer: str | None) -> Path:
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
