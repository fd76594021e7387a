#!/usr/bin/env python
"""Build the corpus of broken and hostile inputs (issue 8).

Every file of the corpus is generated here, so no binary is committed; the
expected outcome of each is in ``tests/corpus/manifest.yaml``.  The test
session builds the corpus into a temporary folder::

    python tests/corpus/build.py OUT_DIR          # build every file (or scripts/build_corpus.py)
    python tests/corpus/build.py --summary        # counts by format and outcome

Each builder writes one corpus file (and its sidecars, for shapefiles) at the
path it is given.  The key of :data:`BUILDERS` is the file's path relative to
the corpus folder, which is what the manifest's ``file`` field names.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import struct
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "tests" / "corpus" / "manifest.yaml"
THIRD_PARTY = REPO / "tests" / "data" / "third_party"

BUILDERS: dict[str, Callable[[Path], None]] = {}


def builder(*names: str):
    """Register a builder under one or more corpus paths (it gets the path to write)."""

    def deco(fn):
        for n in names:
            BUILDERS[n] = fn
        return fn

    return deco


# =============================================================================== 国土TXT
# A valid parcel near Xilinhot (CGCS2000 3-degree GK zone 39, zone number in front).
GUOTU = [
    "[属性描述]",  # 1
    "坐标系=2000国家大地坐标系",  # 2
    "几度分带=3",  # 3
    "投影类型=高斯克吕格",  # 4
    "计量单位=米",  # 5
    "带号=39",  # 6
    "[地块坐标]",  # 7
    "5,0.5400,P1,测试地块,面,,,,@",  # 8
    "J1,1,4862950.000,39419700.000",  # 9
    "J2,1,4862950.000,39419790.000",  # 10
    "J3,1,4862890.000,39419790.000",  # 11
    "J4,1,4862890.000,39419700.000",  # 12
    "J1,1,4862950.000,39419700.000",  # 13
]
HOLE3 = [
    "J5,3,4862930.000,39419720.000",
    "J6,3,4862910.000,39419720.000",
    "J7,3,4862910.000,39419740.000",
    "J8,3,4862930.000,39419740.000",
    "J5,3,4862930.000,39419720.000",
]


def guotu(changes: dict[int, str | None] | None = None, *, keep: int | None = None, extra=(), base=GUOTU) -> str:
    """The valid file with lines replaced (``None`` deletes), cut to ``keep`` lines, ``extra`` appended."""
    lines = list(base[:keep] if keep else base)
    for no, new in (changes or {}).items():
        lines[no - 1] = new
    return "\r\n".join([ln for ln in lines if ln is not None] + list(extra)) + "\r\n"


def _swap(line: str) -> str:
    pid, ring, x, y = line.split(",")
    return f"{pid},{ring},{y},{x}"


def _text(content: str, encoding: str = "utf-8"):
    def write(path: Path) -> None:
        path.write_bytes(content.encode(encoding))

    return write


def _bytes(content: bytes):
    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


_G = {
    "guotu/valid.txt": _text(guotu()),
    "guotu/valid_gbk.txt": _text(guotu({8: "5,0.5400,P1,测试地块（国标码）,面,K50G001001,采矿用地,0602,@"}), "gbk"),
    "guotu/valid_utf16.txt": _text("\ufeff" + guotu(), "utf-16-le"),
    "guotu/truncated_mid_line.txt": _bytes(guotu(keep=12).encode() + b"J1,1,48629"),
    "guotu/truncated_mid_header.txt": _bytes(guotu(keep=7).encode() + "5,0.54,P1,测".encode()),
    "guotu/truncated_mid_character.txt": _bytes(guotu(keep=7).encode() + "5,0.54,P1,测".encode()[:-1]),
    "guotu/count_too_high.txt": _text(guotu({8: "9,0.5400,P1,测试地块,面,,,,@"})),
    "guotu/count_too_low.txt": _text(guotu({8: "3,0.5400,P1,测试地块,面,,,,@"})),
    "guotu/count_not_integer.txt": _text(guotu({8: "五,0.5400,P1,测试地块,面,,,,@"})),
    "guotu/ring_not_closed.txt": _text(guotu({13: "J1,1,4862950.000,39419705.000"})),
    "guotu/ring_closing_line_missing.txt": _text(guotu({8: "4,0.5400,P1,测试地块,面,,,,@", 13: None})),
    "guotu/ring_out_of_order.txt": _text(guotu({8: "10,0.5000,P1,测试地块,面,,,,@"}, extra=HOLE3)),
    "guotu/ring_starts_at_2.txt": _text(guotu({i: GUOTU[i - 1].replace(",1,", ",2,") for i in range(9, 14)})),
    "guotu/ring_number_text.txt": _text(guotu({10: "J2,一,4862950.000,39419790.000"})),
    "guotu/ring_too_few_points.txt": _text(guotu({8: "3,0.0000,P1,测试地块,面,,,,@", 11: None, 12: None})),
    "guotu/coordinate_not_number.txt": _text(guotu({11: "J3,1,4862890.0O0,39419790.000"})),
    "guotu/coordinate_nan.txt": _text(guotu({11: "J3,1,NaN,39419790.000"})),
    "guotu/coordinate_inf.txt": _text(guotu({12: "J4,1,4862890.000,-Infinity"})),
    "guotu/coordinate_huge.txt": _text(guotu({12: "J4,1,4862890.000,1e309"})),
    "guotu/coordinate_megabyte.txt": _text(guotu({12: "J4,1,4862890.000," + "9" * 1_000_000})),
    "guotu/coordinates_outside_zone.txt": _text(guotu({i: GUOTU[i - 1].replace(",394", ",399") for i in range(9, 14)})),
    "guotu/coordinates_other_zone_prefix.txt": _text(guotu({6: "带号=40"})),
    "guotu/xy_swapped.txt": _text(guotu({i: _swap(GUOTU[i - 1]) for i in range(9, 14)})),
    "guotu/zero_bytes.txt": _bytes(b""),
    "guotu/whitespace_only.txt": _text("\r\n   \r\n\t\r\n"),
    "guotu/binary_png.txt": _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4),
    "guotu/binary_random.txt": _bytes(random.Random(8).randbytes(4096)),
    "guotu/binary_after_header.txt": _bytes("[属性描述]\r\n带号=39\r\n".encode() + b"\x00\x01\x02\xff" * 64),
    "guotu/vertex_before_header.txt": _text(guotu({8: None})),
    "guotu/vertex_three_fields.txt": _text(guotu({10: "J2,1,4862950.000"})),
    "guotu/header_too_few_fields.txt": _text(guotu({8: "5,0.54,P1,面,@"})),
    "guotu/unknown_record_type.txt": _text(guotu({8: "5,0.5400,P1,测试地块,<script>,,,,@"})),
    "guotu/unsupported_datum.txt": _text(guotu({2: "坐标系=1980西安坐标系"})),
    "guotu/units_kilometres.txt": _text(guotu({5: "计量单位=千米"})),
    "guotu/no_coordinate_section.txt": _text(guotu(keep=6)),
    "guotu/no_parcels.txt": _text(guotu(keep=7)),
    "guotu/bowtie_parcel.txt": _text(guotu({11: "J3,1,4862890.000,39419700.000", 12: "J4,1,4862890.000,39419790.000"})),
    "guotu/hostile_parcel_name.txt": _text(guotu({8: "5,0.5400,P1,<script>alert('国土')</script>\u202e\x07,面,,,,@"})),
    "guotu/html_parcel_name.txt": _text(guotu({8: "5,0.5400,P1,<script>alert('国土')</script>\u202e地块,面,,,,@"})),
    "guotu/parcel_name_megabyte.txt": _text(guotu({8: "5,0.5400,P1," + "名" * 350_000 + ",面,,,,@"})),
    "guotu/many_vertices.txt": _text(guotu(
        {8: "2001,0.0000,P1,多点地块,面,,,,@"},
        keep=8,
        extra=[f"J{i + 1},1,{4862950 - (i % 1000) * 0.05:.3f},{39419700 + (i // 1000) * 50 + (i % 2) * 0.01:.3f}"
               for i in range(2000)] + ["J1,1,4862950.000,39419700.000"],
    )),
}
for _name, _fn in _G.items():
    BUILDERS[_name] = _fn


# =============================================================================== shapefiles
def _polygon_lonlat() -> list[tuple[float, float]]:
    """The valid 国土TXT parcel as CGCS2000 lon/lat (a closed, clockwise ring)."""
    return [(116.0, 43.9), (116.001, 43.9), (116.001, 43.899), (116.0, 43.899), (116.0, 43.9)]


PRJ_4490 = (
    'GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
)


def _shp_record(shape_type: int, parts: list[list[tuple[float, float]]]) -> bytes:
    """The content of one shapefile record (null, point or polygon)."""
    if shape_type == 0:
        return struct.pack("<i", 0)
    pts = [p for part in parts for p in part]
    if shape_type == 1:
        return struct.pack("<idd", 1, *pts[0])
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    box = (min(xs), min(ys), max(xs), max(ys)) if pts else (0.0, 0.0, 0.0, 0.0)
    out = struct.pack("<i4dii", shape_type, *box, len(parts), len(pts))
    start = 0
    for part in parts:
        out += struct.pack("<i", start)
        start += len(part)
    for x, y in pts:
        out += struct.pack("<dd", x, y)
    return out


def write_shapefile(
    shp: Path,
    records: list[tuple[int, list[list[tuple[float, float]]]]],
    attrs: list[dict[str, bytes]],
    *,
    file_type: int = 5,
    prj: str | None = PRJ_4490,
    cpg: str | None = "UTF-8",
) -> None:
    """A shapefile written byte by byte, so that any defect can be put in it.

    ``records`` are ``(shape type, parts)``; ``attrs`` the already-encoded
    text fields of each record (all fields type C, width 254 at most).
    """
    bodies = [_shp_record(t, parts) for t, parts in records]
    all_pts = [p for _, parts in records for part in parts for p in part]
    box = (
        (min(p[0] for p in all_pts), min(p[1] for p in all_pts), max(p[0] for p in all_pts), max(p[1] for p in all_pts))
        if all_pts else (0.0, 0.0, 0.0, 0.0)
    )

    def header(length_bytes: int) -> bytes:
        return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_bytes // 2) + struct.pack("<ii8d", 1000, file_type, *box,
                                                                                        0, 0, 0, 0)

    main, index, offset = b"", b"", 100
    for i, body in enumerate(bodies, start=1):
        main += struct.pack(">ii", i, len(body) // 2) + body
        index += struct.pack(">ii", offset // 2, len(body) // 2)
        offset += 8 + len(body)
    shp.write_bytes(header(100 + len(main)) + main)
    shp.with_suffix(".shx").write_bytes(header(100 + len(index)) + index)
    names = list(attrs[0]) if attrs else ["name"]
    widths = {n: max([len(a.get(n, b"")) for a in attrs] + [1]) for n in names}
    widths = {n: min(w, 254) for n, w in widths.items()}
    rec_len = 1 + sum(widths.values())
    hdr_len = 32 + 32 * len(names) + 1
    dbf = struct.pack("<B3BIHH20x", 3, 124, 1, 1, len(attrs), hdr_len, rec_len)
    for n in names:
        dbf += struct.pack("<11sc4xBB14x", n.encode("ascii")[:10], b"C", widths[n], 0)
    dbf += b"\r"
    for a in attrs:
        dbf += b" " + b"".join(a.get(n, b"").ljust(widths[n], b" ")[: widths[n]] for n in names)
    dbf += b"\x1a"
    shp.with_suffix(".dbf").write_bytes(dbf)
    if prj is not None:
        shp.with_suffix(".prj").write_text(prj, encoding="ascii")
    if cpg is not None:
        shp.with_suffix(".cpg").write_text(cpg, encoding="ascii")


def _poly(dx: float = 0.0) -> list[tuple[float, float]]:
    return [(x + dx, y) for x, y in _polygon_lonlat()]


def _shp(records=None, attrs=None, **kw):
    records = records if records is not None else [(5, [_poly()]), (5, [_poly(0.01)])]
    attrs = attrs if attrs is not None else [{"name": f"地块{i + 1}".encode()} for i in range(len(records))]

    def write(path: Path) -> None:
        write_shapefile(path, records, attrs, **kw)

    return write


def _shp_then(after: Callable[[Path], None], **kw):
    def write(path: Path) -> None:
        _shp(**kw)(path)
        after(path)

    return write


def _truncate_dbf_record(shp: Path) -> None:
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    dbf.write_bytes(data[: len(data) - 20])  # the last record cut short, no EOF marker


def _dbf_count_lies(shp: Path) -> None:
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[4:8] = struct.pack("<I", 50)  # header claims 50 records, holds 2
    dbf.write_bytes(bytes(data))


def _dbf_garbage(shp: Path) -> None:
    shp.with_suffix(".dbf").write_bytes(random.Random(3).randbytes(300))


def _shx_garbage(shp: Path) -> None:
    data = bytearray(shp.with_suffix(".shx").read_bytes())
    data[108:112] = struct.pack(">i", 10_000_000)  # second record's offset far past the end
    shp.with_suffix(".shx").write_bytes(bytes(data))


def _unlink(ext: str):
    def after(shp: Path) -> None:
        shp.with_suffix(ext).unlink()

    return after


_NAN, _INF = float("nan"), float("inf")
_S = {
    "shp/valid/valid.shp": _shp(),
    "shp/missing_shx/parcels.shp": _shp_then(_unlink(".shx")),
    "shp/missing_dbf/parcels.shp": _shp_then(_unlink(".dbf")),
    "shp/missing_prj/parcels.shp": _shp(prj=None),
    "shp/missing_cpg_gbk/parcels.shp": _shp(attrs=[{"name": "测试地块一".encode("gbk")}, {"name": "测试地块二".encode("gbk")}],
                                            cpg=None),
    "shp/wrong_cpg/parcels.shp": _shp(attrs=[{"name": "测试地块一".encode("gbk")}, {"name": "测试地块二".encode("gbk")}],
                                      cpg="UTF-8"),
    "shp/nonsense_cpg/parcels.shp": _shp(attrs=[{"name": "测试地块一".encode("gbk")}, {"name": "测试地块二".encode("gbk")}],
                                         cpg="KLINGON-8"),
    "shp/broken_dbf_record/parcels.shp": _shp_then(_truncate_dbf_record, attrs=[
        {"name": f"测试地块{i}号（第二期工程用地范围）".encode()} for i in range(1, 3)]),
    "shp/dbf_count_lies/parcels.shp": _shp_then(_dbf_count_lies),
    "shp/dbf_garbage/parcels.shp": _shp_then(_dbf_garbage),
    "shp/shx_offset_past_end/parcels.shp": _shp_then(_shx_garbage),
    "shp/zero_features/parcels.shp": _shp(records=[], attrs=[]),
    "shp/mixed_types/parcels.shp": _shp(records=[(5, [_poly()]), (1, [[(116.005, 43.8995)]])]),
    "shp/null_shape/parcels.shp": _shp(records=[(5, [_poly()]), (0, [])]),
    "shp/all_null_shapes/parcels.shp": _shp(records=[(0, []), (0, [])]),
    "shp/bowtie/parcels.shp": _shp(records=[(5, [[(116.0, 43.9), (116.001, 43.899), (116.0, 43.899),
                                                  (116.001, 43.9), (116.0, 43.9)]]), (5, [_poly(0.01)])]),
    "shp/ring_three_points/parcels.shp": _shp(records=[(5, [[(116.0, 43.9), (116.001, 43.899), (116.0, 43.9)]]),
                                                       (5, [_poly(0.01)])]),
    "shp/nan_coordinates/parcels.shp": _shp(records=[(5, [[(116.0, 43.9), (_NAN, 43.899), (116.0, 43.899),
                                                          (116.0, 43.9)]]), (5, [_poly(0.01)])]),
    "shp/inf_coordinates/parcels.shp": _shp(records=[(5, [[(116.0, 43.9), (_INF, 43.899), (116.0, 43.899),
                                                          (116.0, 43.9)]]), (5, [_poly(0.01)])]),
    "shp/projected_in_geographic_prj/parcels.shp": _shp(records=[(5, [[(419700.0, 4862950.0), (419790.0, 4862950.0),
                                                                      (419790.0, 4862890.0), (419700.0, 4862890.0),
                                                                      (419700.0, 4862950.0)]])]),
    "shp/not_a_shapefile/parcels.shp": _shp_then(lambda p: p.write_bytes(b"<OGRVRTDataSource/>" + b" " * 200)),
    "shp/hostile_attributes/parcels.shp": _shp(attrs=[
        {"name": "<script>alert(1)</script>".encode(), "note": "'; DROP TABLE redline; --".encode()},
        {"name": "\u202egnp.exe\u202c".encode(), "note": "line\x00break\x1b[31m".encode()}]),
}
for _name, _fn in _S.items():
    BUILDERS[_name] = _fn


# =============================================================================== GeoJSON
def _fc(features: list[dict], **extra) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}, ensure_ascii=False)


def _feat(geom, **props) -> dict:
    return {"type": "Feature", "properties": {"name": "测试地块", **props}, "geometry": geom}


def _gpoly(dx=0.0, ring=None):
    return {"type": "Polygon", "coordinates": [[list(p) for p in (ring or _poly(dx))]]}


_LEGACY_4527 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4527"}}
_LEGACY_4490 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}

HOSTILE = {
    "html": "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    "attr": "\"><svg/onload=alert(2)>",
    "sql": "x'); DROP TABLE ecogis_layers; --",
    "rtl": "\u202e\u2067evil\u2069 \u200f地块",
    "control": "a\x00b\x07c\x1b[2Jd\x7f",
    "big": "长" * (1 << 20),
}

_J = {
    "geojson/valid.geojson": _text(_fc([_feat(_gpoly()), _feat(_gpoly(0.01))])),
    "geojson/invalid_json_truncated.geojson": _text(_fc([_feat(_gpoly())])[:-40]),
    "geojson/invalid_json_garbage.geojson": _bytes(random.Random(5).randbytes(2048)),
    "geojson/not_geojson_array.geojson": _text("[1, 2, 3]"),
    "geojson/zero_bytes.geojson": _bytes(b""),
    "geojson/legacy_crs_disagrees.geojson": _text(_fc([_feat(_gpoly())], crs=_LEGACY_4527)),
    "geojson/metres_without_crs.geojson": _text(_fc([_feat(_gpoly(ring=[(39419700.0, 4862950.0), (39419790.0, 4862950.0),
                                                                       (39419790.0, 4862890.0), (39419700.0, 4862890.0),
                                                                       (39419700.0, 4862950.0)]))])),
    "geojson/lat_lon_order.geojson": _text(_fc([_feat(_gpoly(ring=[(y, x) for x, y in _poly()]))])),
    "geojson/nested_geometry_collection.geojson": _text(_fc([_feat({
        "type": "GeometryCollection",
        "geometries": [_gpoly(), {"type": "GeometryCollection", "geometries": [
            _gpoly(0.01), {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [116.03, 43.9]}]}]}],
    })], crs=_LEGACY_4490)),
    "geojson/empty_geometries.geojson": _text(_fc([
        _feat(_gpoly()), _feat(None, name="无几何"), _feat({"type": "Polygon", "coordinates": []}, name="空多边形")])),
    "geojson/all_empty_geometries.geojson": _text(_fc([_feat(None), _feat({"type": "MultiPolygon", "coordinates": []})])),
    "geojson/zero_features.geojson": _text(_fc([])),
    "geojson/three_d.geojson": _text(_fc([_feat({"type": "Polygon", "coordinates": [[[x, y, 812.5] for x, y in _poly()]]})])),
    "geojson/bowtie.geojson": _text(_fc([_feat(_gpoly(ring=[(116.0, 43.9), (116.001, 43.899), (116.0, 43.899),
                                                            (116.001, 43.9), (116.0, 43.9)]))])),
    "geojson/out_of_range.geojson": _text(_fc([_feat(_gpoly(ring=[(200.0, 95.0), (201.0, 95.0), (201.0, 96.0),
                                                                  (200.0, 95.0)]))])),
    "geojson/huge_number.geojson": _text(_fc([_feat(_gpoly())]).replace("116.001", "1e999", 1)),
    "geojson/deep_nesting.geojson": _text('{"type":"FeatureCollection","features":[' + "[" * 20000 + "]" * 20000 + "]}"),
    "geojson/vrt_disguised.geojson": _text(
        '<OGRVRTDataSource><OGRVRTLayer name="passwd"><SrcDataSource>/etc/passwd</SrcDataSource>'
        "</OGRVRTLayer></OGRVRTDataSource>"),
    "geojson/gdal_vsi_reference.geojson": _text('{"type":"FeatureCollection","features":[],"crs":{"type":"link",'
                                                '"properties":{"href":"/etc/passwd","type":"proj4"}}}'),
    "geojson/hostile_attributes.geojson": _text(_fc([_feat(_gpoly(0.01 * i), name=v, note=k, site_id=f"H-{k}")
                                                     for i, (k, v) in enumerate(HOSTILE.items())])),
}
for _name, _fn in _J.items():
    BUILDERS[_name] = _fn


# =============================================================================== KML / KMZ
def _kml(body: str, doctype: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + doctype
            + '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>' + body + "</Document></kml>\n")


def _coords(ring) -> str:
    return " ".join(f"{x},{y}" for x, y in ring)


def _pm(name: str, geom: str) -> str:
    return f"<Placemark><name>{name}</name>{geom}</Placemark>"


def _kpoly(dx=0.0) -> str:
    return f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords(_poly(dx))}</coordinates></LinearRing></outerBoundaryIs></Polygon>"


_VALID_KML = _kml(_pm("地块一", _kpoly()) + _pm("地块二", _kpoly(0.01)))
_XXE = '<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
_LAUGHS = ("<!DOCTYPE kml [<!ENTITY lol \"lol\">"
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + "]>\n")


def _zip(members: dict[str, bytes], *, compress=zipfile.ZIP_DEFLATED):
    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", compress) as zf:
            for name, data in members.items():
                zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=compress)

    return write


def _declared_bomb(members: dict[str, bytes], declared: int):
    """A zip whose central directory declares ``declared`` bytes for every member (a bomb by its header)."""

    def write(path: Path) -> None:
        _zip(members)(path)
        data = bytearray(path.read_bytes())
        pos = 0
        while (pos := data.find(b"PK\x01\x02", pos)) != -1:
            data[pos + 24:pos + 28] = struct.pack("<I", declared)
            pos += 4
        path.write_bytes(bytes(data))

    return write


def _lying_member(name: str, payload: bytes, others: dict[str, bytes] | None = None):
    """A zip whose member ``name`` declares 100 bytes but inflates to the whole payload."""

    def write(path: Path) -> None:
        _zip({**(others or {}), name: payload})(path)
        data = bytearray(path.read_bytes())
        for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            pos = 0
            while (pos := data.find(sig, pos)) != -1:
                fn_len = struct.unpack("<H", data[pos + (26 if sig == b"PK\x03\x04" else 28):][:2])[0]
                start = pos + (30 if sig == b"PK\x03\x04" else 46)
                if bytes(data[start:start + fn_len]) == name.encode():
                    data[pos + off:pos + off + 4] = struct.pack("<I", 100)
                pos += 4
        path.write_bytes(bytes(data))

    return write


_K = {
    "kml/valid.kml": _text(_VALID_KML),
    "kml/xxe_file.kml": _text(_kml(_pm("&x;", _kpoly()), _XXE)),
    "kml/xxe_parameter_entity.kml": _text(_kml(_pm("a", _kpoly()),
                                               '<!DOCTYPE kml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n')),
    "kml/external_dtd.kml": _text(_kml(_pm("a", _kpoly()), '<!DOCTYPE kml SYSTEM "file:///etc/passwd">\n')),
    "kml/billion_laughs.kml": _text(_kml(_pm("&lol9;", _kpoly()), _LAUGHS)),
    "kml/quadratic_blowup.kml": _text(_kml(_pm("&a;" * 5000, _kpoly()), '<!DOCTYPE kml [<!ENTITY a "' + "x" * 50000
                                           + '">]>\n')),
    "kml/not_well_formed.kml": _text(_VALID_KML[:-30]),
    "kml/zero_bytes.kml": _bytes(b""),
    "kml/no_placemarks.kml": _text(_kml("<Folder><name>空</name></Folder>")),
    "kml/placemark_without_geometry.kml": _text(_kml(_pm("地块一", _kpoly()) + _pm("无几何", ""))),
    "kml/placemarks_all_without_geometry.kml": _text(_kml(_pm("一", "") + _pm("二", ""))),
    "kml/placemark_several_geometries.kml": _text(_kml(_pm("多几何", "<MultiGeometry>" + _kpoly() + _kpoly(0.01)
                                                           + "<Point><coordinates>116.03,43.9</coordinates></Point>"
                                                           + "</MultiGeometry>"))),
    "kml/coordinates_not_numbers.kml": _text(_kml(_pm("a", "<Point><coordinates>east,north</coordinates></Point>"))),
    "kml/coordinates_empty.kml": _text(_kml(_pm("a", "<Point><coordinates>  </coordinates></Point>"))),
    "kml/coordinates_lat_lon.kml": _text(_kml(_pm("a", "<Point><coordinates>43.9,116.0</coordinates></Point>"))),
    "kml/coordinates_nan.kml": _text(_kml(_pm("a", "<Point><coordinates>nan,43.9</coordinates></Point>"))),
    "kml/polygon_two_points.kml": _text(_kml(_pm("a", "<Polygon><outerBoundaryIs><LinearRing><coordinates>116,43.9 "
                                                 "116.1,43.9</coordinates></LinearRing></outerBoundaryIs></Polygon>"))),
    "kml/three_d.kml": _text(_kml(_pm("a", f"<Polygon><outerBoundaryIs><LinearRing><coordinates>"
                                        f"{' '.join(f'{x},{y},900' for x, y in _poly())}</coordinates></LinearRing>"
                                        f"</outerBoundaryIs></Polygon>"))),
    "kml/hostile_attributes.kml": _text(_kml(_pm("&lt;script&gt;alert(1)&lt;/script&gt;", _kpoly())
                                             + _pm("<![CDATA[<img src=x onerror=alert(2)>]]>", _kpoly(0.01)))),
    "kml/binary.kml": _bytes(random.Random(11).randbytes(1024)),
    "kmz/valid.kmz": _zip({"doc.kml": _VALID_KML.encode()}),
    "kmz/path_climbing.kmz": _zip({"../../x.kml": _VALID_KML.encode()}),
    "kmz/absolute_path.kmz": _zip({"/etc/cron.d/x.kml": _VALID_KML.encode()}),
    "kmz/windows_path.kmz": _zip({"C:\\Windows\\x.kml": _VALID_KML.encode()}),
    "kmz/declared_gigabytes.kmz": _declared_bomb({"doc.kml": _VALID_KML.encode(), "files/a.png": b"\0" * 1000},
                                                 0xFFFF0000),
    "kmz/lying_header_bomb.kmz": _lying_member("doc.kml", _VALID_KML.encode() + b" " * (8 << 20)),
    "kmz/over_expansion_limit.kmz": _zip({"doc.kml": _VALID_KML.encode() + b" " * (3 << 20)}),
    "kmz/no_kml_member.kmz": _zip({"images/a.png": b"\x89PNG"}),
    "kmz/not_a_zip.kmz": _text(_VALID_KML),
    "kmz/xxe_inside.kmz": _zip({"doc.kml": _kml(_pm("&x;", _kpoly()), _XXE).encode()}),
    "kmz/many_members.kmz": _zip({"doc.kml": _VALID_KML.encode(), **{f"files/{i}.txt": b"" for i in range(50)}}),
}
for _name, _fn in _K.items():
    BUILDERS[_name] = _fn


# =============================================================================== zipped shapefiles
def _shp_members(**kw) -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        shp = Path(d) / "parcels.shp"
        _shp(**kw)(shp)
        return {p.name: p.read_bytes() for p in sorted(Path(d).iterdir())}


def _zip_of(prefix: str = "", extra: dict[str, bytes] | None = None, drop: str | None = None, **kw):
    def write(path: Path) -> None:
        members = {prefix + n: b for n, b in _shp_members(**kw).items() if not (drop and n.endswith(drop))}
        _zip({**members, **(extra or {})})(path)

    return write


def _nested_zip(path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as inner:
        for n, b in _shp_members().items():
            inner.writestr(n, b)
    _zip({"inner.zip": buf.getvalue()})(path)


def _two_shapefiles(path: Path) -> None:
    a = _shp_members()
    b = _shp_members(records=[(5, [_poly(0.02)])], attrs=[{"name": "乙".encode()}])
    _zip({**{"a/" + n.replace("parcels", "甲"): v for n, v in a.items()},
          **{"b/" + n.replace("parcels", "乙"): v for n, v in b.items()}})(path)


_Z = {
    "zip/valid.zip": _zip_of(),
    "zip/path_climbing.zip": _zip_of(prefix="../../"),
    "zip/path_climbing_sidecar.zip": _zip_of(extra={"../../../tmp/ecogis_pwned.txt": b"pwned"}),
    "zip/declared_gigabytes.zip": lambda p: _declared_bomb(_shp_members(), 0xFFFF0000)(p),
    "zip/lying_dbf_bomb.zip": lambda p: _lying_member("parcels.dbf", _shp_members()["parcels.dbf"] + b" " * (8 << 20),
                                                      {k: v for k, v in _shp_members().items() if k != "parcels.dbf"})(p),
    "zip/nested_zip.zip": _nested_zip,
    "zip/two_shapefiles.zip": _two_shapefiles,
    "zip/missing_dbf.zip": _zip_of(drop=".dbf"),
    "zip/missing_prj.zip": _zip_of(drop=".prj"),
    "zip/no_shapefile.zip": _zip({"readme.txt": b"nothing here", "data.geojson": b"{}"}),
    "zip/not_a_zip.zip": _bytes(b"PK\x03\x04" + random.Random(2).randbytes(500)),
    "zip/zero_bytes.zip": _bytes(b""),
    "zip/gbk_no_cpg.zip": _zip_of(attrs=[{"name": "测试地块一".encode("gbk")}, {"name": "测试地块二".encode("gbk")}],
                                  cpg=None),
    "zip/many_members.zip": _zip_of(extra={f"junk/{i}.txt": b"" for i in range(50)}),
}
for _name, _fn in _Z.items():
    BUILDERS[_name] = _fn


# =============================================================================== CSV
_CSV_OK = "name,lon,lat\r\n甲,116.0005,43.8995\r\n乙,116.0105,43.8995\r\n"
_Cv = {
    "csv/valid_points.csv": _text(_CSV_OK),
    "csv/valid_wkt.csv": _text('name,wkt\n甲,"POLYGON ((' + ", ".join(f"{x} {y}" for x, y in _poly()) + '))"\n'),
    "csv/missing_columns.csv": _text("name,east,north\n甲,116.0,43.9\n"),
    "csv/only_lon_column.csv": _text("name,lon\n甲,116.0\n"),
    "csv/swapped_lon_lat.csv": _text("name,lon,lat\n甲,43.8995,116.0005\n"),
    "csv/broken_wkt.csv": _text('name,wkt\n甲,"POLYGON ((116 43.9, 116.001 43.9"\n乙,POINT (116 43.9)\n'),
    "csv/wkt_not_wkt.csv": _text('name,wkt\n甲,"<script>alert(1)</script>"\n'),
    "csv/non_numeric_coordinates.csv": _text("name,lon,lat\n甲,116.0,43.9\n乙,东经116度,43.9\n"),
    "csv/nan_coordinates.csv": _text("name,lon,lat\n甲,nan,43.9\n乙,inf,43.9\n"),
    "csv/gbk_text.csv": _text("名称,经度,纬度\r\n测试地块甲,116.0005,43.8995\r\n测试地块乙,116.0105,43.8995\r\n", "gbk"),
    "csv/header_only.csv": _text("name,lon,lat\n"),
    "csv/zero_bytes.csv": _bytes(b""),
    "csv/binary.csv": _bytes(random.Random(7).randbytes(2048)),
    "csv/ragged_rows.csv": _text('name,lon,lat\n甲,116.0,43.9\n乙,116.0,43.9,extra,"unclosed\n'),
    "csv/formula_injection.csv": _text("name,lon,lat\n\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",116.0005,43.8995\n"
                                       "\"@SUM(1+1)*cmd|' /C calc'!A0\",116.0105,43.8995\n"),
    "csv/hostile_attributes.csv": _text("name,lon,lat\n" + "".join(
        f"\"{v.replace(chr(34), chr(34) * 2)}\",{116.0005 + 0.01 * i},43.8995\n"
        for i, v in enumerate(v for k, v in HOSTILE.items() if k != "control"))),
}
for _name, _fn in _Cv.items():
    BUILDERS[_name] = _fn


# =============================================================================== rasters (for clues)
def _raster(path: Path, *, crs="EPSG:4490", nodata_all=False, bounds=(116.0, 43.8, 116.1, 43.9), size=8) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    data = np.full((size, size), -9999 if nodata_all else 1, dtype="float32")
    if not nodata_all:
        data[:] = np.arange(size * size, dtype="float32").reshape(size, size)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32", crs=crs,
                       transform=from_bounds(*bounds, size, size), nodata=-9999) as dst:
        dst.write(data, 1)


def _raster_pair(path: Path) -> None:
    _raster(path)
    _raster(path.with_name(path.stem + "_other.tif"), bounds=(120.0, 40.0, 120.1, 40.1))


def _corrupt_tiff(path: Path) -> None:
    _raster(path)
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 0x7FFFFFF0)  # first IFD offset far past the end
    path.write_bytes(bytes(data))


_R = {
    "raster/valid.tif": _raster,
    "raster/no_crs.tif": lambda p: _raster(p, crs=None),
    "raster/all_nodata.tif": lambda p: _raster(p, nodata_all=True),
    "raster/zero_bytes.tif": _bytes(b""),
    "raster/corrupt_header.tif": _corrupt_tiff,
    "raster/text_as_tiff.tif": _text("II*\0 this is not a tiff"),
    "raster/no_overlap.tif": _raster_pair,
}
for _name, _fn in _R.items():
    BUILDERS[_name] = _fn


# =============================================================================== rule files and map specs
_RULE = """\
title: 语料测试规则
title_en: Corpus test rules
document: 《语料测试》
issuer: ecogis
date: "2024-01-01"
version: "1"
scope: national
rules:
  - id: CORPUS-RL-01
    title_zh: 占用生态保护红线
    title_en: Inside the red line
    layer: redline
    test: intersects
    severity: prohibited
    basis: 测试依据。
    message_zh: 项目“{site_name}”位于生态保护红线“{feature_name}”内。
    message_en: Site "{site_name}" lies inside red line "{feature_name}".
    next_steps_zh: [调整选址]
    next_steps_en: [Move the site]
    cases:
      - project: {industry: B0610, nature: 新建}
        place: overlap
        expect: trigger
      - project: {industry: B0610, nature: 新建}
        place: far
        expect: no_trigger
"""


def _rule(old: str = "", new: str = "", *, extra: str = "") -> str:
    text = _RULE.replace(old, new, 1) if old else _RULE
    return text + extra


_DUP = _RULE.split("rules:\n", 1)[1]
_YAML_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
    f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)) + _RULE

_Y = {
    "rules/valid.yaml": _text(_RULE),
    "rules/python_object_tag.yaml": _text('title: !!python/object/apply:os.system ["touch {PWNED}"]\n' + _RULE.split("\n", 1)[1]),
    "rules/python_name_tag.yaml": _text(_rule("severity: prohibited", "severity: !!python/name:os.system")),
    "rules/unknown_key.yaml": _text(_rule("    test: intersects\n", "    test: intersects\n    colour: red\n")),
    "rules/unknown_top_key.yaml": _text("frobnicate: true\n" + _RULE),
    "rules/wrong_type_severity.yaml": _text(_rule("severity: prohibited", "severity: [prohibited]")),
    "rules/wrong_type_rules.yaml": _text(_RULE.split("rules:\n")[0] + "rules: 42\n"),
    "rules/duplicate_rule_ids.yaml": _text(_RULE + _DUP),
    "rules/duplicate_keys.yaml": _text(_rule("    test: intersects\n", "    test: intersects\n    test: within\n")),
    "rules/unknown_industry.yaml": _text(_rule("    test: intersects\n",
                                               "    applies:\n      industry: [Z9999]\n    test: intersects\n")),
    "rules/unknown_industry_in_case.yaml": _text(_rule("industry: B0610", "industry: B9999")),
    "rules/unknown_layer_kind.yaml": _text(_rule("layer: redline", "layer: unicorn_habitat")),
    "rules/unknown_placeholder.yaml": _text(_rule("{feature_name}", "{__class__.__init__.__globals__}")),
    "rules/invalid_yaml.yaml": _text(_RULE + "  - id: [unclosed\n"),
    "rules/zero_bytes.yaml": _bytes(b""),
    "rules/not_a_mapping.yaml": _text("- just\n- a list\n"),
    "rules/binary.yaml": _bytes(random.Random(13).randbytes(512)),
    "rules/yaml_alias_bomb.yaml": _text(_YAML_BOMB),
    "mapspec/valid.yaml": _text("title: 测试图\nlayers:\n  - kind: redline\n"),
    "mapspec/python_object_tag.yaml": _text('title: !!python/object/apply:os.system ["touch {PWNED}"]\nlayers: []\n'),
    "mapspec/unknown_key.yaml": _text("title: 测试图\ncolour_scheme: rainbow\nlayers:\n  - kind: redline\n"),
    "mapspec/wrong_type.yaml": _text("title: 测试图\nlayers: redline\n"),
    "mapspec/unknown_layer_kind.yaml": _text("title: 测试图\nlayers:\n  - kind: unicorn_habitat\n"),
    "mapspec/hostile_title.yaml": _text("title: \"<script>alert('map')</script>\"\nlayers:\n  - kind: redline\n"),
}
for _name, _fn in _Y.items():
    BUILDERS[_name] = _fn


# =============================================================================== issue 12: readers never drop silently
# Record counts of a shapefile's parts.
def _dbf_keep(n: int):
    """Keep the first ``n`` records of the .dbf, header count included (a consistent but shorter table)."""

    def after(shp: Path) -> None:
        dbf = shp.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        hdr, rec = struct.unpack("<HH", data[8:12])
        data[4:8] = struct.pack("<I", n)
        dbf.write_bytes(bytes(data[: hdr + n * rec]) + b"\x1a")

    return after


def _dbf_unheaded_record(shp: Path) -> None:
    """A .dbf that holds one record more than its header declares."""
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    hdr, rec = struct.unpack("<HH", data[8:12])
    body = bytes(data[hdr:hdr + rec])
    dbf.write_bytes(bytes(data[: len(data) - 1]) + body + b"\x1a")


def _shx_keep(n: int):
    """Keep the first ``n`` entries of the .shx (its header length updated): the .shp holds more."""

    def after(shp: Path) -> None:
        shx = shp.with_suffix(".shx")
        data = bytearray(shx.read_bytes()[: 100 + 8 * n])
        data[24:28] = struct.pack(">i", len(data) // 2)
        shx.write_bytes(bytes(data))

    return after


def _shx_cut(shp: Path) -> None:
    shx = shp.with_suffix(".shx")
    shx.write_bytes(shx.read_bytes()[:-3])


def _shape_type(t: int):
    def after(shp: Path) -> None:
        for ext in (".shp", ".shx"):
            f = shp.with_suffix(ext)
            data = bytearray(f.read_bytes())
            data[32:36] = struct.pack("<i", t)
            f.write_bytes(bytes(data))

    return after


def _three_records():
    return [(5, [_poly()]), (5, [_poly(0.01)]), (5, [_poly(0.02)])]


_BOWTIE = [(116.0, 43.9), (116.001, 43.899), (116.0, 43.899), (116.001, 43.9), (116.0, 43.9)]
_FLAT = [(116.0, 43.9), (116.001, 43.899), (116.002, 43.898), (116.0, 43.9)]
_US = [(-110.0, 40.0), (-109.9, 40.0), (-109.9, 40.1), (-110.0, 40.1), (-110.0, 40.0)]
_AFRICA = [(20.0, 0.0), (20.1, 0.0), (20.1, 0.1), (20.0, 0.1), (20.0, 0.0)]

_S12 = {
    "shp/dbf_fewer_records/parcels.shp": _shp_then(_dbf_keep(1)),
    "shp/dbf_unheaded_record/parcels.shp": _shp_then(_dbf_unheaded_record),
    "shp/shp_more_than_shx/parcels.shp": _shp_then(_shx_keep(1)),
    "shp/shx_cut_short/parcels.shp": _shp_then(_shx_cut),
    "shp/multipatch/parcels.shp": _shp_then(_shape_type(31)),
    "shp/unknown_shape_type/parcels.shp": _shp_then(_shape_type(77)),
    "shp/zero_area_polygon/parcels.shp": _shp(records=[(5, [_FLAT]), (5, [_poly(0.01)])]),
    "shp/outside_china/parcels.shp": _shp(records=[(5, [_AFRICA])], attrs=[{"name": "非洲".encode()}]),
    "shp/with!bang/parcels.shp": _shp(),
}


def _dbf_more_records(path: Path) -> None:
    """Two shapes, three attribute records (the .dbf of a three-record export next to a two-record .shp)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        other = Path(d) / "parcels.shp"
        _shp(records=_three_records())(other)
        _shp()(path)
        path.with_suffix(".dbf").write_bytes(other.with_suffix(".dbf").read_bytes())


_S12["shp/dbf_more_records/parcels.shp"] = _dbf_more_records


def _odd_names_shp(path: Path) -> None:
    recs = [(5, [_poly()]), (5, [_poly(0.01)])]
    names = ['na"me\'x', "two words", "select", "名称"]
    write_shapefile(path, recs, [{"name": f"地块{i + 1}".encode()} for i in range(2)])
    # rewrite the .dbf with the odd names (write_shapefile encodes names as ASCII)
    dbf = path.with_suffix(".dbf")
    fields = ["name"] + names
    rows = [[f"地块{i + 1}".encode()] + [f"v{i}{j}".encode() for j in range(len(names))] for i in range(2)]
    widths = [max(len(r[j]) for r in rows) for j in range(len(fields))]
    hdr_len = 32 + 32 * len(fields) + 1
    rec_len = 1 + sum(widths)
    out = struct.pack("<B3BIHH20x", 3, 124, 1, 1, len(rows), hdr_len, rec_len)
    for f, w in zip(fields, widths):
        out += struct.pack("<11sc4xBB14x", f.encode("utf-8")[:10], b"C", w, 0)
    out += b"\r" + b"".join(b" " + b"".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows) + b"\x1a"
    dbf.write_bytes(out)


_S12["shp/odd_field_names/parcels.shp"] = _odd_names_shp
for _name, _fn in _S12.items():
    BUILDERS[_name] = _fn


def _zip_after(after: Callable[[Path], None], **kw):
    """A zipped shapefile whose parts were changed by ``after`` before zipping."""

    def write(path: Path) -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            shp = Path(d) / "parcels.shp"
            _shp(**kw)(shp)
            after(shp)
            _zip({p.name: p.read_bytes() for p in sorted(Path(d).iterdir())})(path)

    return write


_Z12 = {
    "zip/dbf_fewer_records.zip": _zip_after(_dbf_keep(1)),
    "zip/shp_more_than_shx.zip": _zip_after(_shx_keep(1)),
    "zip/multipatch.zip": _zip_after(_shape_type(31)),
}
for _name, _fn in _Z12.items():
    BUILDERS[_name] = _fn


# KML multi-part elements as exporters write them.
def _kline(dx=0.0) -> str:
    return f"<LineString><coordinates>{116.0 + dx},43.9 {116.001 + dx},43.899</coordinates></LineString>"


def _kpt(dx=0.0) -> str:
    return f"<Point><coordinates>{116.0005 + dx},43.8995</coordinates></Point>"


_KML_NS = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
           'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document>')


def _kmlx(body: str) -> str:
    return _KML_NS + body + "</Document></kml>\n"


def _ktrack(dx=0.0) -> str:
    return ("<gx:Track><when>2024-05-01T08:00:00Z</when><when>2024-05-01T08:05:00Z</when>"
            f"<gx:coord>{116.0 + dx} 43.9 1010</gx:coord><gx:coord>{116.001 + dx} 43.899 1012</gx:coord></gx:Track>")


def _kring(ring) -> str:
    return (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords(ring)}</coordinates></LinearRing>"
            "</outerBoundaryIs></Polygon>")


_MULTIPOLY_KML = _kml(_pm("多面一", f"<MultiPolygon>{_kpoly()}{_kpoly(0.01)}</MultiPolygon>")
                      + _pm("多面二", f"<MultiPolygon>{_kpoly(0.03)}</MultiPolygon>"))
_K12 = {
    "kml/multipolygon_element.kml": _text(_MULTIPOLY_KML),
    "kml/multilinestring_element.kml": _text(_kml(_pm("多线", f"<MultiLineString>{_kline()}{_kline(0.01)}</MultiLineString>"))),
    "kml/multipoint_element.kml": _text(_kml(_pm("多点", f"<MultiPoint>{_kpt()}{_kpt(0.01)}</MultiPoint>"))),
    "kml/nested_multigeometry.kml": _text(_kml(_pm("嵌套", "<MultiGeometry><MultiGeometry>" + _kpoly() + "</MultiGeometry>"
                                                   "<MultiGeometry><MultiGeometry>" + _kpoly(0.01)
                                                   + "</MultiGeometry></MultiGeometry></MultiGeometry>"))),
    "kml/gml_members.kml": _text(_kml(_pm("成员", f"<MultiPolygon><polygonMember>{_kpoly()}</polygonMember>"
                                                f"<polygonMember>{_kpoly(0.01)}</polygonMember></MultiPolygon>"))),
    "kml/gx_track.kml": _text(_kmlx(_pm("巡护轨迹", _ktrack()))),
    "kml/gx_multitrack.kml": _text(_kmlx(_pm("多段轨迹", f"<gx:MultiTrack>{_ktrack()}{_ktrack(0.01)}</gx:MultiTrack>"))),
    "kml/bowtie.kml": _text(_kml(_pm("自相交", _kring(_BOWTIE)))),
    "kml/zero_area_polygon.kml": _text(_kml(_pm("零面积", _kring(_FLAT)))),
    "kml/coordinates_inf.kml": _text(_kml(_pm("a", "<Point><coordinates>inf,43.9</coordinates></Point>"))),
    "kml/outside_china.kml": _text(_kml(_pm("犹他", _kring(_US)))),
    "kml/odd_extended_data.kml": _text(_kml(
        "<Placemark><name>扩展</name><ExtendedData><Data name=\"na&quot;me'x\"><value>1</value></Data>"
        "<Data name=\"select\"><value>2</value></Data><Data name=\"two words\"><value>3</value></Data>"
        "<Data name=\"名称\"><value>扩展地块</value></Data></ExtendedData>" + _kpoly() + "</Placemark>")),
    "kmz/multipolygon_element.kmz": _zip({"doc.kml": _MULTIPOLY_KML.encode()}),
}
for _name, _fn in _K12.items():
    BUILDERS[_name] = _fn


# Curves, 3-D surfaces and NaN in GeoPackages, written through GDAL from hand-made WKB.
def _wkb_ring(pts, t: int = 8) -> bytes:
    return struct.pack("<BII", 1, t, len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)


_CIRCLE = [(116.0, 43.9), (116.001, 43.901), (116.002, 43.9), (116.001, 43.899), (116.0, 43.9)]
_WKB = {
    "curvepolygon": struct.pack("<BII", 1, 10, 1) + _wkb_ring(_CIRCLE),
    "compoundcurve": struct.pack("<BII", 1, 9, 2) + _wkb_ring([(116.0, 43.9), (116.001, 43.901), (116.002, 43.9)])
    + _wkb_ring([(116.002, 43.9), (116.003, 43.9)], 2),
    "multisurface": struct.pack("<BII", 1, 12, 2) + struct.pack("<BII", 1, 10, 1) + _wkb_ring(_CIRCLE)
    + struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 5)
    + b"".join(struct.pack("<dd", x + 0.01, y) for x, y in _poly()),
    "polygon": struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 5) + b"".join(struct.pack("<dd", *p) for p in _poly()),
    "bowtie": struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 5) + b"".join(struct.pack("<dd", *p) for p in _BOWTIE),
    "collection_curve": struct.pack("<BII", 1, 7, 1) + _wkb_ring([(116.0, 43.9), (116.001, 43.901), (116.002, 43.9)]),
}


def _triangle() -> bytes:
    pts = [(116.0, 43.9, 0.0), (116.001, 43.9, 0.0), (116.001, 43.901, 0.0), (116.0, 43.9, 0.0)]
    return struct.pack("<BII", 1, 1017, 1) + struct.pack("<I", 4) + b"".join(struct.pack("<ddd", *p) for p in pts)


_WKB["tin"] = struct.pack("<BII", 1, 1016, 2) + _triangle() + _triangle()
_WKB["polyhedral"] = struct.pack("<BII", 1, 1015, 1) + _triangle().replace(struct.pack("<I", 1017), struct.pack("<I", 1003), 1)


def _gpkg(geoms: list[bytes], *, names=None, layer="project", crs="EPSG:4490", declared: str | None = None,
          fields: dict[str, list] | None = None):
    """A GeoPackage written by GDAL from WKB (any type GDAL takes); ``declared`` sets the layer's geometry type."""

    def write(path: Path) -> None:
        import warnings

        import numpy as np
        from pyogrio.raw import write as ogr_write

        cols = fields or {"name": names or [f"地块{i + 1}" for i in range(len(geoms))]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ogr_write(str(path), geometry=np.array(geoms, dtype=object),
                      field_data=[np.array(v, dtype=object) for v in cols.values()], fields=list(cols),
                      geometry_type="Unknown", crs=crs, driver="GPKG", layer=layer,
                      layer_options={"SPATIAL_INDEX": "NO"})
        if declared:
            import sqlite3

            con = sqlite3.connect(path)
            con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ?", (declared,))
            con.commit()
            con.close()

    return write


def _gpkg_nan(path: Path) -> None:
    """A GeoPackage whose second polygon has a NaN coordinate (GDAL refuses to write one: patched in the blob)."""
    import sqlite3

    _gpkg([_WKB["polygon"], _WKB["polygon"]])(path)
    con = sqlite3.connect(path)
    fid, blob = con.execute("SELECT fid, geom FROM project ORDER BY fid DESC LIMIT 1").fetchone()
    blob = bytes(blob)
    at = blob.rfind(struct.pack("<d", 116.001))  # a vertex, not the envelope at the blob's start
    blob = blob[:at] + struct.pack("<d", float("nan")) + blob[at + 8:]
    con.execute("UPDATE project SET geom = ? WHERE fid = ?", (blob, fid))
    con.commit()
    con.close()


def _gk_wkb(e: float, n: float) -> bytes:
    ring = [(e, n), (e + 90, n), (e + 90, n - 60), (e, n - 60), (e, n)]
    return struct.pack("<BII", 1, 3, 1) + struct.pack("<I", 5) + b"".join(struct.pack("<dd", *p) for p in ring)


_ODD_FIELDS = {"name": ["甲", "乙"], "na\"me'x": ["a", "b"], "two words": ["c", "d"], "名称 (中文)": ["e", "f"],
               "select": ["g", "h"], "from": ["i", "j"], "a;b--": ["k", "l"], "x)y": ["m", "n"]}
_G12 = {
    "gpkg/curvepolygon.gpkg": _gpkg([_WKB["curvepolygon"], _WKB["polygon"]]),
    "gpkg/compoundcurve_line.gpkg": _gpkg([_WKB["compoundcurve"]]),
    "gpkg/multisurface_declared.gpkg": _gpkg([_WKB["multisurface"]], declared="MULTISURFACE"),
    "gpkg/collection_with_curve.gpkg": _gpkg([_WKB["polygon"], _WKB["collection_curve"]]),
    "gpkg/tin.gpkg": _gpkg([_WKB["tin"]]),
    "gpkg/polyhedral_surface.gpkg": _gpkg([_WKB["polyhedral"]]),
    "gpkg/bowtie.gpkg": _gpkg([_WKB["bowtie"], _WKB["polygon"]]),
    "gpkg/nan_coordinates.gpkg": _gpkg_nan,
    "gpkg/odd_field_names.gpkg": _gpkg([_WKB["polygon"], _WKB["polygon"]], fields=_ODD_FIELDS),
    "gpkg/odd_layer_name.gpkg": _gpkg([_WKB["polygon"]], layer="we\"ird'l; DROP TABLE x;--"),
    "gpkg/outside_gk_band.gpkg": _gpkg([_gk_wkb(39_800_000.0, 4_862_950.0)], crs="EPSG:4527"),
    "gpkg/valid.gpkg": _gpkg([_WKB["polygon"]]),
}
for _name, _fn in _G12.items():
    BUILDERS[_name] = _fn


def _wkt(ring) -> str:
    return "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"


_C12 = {
    "csv/curvepolygon_wkt.csv": _text("name,wkt\n圆形地块,\"CURVEPOLYGON (CIRCULARSTRING (116 43.9, 116.001 43.901, "
                                      "116.002 43.9, 116.001 43.899, 116 43.9))\"\n直边地块,\"" + _wkt(_poly(0.01)) + "\"\n"),
    "csv/compoundcurve_wkt.csv": _text("name,wkt\n弯道,\"COMPOUNDCURVE (CIRCULARSTRING (116 43.9, 116.001 43.901, "
                                       "116.002 43.9), (116.002 43.9, 116.003 43.9))\"\n"),
    "csv/collection_with_curve.csv": _text("name,wkt\n甲,\"" + _wkt(_poly()) + "\"\n乙,\"GEOMETRYCOLLECTION "
                                           "(CIRCULARSTRING (116 43.9, 116.001 43.901, 116.002 43.9))\"\n"),
    "csv/broken_curve_wkt.csv": _text("name,wkt\n甲,\"" + _wkt(_poly()) + "\"\n乙,\"CIRCULARSTRING (116 43.9, 116.001\"\n"),
    "csv/tin_wkt.csv": _text("name,wkt\n三角网,\"TIN Z (((116 43.9 0, 116.001 43.9 0, 116.001 43.901 0, 116 43.9 0)))\"\n"),
    "csv/bowtie_wkt.csv": _text("name,wkt\n自相交,\"" + _wkt(_BOWTIE) + "\"\n"),
    "csv/zero_area_wkt.csv": _text("name,wkt\n零面积,\"" + _wkt(_FLAT) + "\"\n"),
    "csv/nan_wkt.csv": _text("name,wkt\n甲,\"" + _wkt(_poly()) + "\"\n乙,\"POINT (nan 43.9)\"\n"),
    "csv/odd_headers.csv": _text("\"na\"\"me'x\",two words,select,名称,lon,lat\na,b,c,测试点,116.0005,43.8995\n"),
    "csv/outside_china_points.csv": _text("name,lon,lat\n巴黎,2.35,48.86\n柏林,13.40,52.52\n"),
}
for _name, _fn in _C12.items():
    BUILDERS[_name] = _fn

_J12 = {
    "geojson/zero_area_polygon.geojson": _text(_fc([_feat(_gpoly(ring=_FLAT))])),
    "geojson/nan_literal.geojson": _text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                                         '{"name":"甲"},"geometry":{"type":"Polygon","coordinates":[[[116.0,43.9],'
                                         '[NaN,43.9],[116.001,43.899],[116.0,43.9]]]}}]}'),
    "geojson/infinity_literal.geojson": _text('{"type":"FeatureCollection","features":[{"type":"Feature",'
                                              '"properties":{"name":"甲"},"geometry":{"type":"Point",'
                                              '"coordinates":[Infinity,43.9]}}]}'),
    "geojson/fid_property.geojson": _text(_fc([_feat(_gpoly(), fid=7), _feat(_gpoly(0.01), fid="x")])),
    "geojson/fid_property_integer.geojson": _text(_fc([_feat(_gpoly(), fid=7), _feat(_gpoly(0.01), fid=7)])),
    "geojson/geometry_property.geojson": _text(_fc([_feat(_gpoly(), geometry="属性里的 geometry")])),
    "geojson/name_and_NAME.geojson": _text(_fc([_feat(_gpoly(), NAME="大写名称", site_id="S-1", **{"Site ID": "S-2"})])),
    "geojson/odd_field_names.geojson": _text(_fc([_feat(_gpoly(), **{k: v[0] for k, v in _ODD_FIELDS.items()
                                                                     if k != "name"})])),
    "geojson/us_wilderness.geojson": _text(_fc([_feat(_gpoly(ring=_US), name="Utah wilderness")])),
    "geojson/bang!name.geojson": _text(_fc([_feat(_gpoly())])),
}
for _name, _fn in _J12.items():
    BUILDERS[_name] = _fn

# 国土TXT: zero-area parcels, bow-ties, data outside the zone's band.
_FLAT_LINES = ["J1,1,4862950.000,39419700.000", "J2,1,4862900.000,39419750.000", "J3,1,4862850.000,39419800.000",
               "J1,1,4862950.000,39419700.000"]
_P2 = ["5,0.5400,P2,第二地块,面,,,,@", "J1,1,4862750.000,39419700.000", "J2,1,4862750.000,39419790.000",
       "J3,1,4862690.000,39419790.000", "J4,1,4862690.000,39419700.000", "J1,1,4862750.000,39419700.000"]
_P2_BOWTIE = ["5,0.5400,P2,自相交地块,面,,,,@", "J1,1,4862750.000,39419700.000", "J2,1,4862750.000,39419790.000",
              "J3,1,4862690.000,39419700.000", "J4,1,4862690.000,39419790.000", "J1,1,4862750.000,39419700.000"]
_T12 = {
    "guotu/collinear_parcel.txt": _text(guotu({8: "4,0.5400,P1,共线地块,面,,,,@"}, keep=8, extra=_FLAT_LINES)),
    "guotu/collinear_four_points.txt": _text(guotu({8: "5,0.5400,P1,共线地块,面,,,,@"}, keep=8, extra=[
        "J1,1,4862950.000,39419700.000", "J2,1,4862925.000,39419725.000", "J3,1,4862900.000,39419750.000",
        "J4,1,4862850.000,39419800.000", "J1,1,4862950.000,39419700.000"])),
    "guotu/flat_hole.txt": _text(guotu({8: "9,0.5400,P1,带洞地块,面,,,,@"}, extra=[
        "J5,2,4862930.000,39419720.000", "J6,2,4862920.000,39419730.000", "J7,2,4862910.000,39419740.000",
        "J5,2,4862930.000,39419720.000"])),
    "guotu/second_parcel_flat.txt": _text(guotu(extra=[
        "4,0.5400,P2,共线地块,面,,,,@", "J1,1,4862750.000,39419700.000", "J2,1,4862700.000,39419750.000",
        "J3,1,4862650.000,39419800.000", "J1,1,4862750.000,39419700.000"])),
    "guotu/bowtie_two_parcels.txt": _text(guotu(extra=_P2_BOWTIE)),
    "guotu/two_parcels.txt": _text(guotu(extra=_P2)),
    "guotu/outside_zone_band.txt": _text(guotu({i: GUOTU[i - 1].replace(",394", ",397") for i in range(9, 14)})),
}
for _name, _fn in _T12.items():
    BUILDERS[_name] = _fn


# Real files from other projects' test suites (tests/data/third_party/, see its README).
def _copy_third_party(rel: str):
    """Copy ``tests/data/third_party/<rel>`` and its sidecars (same stem) to the corpus path."""

    def write(path: Path) -> None:
        import shutil

        src = THIRD_PARTY / rel
        stem = src.name.rsplit(".", 1)[0].lower() + "."
        for sib in src.parent.iterdir():
            if sib == src or (src.suffix.lower() == ".shp" and sib.name.lower().startswith(stem)
                              and sib.suffix.lower() in {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx"}):
                shutil.copy(sib, path.parent / sib.name)

    return write


THIRD_PARTY_FILES = [
    "fiona/coutwildrnp.shp", "fiona/coutwildrnp.zip", "fiona/gre.shp", "fiona/grenada.geojson", "fiona/rmnp.geojson",
    "fiona/trio.geojson", "fiona/issue627.geojson", "fiona/test_tz.geojson", "fiona/!test.geojson",
    "fiona/test_tin.shp", "fiona/test_tin.csv", "fiona/curves_line.csv",
    "pyogrio/curve.gpkg", "pyogrio/curvepolygon.gpkg", "pyogrio/multisurface.gpkg", "pyogrio/line_zm.gpkg",
    "pyogrio/test_gpkg_nulls.gpkg", "pyogrio/naturalearth_lowres.shp",
    "pyshp/corrupt_too_long.shp", "pyshp/edit.shp", "pyshp/latin1.shp", "pyshp/empty_zipfile.zip",
    "pyshp/blockgroups.shp",
]


def third_party_key(rel: str) -> str:
    """The corpus path of a third-party file: shapefiles as they are, other files in a folder per extension
    (so that ``coutwildrnp.zip`` never shares a folder, and a rebuild's clean-up, with ``coutwildrnp.shp``)."""
    project, name = rel.split("/", 1)
    ext = name.rsplit(".", 1)[-1].lower()
    return f"third_party/{project}/{name}" if ext == "shp" else f"third_party/{project}/{ext}/{name}"


for _rel in THIRD_PARTY_FILES:
    BUILDERS[third_party_key(_rel)] = _copy_third_party(_rel)


# =============================================================================== driver
def build(out_dir: str | Path, *, pwned: str | Path | None = None) -> dict[str, Path]:
    """Build every corpus file under ``out_dir``; return ``{name: path}``.

    ``pwned`` is the marker path the code-execution payloads would create;
    the test checks that it never appears.
    """
    out = Path(out_dir)
    marker = str(pwned or out / "PWNED")
    built: dict[str, Path] = {}
    for name, fn in BUILDERS.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        for old in target.parent.glob(target.stem + ".*"):  # a rebuild starts clean (sidecars too)
            old.unlink()
        fn(target)
        if target.suffix in {".yaml"} and target.exists():
            target.write_bytes(target.read_bytes().replace(b"{PWNED}", marker.encode()))
        built[name] = target
    return built


def load_manifest(path: str | Path = MANIFEST) -> list[dict]:
    """The manifest's entries (a list of mappings)."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["cases"]


def summary(entries: list[dict]) -> str:
    """Counts by format and expected outcome, as a small text table."""
    counts = Counter((e["file"].split("/", 1)[0], e["expect"]) for e in entries)
    formats = sorted({f for f, _ in counts})
    outcomes = sorted({o for _, o in counts})
    lines = [f"{'format':<10}" + "".join(f"{o:>8}" for o in outcomes) + f"{'total':>8}"]
    for f in formats:
        row = [counts.get((f, o), 0) for o in outcomes]
        lines.append(f"{f:<10}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
    tot = [sum(counts.get((f, o), 0) for f in formats) for o in outcomes]
    lines.append(f"{'total':<10}" + "".join(f"{n:>8}" for n in tot) + f"{sum(tot):>8}")
    files = {e['file'] for e in entries}
    lines.append(f"{len(entries)} cases over {len(files)} corpus files ({len(BUILDERS)} built)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", help="folder to build the corpus in")
    ap.add_argument("--summary", action="store_true", help="print counts by format and expected outcome")
    a = ap.parse_args(argv)
    if a.out:
        built = build(a.out)
        print(f"built {len(built)} corpus files in {a.out}")
    if a.summary:
        print(summary(load_manifest()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
