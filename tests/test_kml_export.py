"""write_kml builds its placemarks per column: the same KML text as a placemark() call per feature."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ecogis.export import kml, kmlvec
from ecogis.read.kml import read_kml, read_kmz

HOSTILE = ["'); DROP TABLE x; --", "<script>alert(1)</script>", "a\tb\nc\rd\\e & f > g", "名称 🌿 ünïcode",
           "x" * 100_000, "", " ", '"quoted" \'single\'', "]]><!--", "&amp; already"]


def _per_feature(gdf: gpd.GeoDataFrame, *, name_field: str = "name", precision: int = 8) -> str:
    """The document write_kml wrote before: placemark() for each itertuples row (the reference)."""
    data = gdf.to_crs(4490) if gdf.crs is not None and gdf.crs.to_epsg() != 4490 else gdf
    cols = [c for c in data.columns if c != data.geometry.name]
    marks = []
    for row, geom in zip(data[cols].itertuples(index=False, name=None), data.geometry.values):
        attrs = dict(zip(cols, row))
        marks.append(kml.placemark(attrs.get(name_field, ""), geom, data=attrs, precision=precision))
    return kml.document("", marks)


def _geometries(n: int) -> list:
    rng = np.random.default_rng(5)
    x = 100 + rng.random(n) * 20
    y = 20 + rng.random(n) * 20
    ring = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (3, 2), (3, 3)], [(5, 5), (6, 5), (6, 6)]])
    kinds = [
        lambda i: shapely.Point(x[i], y[i]),
        lambda i: shapely.Point(x[i], y[i], 5.0),  # Z is dropped
        lambda i: shapely.LineString([(x[i], y[i]), (x[i] + 0.001, y[i] - 0.002), (x[i] + 1 / 512, y[i])]),
        lambda i: shapely.LinearRing([(x[i], y[i]), (x[i] + 0.01, y[i]), (x[i], y[i] + 0.01)]),
        lambda i: shapely.affinity.translate(ring, x[i], y[i]),
        lambda i: shapely.box(x[i], y[i], x[i] + 0.01, y[i] + 0.01),
        lambda i: shapely.MultiPoint([(x[i], y[i]), (x[i] - 0.5, -0.0)]),
        lambda i: shapely.MultiLineString([[(x[i], y[i]), (0, 0)], [(1, 1), (2, 2)]]),
        lambda i: shapely.MultiPolygon([shapely.box(x[i], y[i], x[i] + 1, y[i] + 1), ring]),
        lambda i: shapely.GeometryCollection([shapely.Point(x[i], y[i]), shapely.Polygon(),
                                              shapely.MultiPolygon([ring]),
                                              shapely.GeometryCollection([shapely.LineString([(0, 0), (x[i], 1)])])]),
        lambda i: None,
        lambda i: shapely.Point(),
        lambda i: shapely.Polygon(),
        lambda i: shapely.GeometryCollection(),
        lambda i: shapely.Point(-x[i], -1e-12),  # rounds to -0.00000000
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def _frame(n: int = 300) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    mixed = [1, "2", 3.5, None, np.nan, True, np.float32(0.1), np.float32("nan"), dt.date(2024, 1, 2),
             decimal.Decimal("1.10"), pd.NaT, pd.NA, 1e16, -0.0, float("inf"), 10**30, b"<b>", "3.0"]
    return gpd.GeoDataFrame({
        "name": ((HOSTILE + [None, np.nan]) * n)[:n],
        "code": (mixed * n)[:n],  # numbers, flags, dates and missing values in a text column
        "grade": rng.integers(-5, 5, n),
        "grade_na": pd.array([*range(n - 1), None], dtype="Int64"),
        "share": np.r_[rng.standard_normal(n - 3) * 10.0 ** rng.integers(-30, 30, n - 3), np.nan, np.inf, -0.0],
        "f32": np.float32(np.r_[np.linspace(0, 1, n - 1), np.nan]),
        "flag": np.arange(n) % 2 == 0,
        "flag_na": pd.array(([True, None, False] * n)[:n], dtype="boolean"),
        "since": pd.to_datetime((["2024-01-01 00:00:00.123456789", None, "1960-05-06 12:30"] * n)[:n],
                                format="ISO8601"),
        "at": pd.to_datetime((["2024-01-01 08:00", None] * n)[:n]).tz_localize("Asia/Shanghai"),
        "zone": pd.Categorical((["核心区", None, "<缓冲区>"] * n)[:n]),
        "text": pd.array((HOSTILE[:4] + [None]) * (n // 5 + 1), dtype="str")[:n],
        7: np.arange(n) * 0.5,  # a column named by a number
    }, geometry=_geometries(n), crs=4490)


def test_write_kml_is_the_per_feature_text(tmp_path):
    gdf = _frame()
    out = kml.write_kml(gdf, tmp_path / "a.kml")
    assert out.read_bytes().decode("utf-8") == _per_feature(gdf)


@pytest.mark.parametrize("precision", [0, 3, 7, 8, 12])
def test_precisions_and_name_fields(tmp_path, precision):
    gdf = _frame(60)
    for field in ("name", "code", "missing", 7):
        got = kml.write_kml(gdf, tmp_path / "b.kml", name_field=field, precision=precision).read_bytes().decode("utf-8")
        assert got == _per_feature(gdf, name_field=field, precision=precision)


def test_other_crs_duplicate_columns_no_columns_and_no_features(tmp_path):
    gdf = _frame(45).to_crs(4549)
    assert kml.write_kml(gdf, tmp_path / "c.kml").read_bytes().decode("utf-8") == _per_feature(gdf)
    dup = _frame(30)
    dup = gpd.GeoDataFrame(pd.concat([dup[["name", "code"]], dup[["code"]], dup.geometry], axis=1), crs=4490)
    assert kml.write_kml(dup, tmp_path / "d.kml").read_bytes().decode("utf-8") == _per_feature(dup)
    bare = gpd.GeoDataFrame(geometry=_geometries(30), crs=4490)
    assert kml.write_kml(bare, tmp_path / "e.kml").read_bytes().decode("utf-8") == _per_feature(bare)
    none = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[None, shapely.Point()], crs=4490)
    assert kml.write_kml(none, tmp_path / "f.kml").read_bytes().decode("utf-8") == _per_feature(none)
    empty = _frame(30).iloc[:0]
    assert kml.write_kml(empty, tmp_path / "g.kml").read_bytes().decode("utf-8") == _per_feature(empty)


def test_fixed_text_is_pythons_format():
    rng = np.random.default_rng(9)
    x = np.r_[rng.standard_normal(50_000) * 180, rng.integers(0, 2**20, 5000) / 512, 116.001953125, 0.5, 1.5,
              2.5, -0.0, -1e-12, np.nan, -np.nan, np.inf, -np.inf, 179.999999995, 5e-9, 1.5e-8, 1e300]
    for p in (0, 1, 7, 8, 15, 17):
        assert kmlvec.fixed_text(x, p).to_pylist() == [f"{v:.{p}f}" for v in x], p


def test_the_written_kml_reads_back(tmp_path):
    gdf = _frame(120)
    g = gdf.geometry.to_numpy()
    gdf = gdf[(shapely.get_type_id(g) == 3) & ~shapely.is_empty(g)]  # polygons, some with holes
    back = read_kml(kml.write_kml(gdf, tmp_path / "h.kml"))
    assert len(back) == len(gdf)
    assert shapely.equals_exact(back.geometry.to_numpy(), gdf.geometry.to_numpy(), tolerance=1e-8).all()
    # an XML parser reads a carriage return as a newline (XML end-of-line handling)
    want = [v.replace("\r", "\n") for v in gdf["name"].where(gdf["name"].notna(), "").astype(str)]
    assert back["name"].fillna("").tolist() == want
    kmz = read_kmz(kml.write_kml(gdf, tmp_path / "h.kmz"))
    assert len(kmz) == len(gdf)


def test_many_features_in_one_pass(tmp_path):
    n = 20_000
    xs = 100 + np.arange(n) * 1e-3
    gdf = gpd.GeoDataFrame({"name": [f"地块<{i}>" for i in range(n)], "v": np.arange(n) / 3},
                           geometry=shapely.box(xs, 30, xs + 5e-4, 30.0005), crs=4490)
    text = kml.write_kml(gdf, tmp_path / "many.kml").read_bytes().decode("utf-8")
    assert text == _per_feature(gdf)
    assert text.count("<Placemark>") == n
    assert Path(tmp_path / "many.kml").stat().st_size > 0
