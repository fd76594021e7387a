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
) -> tuple[LayerInfo, Notes]:
    """Import ``path`` as layer ``kind`` into ``workspace`` (a path or an open workspace).

    Appends to an existing layer of that kind unless ``replace``.  Records the
    source, its SHA-256, the version, the import time, the feature count and
    every repair in the workspace metadata.
    """
    notes = Notes()
    src = Path(path)
    gdf = load_layer(src, kind, crs=crs, layer=layer, encoding=encoding, notes=notes)
    ws = open_workspace(workspace, create=True)
    info = ws.write(
        kind,
        gdf,
        source=str(src.resolve()),
        version=version or _default_version(src, notes),
        sha256=sha256_file(src),
        notes=notes,
        replace=replace,
    )
    return info, notes


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
