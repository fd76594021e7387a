"""GeoPackage, Shapefile (plain or zipped) and GeoJSON through pyogrio.

pyogrio reads a whole layer into columns at once (GDAL's Arrow path), which
is what the bulk of the work wants.  Shapefile text encodings are honoured
from ``.cpg`` and detected (UTF-8 vs GBK) when it is missing or wrong.
"""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pyogrio

from ecogis.errors import EcogisError, FormatError
from ecogis.notes import Notes
from ecogis.read.archive import members_with_suffix, open_zip, read_member
from ecogis.read.encoding import dbf_text_encoding

_CPG_ALIASES = {
    "utf8": "UTF-8", "utf-8": "UTF-8", "65001": "UTF-8", "gbk": "GBK", "936": "GBK", "cp936": "GBK",
    "gb2312": "GBK", "gb18030": "GB18030", "54936": "GB18030",
}


def list_layers(path: str | Path) -> list[str]:
    """Names of the vector layers in a GeoPackage (attribute tables left out)."""
    try:
        return [str(n) for n, g in pyogrio.list_layers(path) if g is not None]
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


def _read(source: str, layer: str | None, encoding: str | None, path) -> gpd.GeoDataFrame:
    try:
        gdf = pyogrio.read_dataframe(source, layer=layer, encoding=encoding, fid_as_index=True)
    except UnicodeDecodeError as exc:
        raise FormatError(f"text is not in the declared encoding ({exc.reason})", path=path) from None
    except Exception as exc:
        raise FormatError(f"cannot read: {_gdal_message(exc)}", path=path) from None
    gdf.index.name = "fid"
    return gdf.reset_index()


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


def read_gpkg(path: str | Path, *, layer: str | None = None, prefer: str | None = None, notes: Notes | None = None):
    """One layer of a GeoPackage; ``prefer`` names the layer to take when there are several."""
    notes = notes if notes is not None else Notes()
    check_magic(path, "gpkg")
    name = _pick_layer(path, list_layers(path), layer, prefer)
    gdf = _read(str(path), name, None, path)
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
        gdf = _read(str(path), None, None, path)
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
    if fam.get(declared) != fam.get(dbf_guess):
        notes.add("encoding", f".cpg says {cpg_text.strip()} but the attribute text is {dbf_guess}; read as {dbf_guess}")
        return dbf_guess
    return declared


def check_shapefile(path: str | Path) -> None:
    """Check a ``.shp``'s parts before GDAL sees it: ``.shx`` and ``.dbf`` present, headers sound."""
    p = Path(path)
    for ext in (".shx", ".dbf"):
        if not _sidecar(p, ext):
            raise FormatError(f"the shapefile's {ext} file is missing", path=p, hint="copy all parts: .shp .shx .dbf .prj .cpg")
    check_magic(p, "shapefile")
    check_dbf(_sidecar(p, ".dbf").read_bytes(), path=p)


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
    return _read(str(p), None, encoding, p)


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
    return _read(source, None, encoding, path)


def _guess_dbf_bytes(data: bytes) -> str | None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".dbf") as fh:
        fh.write(data)
        fh.flush()
        return dbf_text_encoding(fh.name)
