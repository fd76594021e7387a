"""Layer schemas, field aliases, value checks and geometry repairs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

from ecogis.errors import EmptyLayerError, GeometryError, SchemaError
from ecogis.normalise import normalise
from ecogis.normalise.schema import apply_schema, get_schema, kinds
from ecogis.notes import Notes
from ecogis.settings import settings

EXPECTED_KINDS = {"admin", "redline", "protected_area", "water_source", "control_unit", "farmland",
                  "urban_boundary", "grassland", "wetland", "mine", "road", "railway", "river", "project"}


def test_every_kind_has_a_schema_file():
    assert EXPECTED_KINDS <= set(kinds())
    for k in kinds():
        doc = yaml.safe_load((settings.schema_dir / f"{k}.yaml").read_text(encoding="utf-8"))
        assert doc["kind"] == k
        assert "name" in doc["fields"] and doc["fields"]["name"].get("required")


def test_unknown_kind_suggests():
    with pytest.raises(SchemaError, match="did you mean redline"):
        get_schema("redlines")


def _frame(**cols):
    n = len(next(iter(cols.values())))
    return gpd.GeoDataFrame({"fid": np.arange(1, n + 1), **cols},
                            geometry=[shapely.box(116 + i * 0.1, 43.9, 116.05 + i * 0.1, 43.95) for i in range(n)],
                            crs=4490)


def test_chinese_and_pinyin_aliases_are_mapped_and_reported():
    notes = Notes()
    out = apply_schema(_frame(单元名称=["甲", "乙"], DYBM=["ZH15250210001", "ZH15250220001"], 管控类别=["优先保护单元", "重点管控"]),
                       "control_unit", notes=notes)
    assert out["class"].tolist() == ["优先保护", "重点管控"]
    assert out["code"].tolist() == ["ZH15250210001", "ZH15250220001"]
    msg = " ".join(n.message for n in notes)
    assert "单元名称 → name" in msg and "DYBM → code" in msg and "管控类别 → class" in msg
    assert "优先保护单元 → 优先保护" in msg


def test_disallowed_value_names_feature_and_allowed_values():
    with pytest.raises(SchemaError) as e:
        apply_schema(_frame(名称=["a", "b"], 级别=["一级", "三级"]), "water_source", path="ws.shp")
    text = str(e.value)
    assert "features 2" in text and "三级" in text and "一级保护区" in text


def test_missing_required_field_lists_what_is_there():
    with pytest.raises(SchemaError, match="required field 'zone'") as e:
        apply_schema(_frame(NAME=["a"], FOO=[1]), "protected_area", path="pa.shp")
    assert "FOO" in str(e.value)


def test_required_field_empty():
    with pytest.raises(SchemaError, match="is empty"):
        apply_schema(_frame(name=["a", None], zone=["核心区", "缓冲区"]), "protected_area")


def test_pattern_and_booleans():
    out = apply_schema(_frame(name=["p"], industry=["b0610"], nature=["新建"], linear=["是"], national_major=["否"]),
                       "project")
    assert out["industry"].iloc[0] == "B0610"
    assert out["linear"].iloc[0] is np.True_ or out["linear"].iloc[0] == True  # noqa: E712
    with pytest.raises(SchemaError, match="malformed"):
        apply_schema(_frame(name=["p"], industry=["coal"]), "project")
    with pytest.raises(SchemaError, match="yes/no"):
        apply_schema(_frame(name=["p"], linear=["maybe"]), "project")


def test_geometry_type_checked():
    g = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(116, 44)], crs=4490)
    with pytest.raises(SchemaError, match="needs polygon"):
        apply_schema(g, "redline")


def test_bowtie_repaired_and_reported():
    bow = shapely.Polygon([(116, 44), (116.1, 44.1), (116.1, 44), (116, 44.1), (116, 44)])
    g = gpd.GeoDataFrame({"fid": [7, 8], "name": ["a", "b"]}, geometry=[bow, shapely.box(116, 44, 116.1, 44.1)], crs=4490)
    notes = Notes()
    out = normalise(g, "redline", notes=notes)
    assert shapely.is_valid(out.geometry.values).all()
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"
    rep = notes.by_code("repair")
    assert rep and rep[0].ids == (7,)


def test_z_dropped_with_note_and_nan_refused():
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon([(116, 44, 5), (116.1, 44, 5), (116.1, 44.1, 5)])], crs=4490)
    notes = Notes()
    out = normalise(g, "redline", notes=notes)
    assert not shapely.has_z(out.geometry.values).any()
    assert notes.by_code("drop_z")
    bad = gpd.GeoDataFrame({"fid": [3], "name": ["a"]}, geometry=[shapely.Polygon([(116, 44), (np.nan, 44), (116.1, 44.1)])], crs=4490)
    with pytest.raises(GeometryError, match="features 3"):
        normalise(bad, "redline")


def test_empty_geometries_dropped_with_ids_and_all_empty_is_error():
    g = gpd.GeoDataFrame({"fid": [1, 2], "name": ["a", "b"]}, geometry=[shapely.box(116, 44, 116.1, 44.1), None], crs=4490)
    notes = Notes()
    out = normalise(g, "redline", notes=notes)
    assert len(out) == 1 and notes.by_code("drop_empty")[0].ids == (2,)
    with pytest.raises(EmptyLayerError):
        normalise(g.iloc[1:], "redline")


def test_wgs84_taken_as_cgcs2000_with_note():
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(116, 44, 116.1, 44.1)], crs=4326)
    notes = Notes()
    out = normalise(g, "redline", notes=notes)
    assert out.crs.to_epsg() == 4490
    assert out.geometry.iloc[0].equals(g.geometry.iloc[0])
    assert notes.by_code("crs")


def test_xian80_refused():
    g = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(116, 44, 116.1, 44.1)], crs=4610)
    from ecogis.errors import CRSError

    with pytest.raises(CRSError, match="Xi'an 1980"):
        normalise(g, "redline")
