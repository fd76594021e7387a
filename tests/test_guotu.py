"""国土TXT (界址点坐标交换格式): reader, writer, malformed files, round trips."""

from __future__ import annotations

import codecs
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from ecogis.errors import CRSError, EmptyLayerError, EncodingError, GeometryError, GuotuTxtError, InputError
from ecogis.export.guotu import write_guotu
from ecogis.notes import Notes
from ecogis.read.crs import gk_epsg
from ecogis.read.guotu import read_guotu

DATA = Path(__file__).parent / "data" / "guotu"

# A small valid file; the malformed cases below are edits of it (line numbers on the right).
BASE = [
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


def edit(changes: dict[int, str | None] | None = None, *, keep: int | None = None, extra=(), base=BASE) -> str:
    """BASE with lines replaced (``None`` deletes), cut to ``keep`` lines, ``extra`` lines appended."""
    lines = list(base[:keep] if keep else base)
    for no, new in (changes or {}).items():
        lines[no - 1] = new
    lines = [ln for ln in lines if ln is not None] + list(extra)
    return "\r\n".join(lines) + "\r\n"


def swap_xy(line: str) -> str:
    pid, ring, x, y = line.split(",")
    return f"{pid},{ring},{y},{x}"


def plain(line: str) -> str:
    pid, ring, x, y = line.split(",")
    return f"{pid},{ring},{x},{float(y) - 39_000_000:.3f}"


HOLE_RING3 = [
    "J5,3,4862930.000,39419720.000",
    "J6,3,4862910.000,39419720.000",
    "J7,3,4862910.000,39419740.000",
    "J8,3,4862930.000,39419740.000",
    "J5,3,4862930.000,39419720.000",
]

# (case id, file content (str → UTF-8, bytes as is), line named in the message, phrase in the message)
MALFORMED = [
    ("no_coordinate_section", edit(keep=6), 6, "no [地块坐标] section"),
    ("no_parcels", edit(keep=7), 7, "holds no parcels"),
    ("zone_missing_no_prefix", edit({6: None, **{i: plain(BASE[i - 1]) for i in range(9, 14)}}), 1,
     "带号 (zone number) is missing"),
    ("header_too_few_fields", edit({8: "5,0.54,P1,面,@"}), 8, "needs at least 5"),
    ("count_not_integer", edit({8: "5a,0.5400,P1,测试地块,面,,,,@"}), 8, "界址点数 '5a' is not a whole number"),
    ("count_disagrees", edit({8: "7,0.5400,P1,测试地块,面,,,,@"}), 8, "界址点数 is 7 but parcel 'P1' has 5"),
    ("parcel_without_vertices", edit(keep=8, extra=BASE[7:]), 8, "parcel 'P1' has no vertex lines"),
    ("vertex_field_count", edit({10: "J2,1,4862950.000"}), 10, "expected 4 (点号,圈号,X,Y)"),
    ("vertex_before_header", edit({8: None}), 8, "before the first parcel header"),
    ("non_numeric_coordinate", edit({11: "J3,1,4862890.0O0,39419790.000"}), 11, "is not a number"),
    ("nan_coordinate", edit({11: "J3,1,nan,39419790.000"}), 11, "not a finite number"),
    ("inf_coordinate", edit({12: "J4,1,4862890.000,inf"}), 12, "not a finite number (X '4862890.000', Y 'inf')"),
    ("ring_number_not_integer", edit({10: "J2,一,4862950.000,39419790.000"}), 10, "圈号 '一' is not a whole number"),
    ("ring_not_closed", edit({13: "J1,1,4862950.000,39419705.000"}), 13, "is not closed"),
    ("ring_out_of_order", edit({8: "10,0.5000,P1,测试地块,面,,,,@"}, extra=HOLE_RING3), 14, "圈号 3 follows 圈号 1"),
    ("ring_starts_at_2", edit({i: BASE[i - 1].replace(",1,", ",2,") for i in range(9, 14)}), 9,
     "must have 圈号 1, not 2"),
    ("ring_too_few_points", edit({8: "3,0.0000,P1,测试地块,面,,,,@", 11: None, 12: None}), 9,
     "needs at least 4 points"),
    ("xy_swapped", edit({i: swap_xy(BASE[i - 1]) for i in range(9, 14)}), 9, "X and Y look swapped"),
    ("outside_zone", edit({i: BASE[i - 1].replace(",394", ",399") for i in range(9, 14)}), 9,
     "do not belong to the declared zone"),
    ("prefix_differs_from_zone", edit({6: "带号=40"}), 9, "carry zone number 39 but the header says 带号=40"),
    ("mixed_prefix", edit({11: plain(BASE[10])}), 11, "mix values with the zone number in front"),
    ("zone_not_in_width", edit({3: "几度分带=6"}), 6, "outside China's range"),
    ("unknown_record_type", edit({8: "5,0.5400,P1,测试地块,多边形,,,,@"}), 8, "unknown 记录图形属性 '多边形'"),
    ("unsupported_datum", edit({2: "坐标系=1980西安坐标系"}), 2, "only CGCS2000"),
    ("unsupported_datum_with_parameters", edit({2: "坐标系=1954北京坐标系"},
                                               extra=[]).replace("带号=39\r\n", "带号=39\r\n转换参数=12.1,-30.5,8.2,0,0,0,1.5\r\n"),
     2, "ecogis does not apply datum parameters"),
    ("non_metre_units", edit({5: "计量单位=千米"}), 5, "must be in metres"),
    ("zero_byte_file", b"", 1, "file is empty (0 bytes)"),
    ("binary_garbage", "[属性描述]\r\n带号=39\r\n".encode() + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", 5,
     "binary data"),
    ("undecodable_bytes", edit(keep=9).encode("gbk") + b"J2,1,\xff\xfe\xfd\xfc,39419790.000\r\n", 10,
     "neither UTF-8 nor GBK"),
    ("truncated_mid_line", edit(keep=12).encode() + b"J1,1,48629", 13, "truncated"),
]


@pytest.mark.parametrize("content, line, phrase", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_files_are_refused_with_line_and_reason(tmp_path, content, line, phrase):
    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(GuotuTxtError) as info:
        read_guotu(path)
    text = str(info.value)
    assert str(path) in text
    assert f"line {line}:" in text, text
    assert phrase in text, text


def test_every_malformed_case_has_its_own_message():
    phrases = [c[3] for c in MALFORMED]
    assert len(MALFORMED) >= 12
    assert len(set(phrases)) == len(phrases)


def test_base_template_is_valid(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text(edit(), encoding="utf-8")
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    assert len(gdf) == 1 and gdf.crs.to_epsg() == 4527
    assert gdf.geometry.iat[0].area == pytest.approx(5400.0)
    assert notes.by_code("area") == []


def test_swapped_plain_coordinates_are_diagnosed(tmp_path):
    path = tmp_path / "swapped.txt"
    path.write_text(edit({i: swap_xy(plain(BASE[i - 1])) for i in range(9, 14)}), encoding="utf-8")
    with pytest.raises(GuotuTxtError, match="line 9: X and Y look swapped"):
        read_guotu(path)


def test_utf16_file_is_read_with_note(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes(edit().encode("utf-16"))
    notes = Notes()
    assert len(read_guotu(path, notes=notes)) == 1
    assert "UTF-16" in notes.by_code("encoding")[0].message


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_guotu(tmp_path / "nope.txt")


# -- realistic files ------------------------------------------------------------


def test_sample_zone39_gbk_two_parcels_with_hole():
    path = DATA / "sample_zone39.txt"
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the sample really is GBK
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    assert gdf.crs.to_epsg() == 4527  # CGCS2000 3-degree GK zone 39 with prefix
    assert list(gdf.site_id) == ["XLHT-2024-001", "XLHT-2024-002"]
    assert list(gdf.name) == ["示例光伏项目一区", "示例光伏项目二区"]
    assert list(gdf.record_type) == ["面", "面"]
    assert list(gdf.sheet) == ["K50G032051"] * 2
    assert list(gdf.land_use) == ["光伏发电"] * 2
    assert list(gdf.land_class) == ["0601"] * 2
    assert list(gdf.point_count) == [11, 5]
    assert list(gdf.source_line) == [13, 25]
    first = gdf.geometry.iat[0]
    assert first.geom_type == "Polygon" and len(first.interiors) == 1
    assert gdf.geometry.iat[1].geom_type == "Polygon" and len(gdf.geometry.iat[1].interiors) == 0
    # x is the easting (Y in the file), y the northing (X in the file)
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 39_419_000 < minx < maxx < 39_421_000 and 4_863_000 < miny < maxy < 4_864_000
    np.testing.assert_allclose(gdf.area / 10_000, gdf.declared_area_ha, rtol=1e-4)
    lonlat = gdf.geometry.centroid.to_crs(4490)
    assert 115.9 < lonlat.x.min() and lonlat.x.max() < 116.1
    assert 43.85 < lonlat.y.min() and lonlat.y.max() < 43.95
    assert gdf.attrs["guotu_header"]["带号"] == "39"
    assert gdf.attrs["guotu_header"]["坐标系"] == "2000国家大地坐标系"
    assert [n.code for n in notes] == ["encoding"] and "GB18030" in notes[0].message


def test_messy_utf8_bom_file_fullwidth_unclosed_lines_points():
    notes = Notes()
    gdf = read_guotu(DATA / "sample_messy_utf8bom.txt", notes=notes)
    assert gdf.crs.to_epsg() == gk_epsg(39, 3, prefix=False) == 4548
    assert list(gdf.record_type) == ["面", "线", "点"]
    assert list(gdf.site_id) == ["Z-01", "Z-02", "Z-03"]
    poly, line, point = gdf.geometry
    assert poly.geom_type == "Polygon" and poly.area == pytest.approx(5400.0)  # closed by the reader
    assert line.geom_type == "LineString" and len(line.coords) == 3
    assert point.equals(Point(419680.0, 4862870.0))  # full-width digits read
    assert gdf.declared_area_ha.iat[0] == pytest.approx(0.54)  # "0.5400公顷"
    assert gdf.land_class.iat[0] == "0602"  # 13-field header: the first 8 are used
    assert gdf.source_line.iat[0] == 16
    assert "UTF-8 with BOM" in notes.by_code("encoding")[0].message
    repair = notes.by_code("repair")
    assert len(repair) == 1 and repair[0].ids == ("Z-01",)
    assert gdf.attrs["guotu_header"]["精度"] == "0.01"


def test_read_file_dispatches_txt_to_guotu():
    from ecogis.read import read_file

    gdf = read_file(DATA / "sample_zone39.txt")
    assert list(gdf.fid) == ["XLHT-2024-001", "XLHT-2024-002"]
    assert gdf.attrs["format"] == "guotu"


# -- tolerated variations ----------------------------------------------------------


def test_declared_area_off_gives_area_note(tmp_path):
    path = tmp_path / "area.txt"
    path.write_text(edit({8: "5,0.6500,P1,测试地块,面,,,,@"}), encoding="utf-8")
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    area = notes.by_code("area")
    assert len(area) == 1 and area[0].ids == ("P1",)
    assert "0.6500 ha" in area[0].message and "0.5400 ha" in area[0].message and "planar" in area[0].message
    assert gdf.declared_area_ha.iat[0] == pytest.approx(0.65)  # kept as declared


def test_declared_area_in_square_metres_is_recognised(tmp_path):
    path = tmp_path / "m2.txt"
    path.write_text(edit({8: "5,5400,P1,测试地块,面,,,,@"}), encoding="utf-8")
    notes = Notes()
    read_guotu(path, notes=notes)
    assert "square metres" in notes.by_code("area")[0].message


def test_area_within_tolerance_gives_no_note(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text(edit({8: "5,0.5430,P1,测试地块,面,,,,@"}), encoding="utf-8")  # 0.56 % off
    notes = Notes()
    read_guotu(path, notes=notes)
    assert notes.by_code("area") == []


def test_count_without_closing_points_is_accepted_with_note(tmp_path):
    path = tmp_path / "count.txt"
    path.write_text(edit({8: "4,0.5400,P1,测试地块,面,,,,@"}), encoding="utf-8")
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    assert gdf.point_count.iat[0] == 5
    assert any("closing points" in n.message for n in notes.by_code("value"))


def test_zone_taken_from_prefix_when_header_lacks_it(tmp_path):
    path = tmp_path / "nozone.txt"
    path.write_text(edit({1: None, 2: None, 3: None, 4: None, 5: None, 6: None}), encoding="gbk")
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    assert gdf.crs.to_epsg() == 4527
    crs_notes = " ".join(n.message for n in notes.by_code("crs"))
    assert "zone 39 taken from the zone number" in crs_notes
    assert "3-degree" in crs_notes and "CGCS2000" in crs_notes


def test_fullwidth_commas_trailing_commas_and_spaces(tmp_path):
    text = edit({8: "5，0.5400，P1，测试地块，面，，，，@，", 9: "J1,1,4862950.000,39419700.000,,  ", 10: "  J2 , 1 , 4862950.000 , 39419790.000"})
    path = tmp_path / "fw.txt"
    path.write_bytes(text.replace("\r\n", "\n").encode("gb18030"))
    gdf = read_guotu(path)
    assert gdf.geometry.iat[0].area == pytest.approx(5400.0)


def test_unclosed_ring_is_closed_with_note(tmp_path):
    path = tmp_path / "open.txt"
    path.write_text(edit({8: "4,0.5400,P1,测试地块,面,,,,@", 13: None}), encoding="utf-8")
    notes = Notes()
    gdf = read_guotu(path, notes=notes)
    assert gdf.geometry.iat[0].is_valid and gdf.geometry.iat[0].area == pytest.approx(5400.0)
    assert notes.by_code("repair")[0].ids == ("P1",)


def _ring_lines(ring_no: int, first_pid: int, pts) -> list[str]:
    out = [f"J{first_pid + k},{ring_no},{n:.3f},{e:.3f}" for k, (e, n) in enumerate(pts)]
    e, n = pts[0]
    return out + [f"J{first_pid},{ring_no},{n:.3f},{e:.3f}"]


def test_rings_assigned_by_containment_to_holes_and_parts(tmp_path):
    e0, n0 = 39_419_000.0, 4_862_000.0

    def square(x0, y0, size):
        return [(e0 + x0, n0 + y0 + size), (e0 + x0 + size, n0 + y0 + size), (e0 + x0 + size, n0 + y0), (e0 + x0, n0 + y0)]

    rings = [
        square(0, 0, 100),  # 1: outer A
        square(200, 0, 100),  # 2: outside A → second part B
        square(220, 20, 60),  # 3: inside B → hole of B
        square(240, 40, 20),  # 4: inside the hole → island, third part
        square(10, 10, 10),  # 5: inside A → hole of A
    ]
    lines, pid = [], 1
    for k, r in enumerate(rings, start=1):
        lines += _ring_lines(k, pid, r)
        pid += len(r)
    text = edit(keep=7, extra=[f"{len(lines)},1.5100,M1,多部件地块,面,,,,@", *lines])
    path = tmp_path / "multi.txt"
    path.write_text(text, encoding="utf-8")
    gdf = read_guotu(path)
    geom = gdf.geometry.iat[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 3
    assert geom.is_valid
    assert sorted(len(p.interiors) for p in geom.geoms) == [0, 1, 1]
    assert geom.area == pytest.approx(100 * 100 - 100 + 100 * 100 - 60 * 60 + 20 * 20)


def test_line_parts_make_multilinestring(tmp_path):
    lines = ["J1,1,4862950.000,39419700.000", "J2,1,4862950.000,39419790.000",
             "J3,2,4862850.000,39419700.000", "J4,2,4862850.000,39419790.000", "J5,2,4862800.000,39419790.000"]
    path = tmp_path / "line.txt"
    path.write_text(edit(keep=7, extra=["5,,L1,管线,线,,,,@", *lines]), encoding="utf-8")
    gdf = read_guotu(path)
    geom = gdf.geometry.iat[0]
    assert geom.geom_type == "MultiLineString" and len(geom.geoms) == 2
    assert np.isnan(gdf.declared_area_ha.iat[0])


# -- writer ---------------------------------------------------------------------------


def _layer_lonlat() -> gpd.GeoDataFrame:
    """Polygons with holes, a multipolygon, lines and points near Xilinhot, in EPSG:4490."""
    e0, n0 = 39_419_600.0, 4_863_150.0

    def sq(x0, y0, size):
        return [(e0 + x0, n0 + y0), (e0 + x0 + size, n0 + y0), (e0 + x0 + size, n0 + y0 + size), (e0 + x0, n0 + y0 + size)]

    geoms = [
        Polygon(sq(0, 0, 300), [sq(50, 50, 40), sq(150, 150, 60)]),
        MultiPolygon([Polygon(sq(400, 0, 120)), Polygon(sq(600, 0, 200), [sq(650, 50, 100)]), Polygon(sq(675, 75, 50))]),
        LineString([(e0, n0 - 100), (e0 + 250.5, n0 - 130.25), (e0 + 500, n0 - 90)]),
        MultiLineString([[(e0, n0 - 300), (e0 + 100, n0 - 310)], [(e0 + 200, n0 - 300), (e0 + 260, n0 - 280), (e0 + 300, n0 - 330)]]),
        Point(e0 + 20.1234, n0 - 20.5678),
        MultiPoint([(e0 + 40, n0 - 40), (e0 + 60, n0 - 45)]),
    ]
    gdf = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "name": ["一区", "二区", "便道", "管线", "控制点", "井位"],
            "land_use": ["光伏发电", "光伏发电", "", "", "", ""],
            "land_class": ["0601", "0601", "1006", "", "", ""],
            "sheet": ["K50G032051"] * 6,
        },
        geometry=geoms,
        crs=4527,
    )
    return gdf.to_crs(4490)


@pytest.mark.parametrize(
    "width, prefix, encoding",
    [(3, True, "gbk"), (3, False, "utf-8-sig"), (6, True, "utf-8"), (6, False, "gb18030")],
)
def test_round_trip_from_lonlat(tmp_path, width, prefix, encoding):
    src = _layer_lonlat()
    path = tmp_path / "out.txt"
    notes = Notes()
    assert write_guotu(src, path, width=width, prefix=prefix, encoding=encoding, notes=notes) == path
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")
    assert b"\r\n" in raw and raw.endswith(b"\r\n")
    zone = 39 if width == 3 else 20
    assert f"zone {zone}" in notes.by_code("crs")[0].message
    back_notes = Notes()
    back = read_guotu(path, notes=back_notes)
    epsg = gk_epsg(zone, width, prefix)
    assert back.crs.to_epsg() == epsg
    expected = src.to_crs(epsg)
    assert list(back.geom_type) == list(expected.geom_type)
    dist = shapely.hausdorff_distance(back.geometry.values, expected.geometry.values)
    assert np.all(dist < 1e-3), dist
    np.testing.assert_array_equal(shapely.get_num_coordinates(back.geometry.values),
                                  shapely.get_num_coordinates(expected.geometry.values))
    np.testing.assert_allclose(back.area, expected.area, rtol=1e-7)
    for col in ("site_id", "name", "land_use", "land_class", "sheet"):
        assert list(back[col]) == list(src[col])
    assert list(back.record_type) == ["面", "面", "线", "线", "点", "点"]
    assert back_notes.by_code("area") == []  # the writer's areas agree with the reader's check
    if encoding == "gbk":
        raw.decode("gbk")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


def test_writer_layout_follows_the_usual_style(tmp_path):
    gdf = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[Polygon(
        [(39_419_700, 4_863_000), (39_419_700, 4_863_100), (39_419_800, 4_863_100), (39_419_800, 4_863_000)],
        [[(39_419_720, 4_863_020), (39_419_740, 4_863_020), (39_419_740, 4_863_040), (39_419_720, 4_863_040)]],
    )], crs=4527)
    path = write_guotu(gdf, tmp_path / "a.txt", header={"数据产生单位": "某某市自然资源局"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[属性描述]" and "[地块坐标]" in lines
    assert "数据产生单位=某某市自然资源局" in lines and "带号=39" in lines and "坐标系=2000国家大地坐标系" in lines
    body = lines[lines.index("[地块坐标]") + 1:]
    assert body[0] == "10,0.9600,A,,面,,,,@"
    # outer ring clockwise from the north-west corner, closed by repeating J1; the hole continues the numbering
    assert body[1] == "J1,1,4863100.0000,39419700.0000"
    assert body[2] == "J2,1,4863100.0000,39419800.0000"
    assert body[5] == body[1]
    assert body[6].startswith("J5,2,4863040.0000,39419720.0000")
    assert body[10].startswith("J5,2,")


def test_writer_refuses_bad_input(tmp_path):
    square = Polygon([(0, 0), (0.001, 0), (0.001, 0.001)])
    with pytest.raises(CRSError, match="no CRS"):
        write_guotu(gpd.GeoDataFrame(geometry=[square]), tmp_path / "a.txt")
    with pytest.raises(EmptyLayerError):
        write_guotu(gpd.GeoDataFrame(geometry=[], crs=4490), tmp_path / "a.txt")
    gc = shapely.GeometryCollection([Point(116, 43.9), LineString([(116, 43.9), (116.01, 43.9)])])
    with pytest.raises(GeometryError, match="feature 1"):
        write_guotu(gpd.GeoDataFrame(geometry=[gc], crs=4490), tmp_path / "a.txt")
    far = gpd.GeoDataFrame(geometry=[Point(110.0, 40.0), Point(125.0, 45.0)], crs=4490)
    with pytest.raises(CRSError, match="reaches beyond"):
        write_guotu(far, tmp_path / "a.txt")
    ok = gpd.GeoDataFrame({"name": ["😀"]}, geometry=[Point(116.0, 43.9)], crs=4490)
    with pytest.raises(InputError, match="contradicts"):
        write_guotu(ok, tmp_path / "a.txt", header={"带号": "40"})
    with pytest.raises(EncodingError, match="line 13"):
        write_guotu(ok, tmp_path / "a.txt", encoding="gbk")
    assert not (tmp_path / "a.txt").exists()  # nothing half-written


def test_failed_write_leaves_existing_file_alone(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("old", encoding="utf-8")
    bad = gpd.GeoDataFrame({"name": ["😀"]}, geometry=[Point(116.0, 43.9)], crs=4490)
    with pytest.raises(EncodingError):
        write_guotu(bad, path, encoding="gbk")
    assert path.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [path]


def test_writer_replaces_commas_in_text_with_note(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["甲,乙"]}, geometry=[Point(116.0, 43.9)], crs=4490)
    notes = Notes()
    path = write_guotu(gdf, tmp_path / "c.txt", notes=notes)
    assert read_guotu(path).name.iat[0] == "甲、乙"
    assert any("commas" in n.message for n in notes.by_code("value"))


# -- property: random polygons survive write → read to the millimetre --------------------


@st.composite
def polygons_in_zone(draw):
    width = draw(st.sampled_from([3, 6]))
    zone = draw(st.integers(25, 45) if width == 3 else st.integers(13, 23))
    prefix = draw(st.booleans())
    n = draw(st.integers(3, 12))
    radius = draw(st.floats(5.0, 3000.0))
    de = draw(st.floats(-100_000.0, 100_000.0))
    north = draw(st.floats(2_500_000.0, 5_900_000.0))
    jitter = draw(st.lists(st.floats(0.0, 0.8), min_size=n, max_size=n))
    radii = draw(st.lists(st.floats(0.5, 1.0), min_size=n, max_size=n))
    hole = draw(st.booleans())
    angles = (np.arange(n) + np.asarray(jitter)) * 2 * np.pi / n
    cx, cy = 500_000.0 + de, north
    shell = np.column_stack([cx + radius * np.asarray(radii) * np.cos(angles),
                             cy + radius * np.asarray(radii) * np.sin(angles)])
    holes = []
    h = 0.1 * radius
    square = [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if hole and Polygon(shell).buffer(-h).contains(Polygon(square)):
        holes = [square]
    poly = Polygon(shell, holes)
    assert poly.is_valid
    return width, zone, prefix, poly


@hsettings(max_examples=40, deadline=None, derandomize=True)
@given(case=polygons_in_zone(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_property_random_polygons_round_trip(tmp_path_factory, case, encoding):
    width, zone, prefix, poly = case
    src_epsg = gk_epsg(zone, width, prefix=False)  # built without prefix; written with or without
    gdf = gpd.GeoDataFrame({"site_id": ["R1"], "name": ["随机"]}, geometry=[poly], crs=src_epsg)
    path = tmp_path_factory.mktemp("prop") / "r.txt"
    write_guotu(gdf, path, zone=zone, width=width, prefix=prefix, encoding=encoding)
    back = read_guotu(path)
    epsg = gk_epsg(zone, width, prefix)
    assert back.crs.to_epsg() == epsg
    expected = gdf.to_crs(epsg).geometry.iat[0]
    got = back.geometry.iat[0]
    assert got.geom_type == "Polygon" and len(got.interiors) == len(poly.interiors)
    assert shapely.hausdorff_distance(got, expected) < 1e-3
    assert got.area == pytest.approx(expected.area, abs=expected.length * 1e-4)  # 0.1 mm rounding
