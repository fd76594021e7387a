"""Layer tasks: load, validate, import into a workspace, convert.

These chain the stages (read → normalise → workspace / export) and are what
the command line calls; a notebook user calls them directly::

    import ecogis
    gdf = ecogis.load_layer("红线.shp", "redline")
    info, notes = ecogis.import_layer("红线.shp", "redline", "ws.gpkg", version="2024-06")
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from ecogis.errors import CRSError, FormatError
from ecogis.fileutil import sha256_file
from ecogis.normalise import normalise
from ecogis.normalise.repair import check_finite, drop_empty, drop_z, repair
from ecogis.normalise.schema import get_schema
from ecogis.normalise.transform import to_cgcs2000
from ecogis.notes import Notes
from ecogis.read import read_file
from ecogis.workspace import LayerInfo, open_workspace


def load_layer(
    path: str | os.PathLike,
    kind: str,
    *,
    crs: Any = None,
    layer: str | None = None,
    encoding: str | None = None,
    notes: Notes | None = None,
) -> gpd.GeoDataFrame:
    """Read ``path`` and normalise it as a layer of ``kind`` (EPSG:4490, canonical fields)."""
    notes = notes if notes is not None else Notes()
    get_schema(kind)  # fail early on an unknown kind
    gdf = read_file(path, crs=crs, layer=layer, encoding=encoding, prefer_layer=kind, notes=notes)
    return normalise(gdf, kind, notes=notes, path=path)


@dataclass
class ValidationReport:
    """What ``layers validate`` found."""

    path: str
    kind: str
    features: int = 0
    notes: Notes = field(default_factory=Notes)
    record_problems: list[tuple[Any, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.record_problems


def validate_layer(
    path: str | os.PathLike, kind: str, *, crs: Any = None, layer: str | None = None, encoding: str | None = None
) -> ValidationReport:
    """Check that ``path`` would import as ``kind``; never writes anything.

    Record-level problems of GDAL-readable files are found feature by
    feature with fiona (see :mod:`ecogis.read.validate`), then the whole
    layer goes through the same checks as an import.  Errors other than
    per-record problems are raised as :class:`~ecogis.errors.EcogisError`.
    """
    from ecogis.fileutil import check_input_file
    from ecogis.read import detect_format, precheck
    from ecogis.read.validate import scan_features

    report = ValidationReport(path=str(path), kind=kind)
    get_schema(kind)
    check_input_file(path)
    fmt = detect_format(path)
    if fmt in {"gpkg", "shapefile", "zip", "geojson"}:
        source = precheck(path, fmt, layer=layer)  # archive, header and sidecar checks before GDAL opens it
        scan_layer = layer if fmt == "gpkg" else None
        if fmt == "gpkg" and scan_layer is None:
            from ecogis.read.vector import list_layers

            names = list_layers(path)
            scan_layer = kind if kind in names else (names[0] if len(names) == 1 else None)
        if fmt != "gpkg" or scan_layer is not None:
            try:
                scan = scan_features(path, layer=scan_layer, source=source if fmt == "zip" else None)
            except FormatError:
                from ecogis.read.vector import json_error

                better = json_error(path) if fmt == "geojson" else None
                if better is not None:
                    raise better from None
                raise
            report.record_problems = [
                (fid, msg) for fid, msg in scan.problems if "will be repaired" not in msg
            ]
    gdf = load_layer(path, kind, crs=crs, layer=layer, encoding=encoding, notes=report.notes)
    report.features = len(gdf)
    return report


def _default_version(path: Path, notes: Notes) -> str:
    day = dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    notes.add("version", f"no --version given; using the file date {day}")
    return day


def import_layer(
    path: str | os.PathLike,
    kind: str,
    workspace: Any,
    *,
    version: str | None = None,
    crs: Any = None,
    layer: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
    coverage: str | os.PathLike | None = None,
) -> tuple[LayerInfo, Notes]:
    """Import ``path`` as layer ``kind`` into ``workspace`` (a path or an open workspace).

    Appends to an existing layer of that kind unless ``replace``.  Records the
    source, its SHA-256, the version, the import time, the feature count,
    every repair and the coverage extent in the workspace metadata.

    ``coverage`` is the jurisdiction the data was delivered for: a file of
    polygons (any readable format), or ``"admin"`` for the workspace's admin
    boundary.  By default it is the admin boundary (a note says so); without
    an admin layer, the convex hull of the layer's own features (also noted).
    Outside its coverage a layer kind counts as not evaluated, so no site there
    is called clear.
    """
    notes = Notes()
    src = Path(path)
    gdf = load_layer(src, kind, crs=crs, layer=layer, encoding=encoding, notes=notes)
    ws = open_workspace(workspace, create=True)
    cover, basis = coverage_extent(coverage, kind, gdf, ws, notes, crs=crs)
    info = ws.write(
        kind,
        gdf,
        source=str(src.resolve()),
        version=version or _default_version(src, notes),
        sha256=sha256_file(src),
        notes=notes,
        replace=replace,
        coverage=cover,
        coverage_basis=basis,
    )
    return info, notes


def declare_empty(
    kind: str,
    workspace: Any,
    *,
    coverage: str | os.PathLike | None = None,
    version: str | None = None,
    crs: Any = None,
) -> tuple[LayerInfo, Notes]:
    """Record that layer ``kind`` has no features within ``coverage`` (default: the admin boundary).

    E.g. a city without any 沙化土地封禁保护区: its rules then count as
    evaluated (nothing found) instead of leaving every site ``incomplete``.
    Replaces any previous version of the layer.
    """
    import pandas as pd

    notes = Notes()
    schema = get_schema(kind)
    ws = open_workspace(workspace, create=True)
    empty = gpd.GeoDataFrame({f: pd.Series([], dtype=object) for f in schema.fields},
                             geometry=gpd.GeoSeries([], crs=4490), crs=4490)
    if coverage is None and not ws.has("admin"):
        from ecogis.errors import InputError

        raise InputError(f"declaring {kind} empty needs --coverage FILE or an admin layer in the workspace")
    cover, basis = coverage_extent(coverage, kind, empty, ws, notes, crs=crs)
    info = ws.write(kind, empty, source="declared empty", version=version or dt.date.today().isoformat(),
                    sha256="", notes=notes, replace=True, coverage=cover, coverage_basis=basis)
    return info, notes


def coverage_extent(coverage: str | os.PathLike | None, kind: str, gdf: gpd.GeoDataFrame, ws: Any, notes: Notes,
                    *, crs: Any = None):
    """The coverage geometry (EPSG:4490) and its description for an import (see :func:`import_layer`)."""
    import numpy as np
    import shapely

    from ecogis.errors import InputError

    own = shapely.union_all(np.asarray(gdf.geometry.values, dtype=object))
    if kind == "admin":
        if coverage not in (None, "admin"):
            notes.add("coverage", "the admin layer covers its own boundary; --coverage ignored for it")
        return own, "admin boundary (the layer itself)"
    if coverage is None or str(coverage) == "admin":
        admin = ws.read("admin") if ws.has("admin") else None
        if admin is not None and len(admin):
            geom = shapely.union_all(np.asarray(admin.geometry.values, dtype=object))
            if coverage is None:
                notes.add("coverage", f"no --coverage given: {kind} is taken to cover the workspace's admin boundary"
                          " (pass --coverage FILE if it was delivered for a smaller area)")
            return geom, "admin boundary"
        if str(coverage) == "admin":
            raise InputError("--coverage admin needs an admin layer in the workspace",
                             hint="import the admin boundary first (--kind admin), or pass --coverage FILE")
        hull = shapely.convex_hull(own)
        notes.add("coverage", f"no admin layer and no --coverage: {kind} is taken to cover the convex hull of its own"
                  " features; sites outside it are reported as incomplete (pass --coverage FILE with the area the"
                  " data was delivered for)")
        return hull, "convex hull of the layer's features"
    cpath = Path(coverage)
    cov = read_file(cpath, crs=crs, notes=notes)
    cov = to_cgcs2000(cov, notes, path=cpath)
    polys = cov.geometry[cov.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if not len(polys):
        raise InputError("the coverage file holds no polygons", path=cpath,
                         hint="give the boundary of the area the layer was delivered for")
    geom = shapely.make_valid(shapely.union_all(np.asarray(polys.values, dtype=object)))
    return geom, f"--coverage {cpath.name}"


SHIFT_NAMES = ("gcj02:wgs84", "wgs84:gcj02", "bd09:wgs84", "wgs84:bd09", "gcj02:bd09", "bd09:gcj02")


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    to_crs: Any = None,
    shift: str | None = None,
    crs: Any = None,
    layer: str | None = None,
    encoding: str | None = None,
    **write_kwargs: Any,
) -> tuple[Path, Notes]:
    """Convert a vector file between formats, optionally re-projecting and shifting datum.

    ``shift`` (``gcj02:wgs84``, ``wgs84:gcj02``, ``bd09:wgs84``, ``wgs84:bd09``…)
    is applied to lon/lat coordinates after the data is brought to CGCS2000
    lon/lat; ``to_crs`` then projects the result.  GeoJSON is always written in
    EPSG:4490.
    """
    from ecogis.export.writers import write_file
    from ecogis.read.crs import parse_crs

    notes = Notes()
    gdf = read_file(src, crs=crs, layer=layer, encoding=encoding, notes=notes)
    check_finite(gdf, path=src)
    gdf = drop_z(gdf, notes)
    gdf = drop_empty(gdf, notes)
    gdf = repair(gdf, notes, path=src)
    gdf = to_cgcs2000(gdf, notes, path=src)
    if shift:
        from ecogis.normalise.datum import shift_frame

        if shift not in SHIFT_NAMES:
            raise CRSError(f"unknown shift {shift!r}", hint="one of " + ", ".join(SHIFT_NAMES))
        gdf = shift_frame(gdf, shift)
        notes.add("shift", f"coordinates shifted {shift.replace(':', ' → ')}")
    if to_crs is not None:
        target = parse_crs(to_crs)
        if Path(dst).suffix.lower() in {".geojson", ".json"} and target.to_epsg() != 4490:
            notes.add("crs", "GeoJSON is written in EPSG:4490; --to-crs ignored for it")
        else:
            gdf = gdf.to_crs(target)
    out = write_file(gdf, dst, notes=notes, **write_kwargs)
    return out, notes
