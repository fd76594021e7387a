"""GeoPackage, Shapefile (plain or zipped) and GeoJSON through pyogrio.

pyogrio reads a whole layer into columns at once (GDAL's Arrow path), which
is what the bulk of the work wants.  Shapefile text encodings are honoured
from ``.cpg`` and detected (UTF-8 vs GBK) when it is missing or wrong.
"""

from __future__ import annotations

import contextlib
import math
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import numpy as np
import pyogrio

from ecogis.errors import EcogisError, FormatError
from ecogis.notes import Notes
from ecogis.read.archive import members_with_suffix, open_zip, read_member
from ecogis.read.encoding import dbf_text_encoding

_CPG_ALIASES = {
    "utf8": "UTF-8", "utf-8": "UTF-8", "65001": "UTF-8", "gbk": "GBK", "936": "GBK", "cp936": "GBK",
    "gb2312": "GBK", "gb18030": "GB18030", "54936": "GB18030",
}


_M_WARNING = r"Measured \(M\) geometry types are not supported"


@contextlib.contextmanager
def gdal_source(path: str | Path) -> Iterator[str]:
    """The path to hand to GDAL (pyogrio, fiona) for a local file: absolute, and never parsed as a URI.

    pyogrio and fiona read ``a!b`` as member ``b`` of archive ``a`` and
    ``zip:x`` or ``https:x`` as a URI, so a file named ``!test.geojson``
    would not be found and a file named like a URL could be fetched.  Such a
    file (with its sidecars: same stem) is linked under a plain name in a
    temporary folder for the read.  Messages still name the user's path.
    """
    p = Path(path).resolve()
    if "!" not in str(p):
        yield str(p)
        return
    with tempfile.TemporaryDirectory(prefix="ecogis-src-") as tmp:
        stem = p.name.rsplit(".", 1)[0].lower() + "."
        for sib in p.parent.iterdir():
            if sib == p or sib.name.lower().startswith(stem):
                (Path(tmp) / sib.name.replace("!", "_")).symlink_to(sib)
        yield str(Path(tmp) / p.name.replace("!", "_"))


def list_layers(path: str | Path) -> list[str]:
    """Names of the vector layers in a GeoPackage (attribute tables left out)."""
    try:
        with gdal_source(path) as src, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_M_WARNING)  # reported as a note when the layer is read
            return [str(n) for n, g in pyogrio.list_layers(src) if g is not None]
    except Exception as exc:
        raise FormatError(f"cannot open: {_gdal_message(exc)}", path=path) from None


def _gdal_message(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _pick_layer(path, layers: list[str], layer: str | None, prefer: str | None) -> str:
    if layer is not None:
        if layer not in layers:
            raise FormatError(f"no layer {layer!r}", path=path, hint=f"layers: {', '.join(layers)}")
        return layer
    if len(layers) == 1:
        return layers[0]
    if prefer and prefer in layers:
        return prefer
    raise FormatError(
        f"has {len(layers)} layers; say which one", path=path, hint=f"--layer one of: {', '.join(layers)}"
    )


#: Degrees of arc between the vertices GDAL puts on a linearised curve (``OGR_ARC_STEPSIZE``, GDAL's default is 4).
ARC_STEP_DEG = 1.0
#: Largest distance between a linearised arc's chord and the arc, as a share of its radius.
ARC_DEVIATION = 1.0 - math.cos(math.radians(ARC_STEP_DEG) / 2)

#: ISO WKB geometry type codes (``code % 1000``) and their names.
WKB_TYPES = {
    1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
    7: "GeometryCollection", 8: "CircularString", 9: "CompoundCurve", 10: "CurvePolygon", 11: "MultiCurve",
    12: "MultiSurface", 13: "Curve", 14: "Surface", 15: "PolyhedralSurface", 16: "TIN", 17: "Triangle",
}
CURVE_TYPES = frozenset({8, 9, 10, 11, 12, 13, 14})
SURFACE_3D_TYPES = frozenset({15, 16, 17})
_LINEAR_LAYER_TYPES = frozenset({"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"})


def arc_tolerance_text() -> str:
    """How curves are linearised, for notes and docs."""
    return (f"a vertex every {ARC_STEP_DEG:g}° of arc, so the chords depart from the arc by at most "
            f"{ARC_DEVIATION * 100:.4f} % of its radius ({ARC_DEVIATION * 1000:.2f} m on a 1 km radius)")


def wkb_type_codes(wkb) -> np.ndarray:
    """ISO geometry type code (``% 1000``, Z/M flags removed) of each WKB value; -1 for a missing one.

    ``wkb`` is a pyarrow binary array (read straight from its buffers, no
    copy per feature) or a sequence of ``bytes``.
    """
    import pyarrow as pa

    if isinstance(wkb, (pa.Array, pa.ChunkedArray)):
        col = wkb.combine_chunks() if isinstance(wkb, pa.ChunkedArray) else wkb
        n = len(col)
        big = pa.types.is_large_binary(col.type)
        offsets = np.frombuffer(col.buffers()[1], dtype=np.int64 if big else np.int32)[col.offset:col.offset + n + 1]
        buf = col.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
        start, length = offsets[:-1].astype(np.int64), np.diff(offsets)
        ok = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool) & (length >= 5)
        out = np.full(n, -1, dtype=np.int64)
        if ok.any():
            b = [data[start[ok] + k].astype(np.int64) for k in range(5)]
            le = b[1] | (b[2] << 8) | (b[3] << 16) | (b[4] << 24)
            be = b[4] | (b[3] << 8) | (b[2] << 16) | (b[1] << 24)
            out[ok] = (np.where(b[0] == 1, le, be) & 0x0FFFFFFF) % 1000
        return out
    out = np.full(len(wkb), -1, dtype=np.int64)
    for i, b in enumerate(wkb):  # plain bytes (small inputs)
        if b is None or len(b) < 5:
            continue
        code = int.from_bytes(b[1:5], "little" if b[0] == 1 else "big")
        out[i] = (code & 0x0FFFFFFF) % 1000
    return out


def _layer_wkb(source: str, layer: str | None):
    """The raw (not linearised) WKB of every feature, as a pyarrow array, and their FIDs (GDAL's Arrow path)."""
    meta, table = pyogrio.read_arrow(source, layer=layer, columns=[], return_fids=True)
    geom_name = meta.get("geometry_name") or "wkb_geometry"
    if geom_name not in table.column_names:
        geom_name = [c for c in table.column_names if c not in {"fid", "OGC_FID"}][-1]
    fid_col = "fid" if "fid" in table.column_names else table.column_names[0]
    return table.column(geom_name), np.asarray(table.column(fid_col).to_numpy())


def _type_names(codes) -> str:
    return ", ".join(WKB_TYPES.get(int(c), str(c)) for c in sorted(set(int(c) for c in codes)))


def _refuse_3d_surfaces(path, codes: np.ndarray, fids: np.ndarray) -> None:
    bad = np.isin(codes, list(SURFACE_3D_TYPES))
    if bad.any():
        raise FormatError(
            f"holds 3-D surface geometries ({_type_names(codes[bad])}), which ecogis does not read",
            path=path, where="features " + _fmt_ids(fids[bad]),
            hint="export the 2-D footprints as polygons first (GDAL: ogr2ogr -nlt MULTIPOLYGON out.gpkg in.gpkg)",
        )


def _fmt_ids(ids, limit: int = 10) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:limit]) + (f" … (+{len(ids) - limit} more)" if len(ids) > limit else "")


def linearise_wkt(texts: list[str]) -> list:
    """Curved WKT (``CIRCULARSTRING``, ``CURVEPOLYGON`` …) as linear shapely geometries, linearised by GDAL.

    shapely cannot hold curves, so GDAL reads them (``OGR_G_GetLinearGeometry``
    at :data:`ARC_STEP_DEG`) from a temporary CSV.  Raises ``ValueError`` with
    GDAL's message when a text is not valid WKT.
    """
    import csv
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ecogis-curves-") as tmp:
        src = Path(tmp) / "curves.csv"
        with open(src, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)  # internal CSV: GDAL's input, deleted at once, never an output
            w.writerow(["n", "WKT"])
            w.writerows([i, t] for i, t in enumerate(texts))
        old_step = pyogrio.get_gdal_config_option("OGR_ARC_STEPSIZE")
        pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": str(ARC_STEP_DEG)})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's "Ignoring invalid WKT": checked below
                gdf = pyogrio.read_dataframe(src, KEEP_GEOM_COLUMNS="NO")
        except Exception as exc:
            raise ValueError(_gdal_message(exc)) from None
        finally:
            pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": old_step})
    if len(gdf) != len(texts) or gdf.geometry.isna().any():
        raise ValueError("GDAL cannot read it as WKT")
    return list(gdf.geometry.values)


def curved_collections(geoms) -> np.ndarray:
    """Mask of GeometryCollections that still hold curves (GDAL linearises curves only at the top level)."""
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype=bool)

    def has_curve(g) -> bool:
        try:
            parts = shapely.get_parts(g)
        except (NotImplementedError, shapely.errors.GEOSException):
            return True
        return any(has_curve(q) for q in parts if shapely.get_type_id(q) == 7)

    for i in np.flatnonzero(shapely.get_type_id(geoms) == 7):  # collections only: rare in real data
        out[i] = has_curve(geoms[i])
    return out


def _may_hold_curves(source: str, layer: str | None, info: dict) -> bool:
    """Whether a layer may hold curves or 3-D surfaces (which pyogrio's layer info reports as linear types).

    A GeoPackage says so in ``gpkg_geometry_columns``; a Shapefile or plain
    GeoJSON never does; any other driver (JSON-FG, ESRI JSON …) is scanned.
    """
    driver = info.get("driver")
    if driver in {"ESRI Shapefile", "GeoJSON"}:
        return False
    if driver == "GPKG":
        import sqlite3

        try:
            con = sqlite3.connect(Path(source).resolve().as_uri() + "?mode=ro", uri=True)
            try:
                row = con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?",
                                  (info.get("layer_name") or layer,)).fetchone()
            finally:
                con.close()
        except (sqlite3.Error, ValueError):
            return True
        name = str(row[0]).upper() if row else "GEOMETRY"
        return name not in {t.upper() for t in _LINEAR_LAYER_TYPES}
    return True


def _read(source: str, layer: str | None, encoding: str | None, path, notes: Notes | None = None,
          *, may_curve: bool = True, arrow: bool = False) -> gpd.GeoDataFrame:
    """Read one layer; curves are linearised by GDAL (reported), 3-D surfaces refused, odd field names kept.

    ``arrow``: through GDAL's Arrow stream (GeoPackage, whose text is UTF-8 by the standard: 100,000 sites
    read in 0.25 s instead of 0.6 s, the same frame).
    """
    old_step = pyogrio.get_gdal_config_option("OGR_ARC_STEPSIZE")
    pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": str(ARC_STEP_DEG)})
    try:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_M_WARNING)
                info = pyogrio.read_info(source, layer=layer, encoding=encoding)
        except Exception as exc:
            raise FormatError(f"cannot read: {_gdal_message(exc)}", path=path) from None
        fields = [str(f) for f in info.get("fields", [])]
        # names GDAL and pandas give the feature ID and the geometry, in any case ("GEOMETRY" beside the
        # geometry column would take its place)
        clash = [f for f in fields if f.casefold() in {"fid", "geometry"}]
        # GDAL linearises curves on its row path only: layers that may hold curves are read there
        curvy = may_curve and _may_hold_curves(source, layer, info)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                columns = [f for f in fields if f not in clash] if clash else None
                try:
                    gdf = pyogrio.read_dataframe(source, layer=layer, encoding=encoding, fid_as_index=True,
                                                 columns=columns, use_arrow=arrow and encoding is None and not curvy)
                except Exception as exc:
                    if not (arrow and not curvy and "Nonlinear geometry" in str(exc)):
                        raise
                    # curves in a layer that declares none (gpkg_geometry_columns says otherwise): the row
                    # path, where GDAL linearises them, reported below
                    curvy = may_curve
                    gdf = pyogrio.read_dataframe(source, layer=layer, encoding=encoding, fid_as_index=True,
                                                 columns=columns)
                extra = (pyogrio.read_dataframe(source, layer=layer, encoding=encoding, fid_as_index=True,
                                                columns=clash, read_geometry=False) if clash else None)
            for w in caught:
                if "Could not parse column" in str(w.message):
                    continue  # a JSON-subtype field holding plain text: kept as text, nothing lost
                if "Measured (M) geometry types are not supported" in str(w.message):
                    if notes is not None and not notes.by_code("drop_m"):
                        notes.add("drop_m", "M (measure) values dropped (2-D analysis)")
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        except UnicodeDecodeError as exc:
            raise FormatError(f"text is not in the declared encoding ({exc.reason})", path=path) from None
        except Exception as exc:
            if may_curve and "WKB type" in str(exc):
                wkb, fids = _layer_wkb(source, layer)
                _refuse_3d_surfaces(path, wkb_type_codes(wkb), fids)
            raise FormatError(f"cannot read: {_gdal_message(exc)}", path=path) from None
        if curvy and len(gdf):
            wkb, fids = _layer_wkb(source, layer)
            codes = wkb_type_codes(wkb)
            _refuse_3d_surfaces(path, codes, fids)
            curved = np.isin(codes, list(CURVE_TYPES))
            if curved.any() and notes is not None:
                notes.add("linearise", f"{int(curved.sum())} curved geometries ({_type_names(codes[curved])}) "
                          f"linearised by GDAL: {arc_tolerance_text()}", fids[curved])
    finally:
        pyogrio.set_gdal_config_options({"OGR_ARC_STEPSIZE": old_step})
    gdf.index.name = "fid"
    gdf = gdf.reset_index()
    if extra is not None:
        for col in clash:
            new = f"{col}_attr"
            while new.casefold() in {str(c).casefold() for c in gdf.columns}:
                new += "_"
            gdf[new] = extra[col].to_numpy()
            if notes is not None:
                notes.add("alias", f"field {col!r} renamed {new!r}: the name is taken by the feature ID or geometry")
    return gdf


_SQLITE_MAGIC = b"SQLite format 3\x00"
#: First bytes of dBASE tables in the wild (III, IV, 5, FoxPro, Visual FoxPro, with or without memo).
_DBF_VERSIONS = frozenset({0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB})


def check_magic(path: str | Path, fmt: str) -> None:
    """Refuse a file whose first bytes do not belong to ``fmt`` (GDAL picks drivers by content, not extension).

    Without this a ``.geojson`` or ``.shp`` that is really, say, a GDAL VRT
    document could make GDAL open other files the user never gave.
    """
    with open(path, "rb") as fh:
        head = fh.read(100)
    if fmt == "gpkg" and not head.startswith(_SQLITE_MAGIC):
        raise FormatError("is not a GeoPackage (no SQLite header)", path=path, where="byte 0")
    if fmt == "geojson":
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not text.startswith(b"{"):
            raise FormatError("is not GeoJSON: a GeoJSON file starts with '{'", path=path, where="byte 0")
    if fmt == "shapefile" and (len(head) < 100 or head[:4] != b"\x00\x00\x27\x0a"):
        raise FormatError("is not a shapefile: its header is missing or wrong (file code 9994)", path=path,
                          where="byte 0")


def check_dbf(data: bytes, *, path, where: str | None = None) -> None:
    """Check a ``.dbf``'s header against its length: a record cut short or a lying record count is refused.

    GDAL reads a broken ``.dbf`` as no attributes at all, which would drop
    every attribute silently.
    """
    label = where or "the .dbf file"
    if len(data) < 32 or data[0] not in _DBF_VERSIONS:
        raise FormatError(f"{label} is not a dBASE table (bad header)", path=path, where="byte 0 of the .dbf")
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    if header_len < 33 or record_len < 1 or header_len > len(data):
        raise FormatError(f"{label} has a broken header (header {header_len} bytes, records {record_len} bytes)",
                          path=path, where="byte 8 of the .dbf")
    have = (len(data) - header_len) // record_len
    if have < n_records:
        raise FormatError(
            f"{label} is cut short: its header declares {n_records} records of {record_len} bytes but the file "
            f"holds {have} whole records",
            path=path, where=f"record {have + 1} of the .dbf",
            hint="copy the .dbf again; ecogis never reads a layer with its attributes missing",
        )


#: Shapefile shape types (ESRI Shapefile Technical Description, 1998).
SHAPE_TYPES = {
    0: "Null", 1: "Point", 3: "PolyLine", 5: "Polygon", 8: "MultiPoint", 11: "PointZ", 13: "PolyLineZ",
    15: "PolygonZ", 18: "MultiPointZ", 21: "PointM", 23: "PolyLineM", 25: "PolygonM", 28: "MultiPointM",
    31: "MultiPatch",
}


def check_record_counts(shp, shp_size: int, shx: bytes, dbf: bytes, *, path, stem: str = "") -> None:
    """Refuse a shapefile whose ``.shp``, ``.shx`` and ``.dbf`` do not hold the same number of records.

    GDAL takes the count from the ``.shx`` and the attributes from the
    ``.dbf`` by position, so a mismatch drops shapes or shifts attributes
    onto the wrong shapes without a word.  ``shp`` is a seekable binary file
    (a plain file or a zip member).  A 3-D MultiPatch shapefile is refused
    here too.
    """
    shp.seek(0)
    head = shp.read(100)
    shape_type = struct.unpack("<i", head[32:36])[0] if len(head) >= 36 else -1
    if shape_type == 31:
        raise FormatError(
            "is a 3-D MultiPatch shapefile (shape type 31: surfaces such as buildings or TINs), which ecogis does "
            "not read", path=path, where=f"{stem}.shp byte 32" if stem else "byte 32",
            hint="export the footprints as a Polygon or PolygonZ shapefile first (ArcGIS: Multipatch Footprint; "
                 "GDAL: ogr2ogr -nlt MULTIPOLYGON out.shp in.shp)",
        )
    if shape_type not in SHAPE_TYPES:
        raise FormatError(f"has an unknown shape type {shape_type} in its header", path=path,
                          where=f"{stem}.shp byte 32" if stem else "byte 32")
    if len(shx) < 100 or (len(shx) - 100) % 8:
        raise FormatError(f"the .shx index is cut short ({len(shx)} bytes: 100 of header and 8 per record)",
                          path=path, where=f"{stem}.shx" if stem else ".shx",
                          hint="copy the .shx again, or rebuild it (GDAL: SHAPE_RESTORE_SHX=YES)")
    n_shx = (len(shx) - 100) // 8
    index = np.frombuffer(shx, dtype=">i4", offset=100).reshape(-1, 2).astype(np.int64) * 2
    end = int((index[:, 0] + 8 + index[:, 1]).max()) if n_shx else 100
    if end > shp_size:
        k = int(np.argmax(index[:, 0] + 8 + index[:, 1] > shp_size))
        raise FormatError(
            f"the .shx points past the end of the .shp: record {k + 1} at byte {int(index[k, 0])} of a "
            f"{shp_size}-byte file", path=path, where=f"record {k + 1} of the .shx",
            hint="the .shp is cut short or the .shx belongs to another file; copy both again",
        )
    extra, pos = 0, end
    shp.seek(pos)
    while shp_size - pos >= 8:  # records after the last one the .shx knows (usually none)
        rec = shp.read(8)
        length = struct.unpack(">i", rec[4:8])[0] * 2
        if length < 4 or pos + 8 + length > shp_size:
            break
        extra += 1
        pos += 8 + length
        shp.seek(pos)
    n_shp = n_shx + extra
    n_dbf = struct.unpack("<I", dbf[4:8])[0]
    header_len, record_len = struct.unpack("<HH", dbf[8:12])
    stored = (len(dbf) - header_len) // record_len
    if stored > n_dbf and not (stored == n_dbf + 1 and record_len == 1):
        raise FormatError(
            f"the .dbf header declares {n_dbf} records but the file holds {stored}", path=path,
            where=f"record {n_dbf + 1} of the .dbf",
            hint="the .dbf was written by a broken tool; ecogis does not guess which records belong to the shapes",
        )
    if not n_shp == n_shx == n_dbf:
        name = f"{stem}" if stem else Path(str(path)).stem
        raise FormatError(
            f"record counts disagree: {name}.shp holds {n_shp} shapes, {name}.shx indexes {n_shx} and "
            f"{name}.dbf holds {n_dbf} attribute records; shapes would be lost or attributes shifted onto the "
            "wrong shapes", path=path, where=f"record {min(n_shp, n_shx, n_dbf) + 1}",
            hint="copy all parts of the shapefile again from the same export",
        )


def read_gpkg(path: str | Path, *, layer: str | None = None, prefer: str | None = None, notes: Notes | None = None):
    """One layer of a GeoPackage; ``prefer`` names the layer to take when there are several."""
    notes = notes if notes is not None else Notes()
    check_magic(path, "gpkg")
    name = _pick_layer(path, list_layers(path), layer, prefer)
    with gdal_source(path) as src:
        gdf = _read(src, name, None, path, notes, arrow=True)
    if name != layer:
        notes.add("layer", f"read layer {name!r}")
    return gdf


def json_error(path: str | Path) -> FormatError | None:
    """Where a JSON file is broken, as a :class:`FormatError` naming the line and column; ``None`` if it parses.

    Only called after GDAL has failed, so a valid file is never parsed twice.
    """
    import json

    from ecogis.read.encoding import read_text

    try:
        text, _ = read_text(path)
        json.loads(text)
    except json.JSONDecodeError as exc:
        return FormatError(f"invalid JSON: {exc.msg}", path=path, where=f"line {exc.lineno}, column {exc.colno}")
    except RecursionError:
        return FormatError("invalid GeoJSON: arrays or objects nested too deeply", path=path, where="byte 0")
    except EcogisError as exc:
        return FormatError(f"invalid JSON: {exc.message}", path=path, where=exc.where)
    except ValueError as exc:  # e.g. numbers too long to convert
        return FormatError(f"invalid JSON: {exc}", path=path)
    return None


def read_geojson(path: str | Path, *, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """A GeoJSON file.  Without a legacy ``crs`` member, RFC 7946 makes it WGS84 lon/lat."""
    notes = notes if notes is not None else Notes()
    check_magic(path, "geojson")
    head = Path(path).read_bytes()[:4096]
    try:
        with gdal_source(path) as src:
            gdf = _read(src, None, None, path, notes)
    except FormatError:
        better = json_error(path)
        if better is not None:
            raise better from None
        raise
    if b'"crs"' not in head and gdf.crs is not None and gdf.crs.to_epsg() == 4326:
        notes.add("crs", "GeoJSON without a crs member is WGS84 lon/lat by RFC 7946 (EPSG:4326)")
    return gdf


def _shp_encoding(cpg_text: str | None, dbf_guess: str | None, path, notes: Notes) -> str | None:
    declared = _CPG_ALIASES.get(cpg_text.strip().casefold()) if cpg_text else None
    if cpg_text and declared is None:
        declared = cpg_text.strip()
    if dbf_guess is None:
        return declared
    if declared is None:
        notes.add("encoding", f"no .cpg file; attribute text detected as {dbf_guess}")
        return dbf_guess
    fam = {"UTF-8": "utf", "GBK": "gb", "GB18030": "gb"}
    if fam.get(declared) is None and _is_codec(declared):
        # a .cpg naming another code page (ISO-8859-1, 1252 …): single-byte text decodes as GBK too, so the
        # detection cannot overrule it
        notes.add("encoding", f"attribute text read as {cpg_text.strip()} (.cpg); if it looks garbled, "
                  "pass --encoding gbk or utf-8")
        return declared
    if fam.get(declared) != fam.get(dbf_guess):
        notes.add("encoding", f".cpg says {cpg_text.strip()} but the attribute text is {dbf_guess}; read as {dbf_guess}")
        return dbf_guess
    return declared


def _is_codec(name: str) -> bool:
    import codecs

    try:
        codecs.lookup(name)
        return True
    except LookupError:
        return False


def check_shapefile(path: str | Path) -> None:
    """Check a ``.shp``'s parts before GDAL sees it: ``.shx`` and ``.dbf`` present, headers sound."""
    p = Path(path)
    for ext in (".shx", ".dbf"):
        if not _sidecar(p, ext):
            raise FormatError(f"the shapefile's {ext} file is missing", path=p, hint="copy all parts: .shp .shx .dbf .prj .cpg")
    check_magic(p, "shapefile")
    dbf = _sidecar(p, ".dbf").read_bytes()
    check_dbf(dbf, path=p)
    with open(p, "rb") as fh:
        check_record_counts(fh, p.stat().st_size, _sidecar(p, ".shx").read_bytes(), dbf, path=p)


def read_shapefile(path: str | Path, *, encoding: str | None = None, notes: Notes | None = None):
    """A ``.shp`` with its sidecars; ``.shx`` and ``.dbf`` must be there."""
    notes = notes if notes is not None else Notes()
    p = Path(path)
    check_shapefile(p)
    if encoding is None:
        cpg = _sidecar(p, ".cpg")
        cpg_text = cpg.read_text(errors="replace") if cpg else None
        encoding = _shp_encoding(cpg_text, dbf_text_encoding(_sidecar(p, ".dbf")), p, notes)
    if not _sidecar(p, ".prj"):
        notes.add("crs", "the shapefile has no .prj file")
    with gdal_source(p) as src:
        return _read(src, None, encoding, p, notes, may_curve=False)


def _sidecar(shp: Path, ext: str) -> Path | None:
    for cand in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if cand.exists():
            return cand
    return None


def zip_shapefile(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
                  notes: Notes | None = None) -> tuple[str, str | None]:
    """Check a zipped shapefile and pick its member; return ``(GDAL source, encoding)``.

    The archive is checked (member paths, counts, expanded size; see
    :mod:`ecogis.read.archive`), nested archives are refused, the ``.shp``'s
    header and the ``.dbf`` are checked, and nothing is extracted.
    """
    notes = notes if notes is not None else Notes()
    with open_zip(path) as zf:
        if members_with_suffix(zf, ".zip"):
            raise FormatError("archive contains another zip archive; unpack the inner one first", path=path,
                              where=members_with_suffix(zf, ".zip")[0])
        shps = members_with_suffix(zf, ".shp")
        if not shps:
            inner = members_with_suffix(zf, ".gpkg") + members_with_suffix(zf, ".geojson")
            hint = f"it holds {', '.join(inner)}; unzip it" if inner else None
            raise FormatError("zip archive contains no shapefile (.shp)", path=path, hint=hint)
        stems = [s[:-4] for s in shps]
        if layer is not None:
            match = [s for s in stems if Path(s).name == layer or s == layer]
            if not match:
                raise FormatError(f"no shapefile {layer!r} in the archive", path=path, hint=f"present: {', '.join(stems)}")
            stem = match[0]
        elif len(stems) == 1:
            stem = stems[0]
        else:
            raise FormatError(
                f"archive holds {len(stems)} shapefiles; say which one",
                path=path,
                hint=f"--layer one of: {', '.join(Path(s).name for s in stems)}",
            )
        names = {n.lower(): n for n in zf.namelist()}
        for ext in (".shx", ".dbf"):
            if (stem + ext).lower() not in names:
                raise FormatError(f"the shapefile's {ext} file is missing from the archive", path=path, where=stem + ".shp")
        shp_name = names[(stem + ".shp").lower()]
        with zf.open(shp_name) as fh:
            head = fh.read(100)
        if len(head) < 100 or head[:4] != b"\x00\x00\x27\x0a":
            raise FormatError("is not a shapefile: its header is missing or wrong (file code 9994)", path=path,
                              where=shp_name)
        dbf_bytes = read_member(zf, names[(stem + ".dbf").lower()], path=path)
        check_dbf(dbf_bytes, path=path, where=f"{stem}.dbf")
        shx_bytes = read_member(zf, names[(stem + ".shx").lower()], path=path)
        with zf.open(shp_name) as fh:
            check_record_counts(fh, zf.getinfo(shp_name).file_size, shx_bytes, dbf_bytes, path=path, stem=stem)
        if encoding is None:
            cpg = names.get((stem + ".cpg").lower())
            cpg_text = read_member(zf, cpg, path=path).decode("ascii", "replace") if cpg else None
            encoding = _shp_encoding(cpg_text, _guess_dbf_bytes(dbf_bytes), path, notes)
        if (stem + ".prj").lower() not in names:
            notes.add("crs", "the shapefile in the archive has no .prj file")
    if len(stems) > 1:
        notes.add("layer", f"read {stem}.shp of {len(stems)} shapefiles in the archive")
    return f"/vsizip/{Path(path).resolve()}/{shp_name}", encoding


def read_zip(path: str | Path, *, layer: str | None = None, encoding: str | None = None, notes: Notes | None = None):
    """A zipped shapefile (or several: pick one with ``layer``), read in place through /vsizip/."""
    notes = notes if notes is not None else Notes()
    source, encoding = zip_shapefile(path, layer=layer, encoding=encoding, notes=notes)
    return _read(source, None, encoding, path, notes, may_curve=False)


def _guess_dbf_bytes(data: bytes) -> str | None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".dbf") as fh:
        fh.write(data)
        fh.flush()
        return dbf_text_encoding(fh.name)
