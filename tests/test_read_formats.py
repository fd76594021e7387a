"""Each reader against a real sample file (tests/data/formats, built by scripts/build_test_fixtures.py)."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pytest
import shapely

from ecogis.errors import CRSError, EmptyLayerError, FormatError
from ecogis.layers import load_layer
from ecogis.notes import Notes
from ecogis.read import detect_format, read_file


def _codes(notes: Notes) -> set[str]:
    return {n.code for n in notes}


def test_shapefile_gbk_without_cpg_is_detected(formats_dir):
    notes = Notes()
    gdf = read_file(formats_dir / "shp_gbk" / "保护区.shp", notes=notes)
    assert list(gdf["MC"]) == ["锡林郭勒草原自然保护区", "白银库伦遗鸥保护区"]
    assert gdf.crs.to_epsg() == 4527
    assert any("GB18030" in n.message for n in notes.by_code("encoding"))


def test_shapefile_wrong_cpg_is_overridden_and_reported(formats_dir, tmp_path):
    for p in (formats_dir / "shp_gbk").iterdir():
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "保护区.cpg").write_text("UTF-8")
    notes = Notes()
    gdf = read_file(tmp_path / "保护区.shp", notes=notes)
    assert gdf["MC"].iloc[0] == "锡林郭勒草原自然保护区"
    assert any(".cpg says UTF-8" in n.message for n in notes)


def test_shapefile_missing_dbf(formats_dir, tmp_path):
    for p in (formats_dir / "shp_gbk").iterdir():
        if p.suffix != ".dbf":
            shutil.copy(p, tmp_path / p.name)
    with pytest.raises(FormatError, match=r"\.dbf file is missing"):
        read_file(tmp_path / "保护区.shp")


def test_shapefile_without_prj_needs_crs(formats_dir, tmp_path):
    for p in (formats_dir / "shp_gbk").iterdir():
        if p.suffix != ".prj":
            shutil.copy(p, tmp_path / p.name)
    with pytest.raises(CRSError, match="no coordinate reference system"):
        read_file(tmp_path / "保护区.shp")
    gdf = read_file(tmp_path / "保护区.shp", crs="EPSG:4527")
    assert gdf.crs.to_epsg() == 4527


def test_zipped_shapefile(formats_dir):
    gdf = read_file(formats_dir / "pa_shp.zip")
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 4490
    assert gdf["GNFQ"].tolist() == ["核心区", "缓冲区"]


def test_gpkg_needs_layer_when_several(formats_dir):
    with pytest.raises(FormatError, match="has 2 layers"):
        read_file(formats_dir / "multi.gpkg")
    gdf = read_file(formats_dir / "multi.gpkg", layer="river")
    assert gdf["name"].tolist() == ["锡林河"]
    pref = read_file(formats_dir / "multi.gpkg", prefer_layer="protected_area")
    assert len(pref) == 2


def test_geojson_is_wgs84_by_rfc7946(formats_dir):
    notes = Notes()
    gdf = read_file(formats_dir / "pa.geojson", notes=notes)
    assert gdf.crs.to_epsg() == 4326
    assert "crs" in _codes(notes)
    # the hole survived
    assert len(gdf.geometry.iloc[0].interiors) == 1


@pytest.mark.parametrize("name", ["sites.kml", "sites.kmz"])
def test_kml_and_kmz(formats_dir, name):
    notes = Notes()
    gdf = read_file(formats_dir / name, notes=notes)
    assert gdf["name"].tolist() == ["项目A", "项目B"]
    assert gdf["industry"].tolist() == ["D4415", "B0610"]
    assert {"drop_empty", "drop_z", "crs"} <= _codes(notes)
    assert not shapely.has_z(gdf.geometry.values).any()


def test_csv_lonlat_gbk(formats_dir):
    notes = Notes()
    gdf = read_file(formats_dir / "points_gbk.csv", crs="EPSG:4490", notes=notes)
    assert gdf["名称"].tolist() == ["监测点1", "监测点2"]
    assert gdf.geometry.iloc[0].x == pytest.approx(116.05)
    assert "encoding" in _codes(notes)


def test_csv_needs_crs(formats_dir):
    with pytest.raises(CRSError, match="pass --crs"):
        read_file(formats_dir / "points_gbk.csv")


def test_csv_wkt(formats_dir):
    gdf = read_file(formats_dir / "sites_wkt.csv", crs=4490)
    assert gdf.geometry.iloc[0].geom_type == "Polygon"
    assert gdf["industry"].tolist() == ["D4415", "B1019"]


def test_csv_broken_wkt_names_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text('name,wkt\na,"POLYGON ((1 2, 3 4"\n', encoding="utf-8")
    with pytest.raises(FormatError, match="line 2"):
        read_file(p, crs=4490)


def test_csv_swapped_lonlat_is_refused(tmp_path):
    p = tmp_path / "swapped.csv"
    p.write_text("name,lon,lat\na,43.9,116.0\n", encoding="utf-8")
    with pytest.raises(CRSError, match="wrong order"):
        read_file(p, crs=4490)


def test_unknown_extension_and_empty_file(tmp_path):
    p = tmp_path / "x.dwg"
    p.write_bytes(b"abc")
    with pytest.raises(FormatError, match="unknown file type"):
        detect_format(p)
    e = tmp_path / "empty.geojson"
    e.write_bytes(b"")
    with pytest.raises(Exception, match="empty"):
        read_file(e)


def test_empty_layer_is_an_error(tmp_path):
    p = tmp_path / "empty.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(EmptyLayerError):
        read_file(p)


def test_load_layer_maps_aliases_and_reprojects(formats_dir):
    notes = Notes()
    gdf = load_layer(formats_dir / "shp_gbk" / "保护区.shp", "protected_area", notes=notes)
    assert gdf.crs.to_epsg() == 4490
    assert {"name", "zone", "level"} <= set(gdf.columns)
    assert any("MC → name" in n.message for n in notes.by_code("alias"))
    # GK zone 39 → lon/lat round trip to well below a metre
    src = gpd.read_file(formats_dir / "pa.geojson")
    assert gdf.geometry.iloc[1].bounds == pytest.approx(src.geometry.iloc[1].bounds, abs=1e-7)


def test_zip_path_traversal_refused(tmp_path):
    import zipfile

    p = tmp_path / "evil.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    with pytest.raises(FormatError, match="climbs out"):
        read_file(p)


def test_kml_external_entity_never_resolved(tmp_path):
    p = tmp_path / "xxe.kml"
    p.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
        "<Point><coordinates>116,43</coordinates></Point></Placemark></kml>",
        encoding="utf-8",
    )
    with pytest.raises(FormatError, match="entities"):
        read_file(p)


# ---------------------------------------------------------------------------- issue 12: no silent drops
def _write_parcels(path, n=2):
    from corpus.build import _poly, write_shapefile

    write_shapefile(path, [(5, [_poly(0.01 * i)]) for i in range(n)], [{"name": f"P{i}".encode()} for i in range(n)])


def test_shapefile_record_counts_must_agree(tmp_path):
    shp = tmp_path / "parcels.shp"
    _write_parcels(shp, 3)
    short = tmp_path / "short.shp"
    _write_parcels(short, 2)
    shp.with_suffix(".dbf").write_bytes(short.with_suffix(".dbf").read_bytes())  # 3 shapes, 2 attribute rows
    with pytest.raises(FormatError) as e:
        read_file(shp)
    msg = str(e.value)
    assert "parcels.shp holds 3 shapes" in msg and "parcels.shx indexes 3" in msg and "parcels.dbf holds 2" in msg
    assert e.value.where == "record 3"


def test_multipatch_shapefile_is_refused_with_what_to_do(tmp_path):
    import struct

    shp = tmp_path / "b.shp"
    _write_parcels(shp)
    data = bytearray(shp.read_bytes())
    data[32:36] = struct.pack("<i", 31)
    shp.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="MultiPatch") as e:
        read_file(shp)
    assert "PolygonZ" in str(e.value) and "ogr2ogr" in str(e.value)


@pytest.mark.parametrize("body, kind, parts", [
    ("<MultiPolygon>{p}{p}</MultiPolygon>", "MultiPolygon", 2),
    ("<MultiLineString>{l}{l}</MultiLineString>", "MultiLineString", 2),
    ("<MultiPoint>{pt}{pt}{pt}</MultiPoint>", "MultiPoint", 3),
    ("<MultiGeometry><MultiGeometry>{p}</MultiGeometry><MultiGeometry><MultiGeometry>{p}</MultiGeometry>"
     "</MultiGeometry></MultiGeometry>", "MultiPolygon", 2),
    ("<gx:Track><gx:coord>116 43.9 10</gx:coord><gx:coord>116.01 43.91 10</gx:coord></gx:Track>", "LineString", 1),
])
def test_kml_multi_elements_are_read(tmp_path, body, kind, parts):
    ring = "116,43.9 116.001,43.9 116.001,43.899 116,43.899 116,43.9"
    p = f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
    doc = ('<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document>'
           "<Placemark><name>a</name>" + body.format(p=p, l="<LineString><coordinates>116,43.9 116.1,44</coordinates>"
                                                    "</LineString>", pt="<Point><coordinates>116,43.9</coordinates></Point>")
           + "</Placemark></Document></kml>")
    f = tmp_path / "m.kml"
    f.write_text(doc, encoding="utf-8")
    notes = Notes()
    gdf = read_file(f, notes=notes)
    assert len(gdf) == 1 and gdf.geom_type.iloc[0] == kind
    assert shapely.get_num_geometries(gdf.geometry.iloc[0]) == parts
    assert not notes.by_code("drop_empty")


def test_curved_wkt_is_linearised_to_the_stated_tolerance(tmp_path):
    import math

    from ecogis.read.vector import ARC_DEVIATION, ARC_STEP_DEG

    cx, cy = 500_000.0, 4_862_000.0  # a circle of radius 1000 m on the central meridian of GK CM 117°E
    f = tmp_path / "c.csv"
    pts = [(cx, cy - 1000), (cx + 1000, cy), (cx, cy + 1000), (cx - 1000, cy), (cx, cy - 1000)]
    f.write_text('name,wkt\na,"CURVEPOLYGON (CIRCULARSTRING (' + ", ".join(f"{x} {y}" for x, y in pts) + '))"\n')
    notes = Notes()
    gdf = read_file(f, crs="EPSG:4548", notes=notes)
    ring = gdf.geometry.iloc[0]
    assert gdf.geom_type.iloc[0] == "Polygon"
    assert shapely.get_num_coordinates(ring) >= 360 / ARC_STEP_DEG
    r = [math.hypot(x - cx, y - cy) for x, y in ring.exterior.coords]
    assert max(r) == pytest.approx(1000, abs=1e-6)  # vertices on the arc
    assert 1 - ring.area / (math.pi * 1000**2) < ARC_DEVIATION * 2  # chords within the stated deviation
    assert notes.by_code("linearise") and "1° of arc" in notes.by_code("linearise")[0].message


def test_3d_surfaces_in_wkt_are_refused_by_line(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text('name,wkt\na,"POINT (116 43.9)"\nb,"TRIANGLE ((0 0 0, 0 1 0, 1 1 0, 0 0 0))"\n')
    with pytest.raises(FormatError, match="TRIANGLE") as e:
        read_file(f, crs="EPSG:4490")
    assert e.value.where == "line 3"


def test_zero_area_polygon_is_refused_not_made_a_line(tmp_path):
    from ecogis.errors import GeometryError

    f = tmp_path / "flat.geojson"
    f.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":'
                 '{"type":"Polygon","coordinates":[[[116,43.9],[116.001,43.899],[116.002,43.898],[116,43.9]]]}}]}')
    with pytest.raises(GeometryError, match="zero area"):
        load_layer(f, "project")


def test_fields_named_fid_geometry_or_differing_in_case_are_kept(tmp_path):
    f = tmp_path / "p.geojson"
    f.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"fid":7,"geometry":"g",'
                 '"name":"a","NAME":"b","na\\"me\'x":"q"},"geometry":{"type":"Point","coordinates":[116,43.9]}}]}')
    notes = Notes()
    gdf = read_file(f, notes=notes)
    row = gdf.iloc[0]
    assert (row["fid_attr"], row["geometry_attr"], row["name"], row["NAME_2"], row["na\"me'x"]) == (7, "g", "a", "b", "q")


@pytest.mark.parametrize("name", ["GEOMETRY", "Geometry", "FID", "Fid"])
def test_fields_named_like_the_geometry_or_fid_in_another_case_are_renamed(tmp_path, name):
    """A field ``GEOMETRY`` beside the geometry once renamed the geometry itself (``geometry_2``), and the screen
    failed with an internal error: now the field is renamed, with a note, and the geometry keeps its name."""
    f = tmp_path / "p.geojson"
    f.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"%s":"g","name":"a"},'
                 '"geometry":{"type":"Point","coordinates":[116,43.9]}}]}' % name)
    notes = Notes()
    gdf = read_file(f, notes=notes)
    assert gdf.geometry.name == "geometry" and gdf.geometry.iloc[0].x == 116
    assert gdf.iloc[0][f"{name}_attr"] == "g"
    assert any(f"{name}_attr" in n.message for n in notes)


def test_data_outside_china_warns(tmp_path):
    f = tmp_path / "utah.geojson"
    f.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"w"},"geometry":'
                 '{"type":"Polygon","coordinates":[[[-110,40],[-109.9,40],[-109.9,40.1],[-110,40]]]}}]}')
    notes = Notes()
    load_layer(f, "redline", notes=notes)
    (warn,) = notes.by_code("extent")
    assert "outside China" in warn.message and "109.9" in warn.message.replace("109.97", "109.9")


def test_site_repairs_reach_the_sites_table(tmp_path):
    from ecogis.screening.sites import load_sites

    f = tmp_path / "bow.geojson"
    f.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"b"},"geometry":'
                 '{"type":"Polygon","coordinates":[[[116,43.9],[116.001,43.899],[116,43.899],[116.001,43.9],'
                 '[116,43.9]]]}},{"type":"Feature","properties":{"name":"ok"},"geometry":{"type":"Point",'
                 '"coordinates":[116.01,43.9]}}]}')
    sites = load_sites([f])
    assert "make_valid" in sites["repairs"].iloc[0] and sites["repairs"].iloc[1] == ""


def test_a_geopackage_holding_curves_it_does_not_declare_is_read_and_the_linearisation_reported(tmp_path):
    """pyogrio's own test file curvepolygon.gpkg with gpkg_geometry_columns edited to say POLYGON: GeoPackage
    layers that declare no curves are read through GDAL's Arrow stream, which refuses curves; the reader falls
    back to the row path, where GDAL linearises them, and says so."""
    import sqlite3
    import warnings
    from pathlib import Path

    src = Path(__file__).parent / "data" / "third_party" / "pyogrio" / "curvepolygon.gpkg"
    path = tmp_path / "declares_polygon.gpkg"
    shutil.copy(src, path)
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = 'POLYGON'")
    con.close()
    notes = Notes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL: the declared type disagrees with the data
        gdf = read_file(path, notes=notes)
    assert gdf.geom_type.tolist() == ["Polygon"] and gdf.geometry.iloc[0].area > 0
    assert notes.by_code("linearise")
