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
